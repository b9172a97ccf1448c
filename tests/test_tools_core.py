"""Tools core against the fake server over real sockets: structured output with retries, the
image flow, distances, the saved history, the tool registry and the tool-calling loop."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from pislm_tui.backend import (
    ModelNotFound,
    ServerError,
    ServerUnreachable,
    UsageError,
    make_backend,
)
from pislm_tui.chat.images import load_image
from pislm_tui.config import Location, ToolsSettings, load_settings
from pislm_tui.tools.builtin import ToolContext, default_registry
from pislm_tui.tools.geo import CityCoord, CityCountryCoord, distance, distance_sentence
from pislm_tui.tools.history import append_history, load_history, save_history
from pislm_tui.tools.loop import LoopDone, RoundStarted, TextDelta, ToolRan, run_tool_loop
from pislm_tui.tools.structured import ExtractionFailed, extract
from pislm_tui.tools.where import (
    WhereResult,
    describe_image,
    pick_model,
    where_country,
    where_image,
)
from tests.fake_ollama import IMAGE_DESCRIPTION, FakeOllama, Reply

PARIS = (48.8566, 2.3522)


def write_png(path: Path) -> Path:
    """A real 1x1 PNG (the fake "sees" Machu Picchu in any image)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = make_backend(load_settings(overrides={"host": fake_ollama.url}).settings)
    yield b
    await b.aclose()


def v1_requests(server: FakeOllama) -> list[dict]:
    return [r.json for r in server.requests_to("/v1/chat/completions")]


# -- geo ---------------------------------------------------------------------------------------


def test_city_coord_checks_ranges() -> None:
    assert CityCoord(city=" Paris ", lat=48.85, lon=2.35).city == "Paris"
    for lat, lon in ((90.1, 0), (-91, 0), (0, 180.5), (0, -181)):
        with pytest.raises(ValidationError):
            CityCoord(city="X", lat=lat, lon=lon)
    with pytest.raises(ValidationError):
        CityCoord(city="", lat=0, lon=0)
    with pytest.raises(ValidationError):
        CityCountryCoord(city="Cusco", lat=-13.5, lon=-72.0)  # the country is required


def test_lab_sentences_and_rounding() -> None:
    santiago = (-33.33, -70.51)
    assert distance(santiago, PARIS) == pytest.approx(11629.17, abs=0.1)
    assert distance_sentence("Santiago de Chile", "Paris", distance(santiago, PARIS)) == (
        "Santiago de Chile is about 11,630 kilometers away from Paris."
    )
    dc = distance(santiago, (38.9072, -77.0369))
    assert distance_sentence("Santiago de Chile", "Washington, D.C.", dc) == (
        "Santiago de Chile is about 8,060 kilometers away from Washington, D.C."
    )
    miles = distance(santiago, PARIS, "mi")
    assert (
        distance_sentence("Home", "Paris", miles, "mi")
        == "Home is about 7,230 miles away from Paris."
    )


# -- where: a country ----------------------------------------------------------------------------


async def test_france_gives_paris_and_11630_km(backend, fake_ollama: FakeOllama) -> None:
    result = await where_country(backend, ToolsSettings(), "France", model="llama3.2:1b")
    assert (result.city, result.lat, result.lon) == ("Paris", *PARIS)
    assert result.sentence == "Santiago de Chile is about 11,630 kilometers away from Paris."
    assert result.distance_label == "11,630 km"
    assert result.retries == 0 and result.elapsed_s >= 0
    [request] = v1_requests(fake_ollama)
    assert request["model"] == "llama3.2:1b"
    assert request["response_format"] == {"type": "json_object"}  # the lab's JSON mode
    assert "France" in request["messages"][-1]["content"]
    data = result.to_json()
    assert data["city"] == "Paris" and data["from"]["name"] == "Santiago de Chile"
    assert round(data["distance_km"], -1) == 11630 and "country" not in data


async def test_json_schema_mode_sends_the_schema(backend, fake_ollama: FakeOllama) -> None:
    settings = ToolsSettings(mode="json_schema", units="mi")
    result = await where_country(backend, settings, "Japan", model="llama3.2:1b")
    assert result.city == "Tokyo"
    assert result.sentence.endswith("miles away from Tokyo.")
    [request] = v1_requests(fake_ollama)
    schema = request["response_format"]["json_schema"]["schema"]
    assert set(schema["required"]) == {"city", "lat", "lon"}
    assert schema["properties"]["lat"]["maximum"] == 90


async def test_invalid_answers_are_retried_and_counted(backend, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(
        Reply(text="not json"),
        Reply(text='{"city": "Paris", "lat": 148.8, "lon": 2.35}'),  # out of range
        Reply(text="Sure! The capital is Paris."),
    )
    result = await where_country(backend, ToolsSettings(), "France", model="llama3.2:1b")
    assert result.city == "Paris" and result.retries == 3
    requests = v1_requests(fake_ollama)
    assert len(requests) == 4
    # Each retry tells the model what was wrong with its answer.
    assert "less than or equal to 90" in requests[2]["messages"][-1]["content"]


async def test_failure_after_max_retries_is_a_clear_error(backend, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(*[Reply(text="I do not know") for _ in range(3)])
    with pytest.raises(ExtractionFailed) as caught:
        await where_country(backend, ToolsSettings(max_retries=2), "France", model="llama3.2:1b")
    error = caught.value
    assert error.attempts == 3 and error.exit_code == 5
    assert str(error).startswith("llama3.2:1b gave no valid answer in 3 attempts")
    assert "not valid JSON" in str(error) and "max_retries" in str(error)
    assert len(v1_requests(fake_ollama)) == 3


async def test_zero_retries_means_one_attempt(backend, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(text='{"city": "Paris"}'))
    with pytest.raises(ExtractionFailed) as caught:
        await extract(
            backend,
            "llama3.2:1b",
            CityCoord,
            [{"role": "user", "content": "France"}],
            max_retries=0,
        )
    assert caught.value.attempts == 1
    assert "lat: Field required" in str(caught.value)


async def test_request_errors_are_not_retried(backend, fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFound):
        await where_country(backend, ToolsSettings(), "France", model="nosuch:1b")
    fake_ollama.script(Reply(status=500, error_message="out of memory"))
    with pytest.raises(ServerError, match="out of memory"):
        await where_country(backend, ToolsSettings(), "France", model="llama3.2:1b")
    assert len(v1_requests(fake_ollama)) == 2


async def test_server_down_is_unreachable(isolated_home) -> None:
    b = make_backend(load_settings(overrides={"host": "http://127.0.0.1:9"}).settings)
    try:
        with pytest.raises(ServerUnreachable):
            await where_country(b, ToolsSettings(), "France", model="llama3.2:1b")
    finally:
        await b.aclose()


async def test_bad_queries_and_model_choice(backend) -> None:
    with pytest.raises(UsageError):
        await where_country(backend, ToolsSettings(), "   ", model="llama3.2:1b")
    with pytest.raises(UsageError):
        await where_country(backend, ToolsSettings(), "x" * 101, model="llama3.2:1b")
    assert await pick_model(backend, "gemma2:2b") == "gemma2:2b"
    assert await pick_model(backend, None) == "llama3.2:1b"  # the first model that can chat


async def test_model_output_is_cleaned(backend, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(text='{"city": "Par\\u001b[31mis", "lat": 48.8566, "lon": 2.3522}'))
    result = await where_country(backend, ToolsSettings(), "France", model="llama3.2:1b")
    assert result.city == "Paris"


# -- where: an image -------------------------------------------------------------------------------


async def test_image_flow_runs_both_steps(backend, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    image = load_image(write_png(tmp_path / "machu.png"))
    fragments: list[str] = []
    steps: list[int] = []
    result = await where_image(
        backend,
        ToolsSettings(),
        image,
        model="llama3.2:1b",
        vision_model="llava-phi3:3.8b",
        on_text=fragments.append,
        on_step=steps.append,
    )
    # Step 1: streamed from the vision model, with the image, at temperature 0.
    assert steps == [1, 2]
    assert len(fragments) > 3 and "".join(fragments) == IMAGE_DESCRIPTION
    [describe] = fake_ollama.requests_to("/api/chat")
    message = describe.json["messages"][0]
    assert describe.json["model"] == "llava-phi3:3.8b" and message["images"]
    assert describe.json["options"]["temperature"] == 0
    # Step 2: the description goes through the structured extraction, country added.
    [extraction] = v1_requests(fake_ollama)
    assert IMAGE_DESCRIPTION in extraction["messages"][-1]["content"]
    assert "country" in extraction["messages"][0]["content"]  # the schema instructor sends
    assert (result.city, result.country) == ("Cusco", "Peru")
    assert result.description == IMAGE_DESCRIPTION
    assert result.sentence == "Santiago de Chile is about 2,210 kilometers away from Cusco."
    data = result.to_json()
    assert data["country"] == "Peru" and data["kind"] == "image" and data["query"] == "machu.png"


async def test_image_to_a_model_without_vision(backend, tmp_path: Path) -> None:
    image = load_image(write_png(tmp_path / "city.png"))
    with pytest.raises(ServerError) as caught:
        await describe_image(backend, "gemma2:2b", image)
    assert "vision model" in str(caught.value)


async def test_image_description_stream_cut(
    backend, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    from pislm_tui.backend import StreamInterrupted

    image = load_image(write_png(tmp_path / "city.png"))
    fake_ollama.script(Reply(text="The image shows a city by the sea", drop_after=3))
    with pytest.raises(StreamInterrupted):
        await where_image(
            backend, ToolsSettings(), image, model="llama3.2:1b", vision_model="llava-phi3:3.8b"
        )
    assert v1_requests(fake_ollama) == []  # step 2 never ran on half a description


# -- history ---------------------------------------------------------------------------------------


def _result(query: str, city: str = "Paris") -> WhereResult:
    return WhereResult(
        query=query, kind="country", city=city, lat=48.85, lon=2.35, distance_km=11629.2,
        origin=Location(), units="km", retries=1, elapsed_s=0.5, model="llama3.2:1b",
    )  # fmt: skip


def test_history_round_trip_skips_damaged_lines(tmp_path: Path) -> None:
    path = tmp_path / "data" / "where_history.jsonl"
    assert load_history(path) == []
    append_history(path, _result("France"))
    with path.open("a", encoding="utf-8") as f:
        f.write("{not json\n")
        f.write(json.dumps({"query": "x"}) + "\n")  # missing fields
    append_history(path, _result("Japan", "Tokyo"))
    loaded = load_history(path)
    assert [r.query for r in loaded] == ["France", "Japan"]
    assert loaded[0] == _result("France")
    save_history(path, loaded[1:])
    assert [r.city for r in load_history(path)] == ["Tokyo"]


# -- tool registry and loop ------------------------------------------------------------------------


@pytest.fixture
def ctx(backend, tmp_path: Path) -> ToolContext:
    loaded = load_settings(overrides={"host": backend.url})
    fixed = datetime(2026, 3, 14, 15, 9, 26, tzinfo=timezone(timedelta(hours=-3)))
    return ToolContext(backend, loaded.settings, loaded.paths, now=lambda: fixed)


def test_registry_schemas(ctx: ToolContext) -> None:
    registry = default_registry(ctx)
    assert registry.names == ["distance", "current_datetime", "pi_status", "search_documents"]
    [distance_tool] = [s for s in registry.schemas() if s["function"]["name"] == "distance"]
    params = distance_tool["function"]["parameters"]
    assert params["type"] == "object" and set(params["required"]) == {
        "lat1",
        "lon1",
        "lat2",
        "lon2",
    }
    assert params["properties"]["lat1"]["maximum"] == 90


async def test_tools_validate_and_report_errors(ctx: ToolContext) -> None:
    registry = default_registry(ctx)
    ok = await registry.call(
        "distance", {"lat1": -33.33, "lon1": -70.51, "lat2": "48.8566", "lon2": 2.3522}
    )
    assert ok.ok and ok.data == {"distance": 11629.2, "units": "km"}
    bad = await registry.call("distance", {"lat1": 100})
    assert not bad.ok and bad.content.startswith("error: bad arguments for distance: lat1:")
    assert "lon1: Field required" in bad.content
    unknown = await registry.call("rm_rf", {})
    assert (
        not unknown.ok
        and "no tool named 'rm_rf'" in unknown.content
        and "distance" in unknown.content
    )
    now = await registry.call("current_datetime", {})
    assert now.data == {
        "datetime": "2026-03-14T15:09:26-03:00",
        "weekday": "Saturday",
        "timezone": "UTC-03:00",
    }
    paris = await registry.call("current_datetime", {"timezone": "Europe/Paris"})
    assert paris.data["datetime"] == "2026-03-14T19:09:26+01:00"
    nowhere = await registry.call("current_datetime", {"timezone": "Mars/Olympus"})
    assert not nowhere.ok and "unknown time zone" in nowhere.content


async def test_pi_status_tool_uses_the_monitor_sampler(ctx: ToolContext) -> None:
    outcome = await default_registry(ctx).call("pi_status", {})
    assert outcome.ok, outcome.content
    data = outcome.data
    assert {"ram", "load", "temp_c", "ollama_loaded"} <= set(data)
    assert data["ram"]["total"] > 0  # read from this machine's /proc
    assert "processes" not in data  # kept short for a small model's context


async def test_search_tool_without_documents(ctx: ToolContext) -> None:
    outcome = await default_registry(ctx).call("search_documents", {"query": "fan noise"})
    assert not outcome.ok and "no documents" in outcome.content
    assert not ctx.paths.chroma_dir.exists()  # looking did not create anything


async def test_tool_call_round_trip(backend, ctx: ToolContext, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(
        Reply(tool_calls=[{"name": "distance", "arguments": {"lat1": -33.33, "lon1": -70.51, "lat2": 48.8566, "lon2": 2.3522}}]),
        Reply(text="Paris is about 11,630 km away."),
    )  # fmt: skip
    events = [
        e
        async for e in run_tool_loop(
            backend, "llama3.2:1b", "How far is Paris?", default_registry(ctx), system="Be brief."
        )
    ]
    kinds = [type(e) for e in events]
    assert kinds[0] is RoundStarted and kinds[-1] is LoopDone
    [ran] = [e for e in events if isinstance(e, ToolRan)]
    assert ran.call.name == "distance" and ran.outcome.ok
    assert ran.outcome.data["distance"] == pytest.approx(11629.2)
    done = events[-1]
    assert done.answer == "Paris is about 11,630 km away." and (done.rounds, done.calls) == (2, 1)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == done.answer
    first, second = (r.json for r in fake_ollama.requests_to("/api/chat"))
    assert [t["function"]["name"] for t in first["tools"]] == default_registry(ctx).names
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
    assert second["messages"][2]["tool_calls"][0]["function"]["name"] == "distance"
    assert second["messages"][3] == {
        "role": "tool", "content": '{"distance": 11629.2, "units": "km"}', "tool_name": "distance",
    }  # fmt: skip


async def test_unknown_tool_and_bad_arguments_go_back_to_the_model(
    backend, ctx: ToolContext, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(tool_calls=[{"name": "shell", "arguments": {"cmd": "rm -rf /"}}, {"name": "distance", "arguments": {"lat1": "north"}}]),
    )  # fmt: skip
    events = [
        e async for e in run_tool_loop(backend, "llama3.2:1b", "Do it", default_registry(ctx))
    ]
    ran = [e for e in events if isinstance(e, ToolRan)]
    assert [r.outcome.ok for r in ran] == [False, False]
    assert "no tool named 'shell'" in ran[0].outcome.content
    assert "lat1: Input should be a valid number" in ran[1].outcome.content
    assert isinstance(events[-1], LoopDone) and not events[-1].stopped
    tool_messages = [
        m for m in fake_ollama.requests_to("/api/chat")[1].json["messages"] if m["role"] == "tool"
    ]
    assert [m["tool_name"] for m in tool_messages] == ["shell", "distance"]
    assert tool_messages[0]["content"].startswith("error: there is no tool named 'shell'")
    # The fake model answers with what the last tool said: the error reached it.
    assert "bad arguments for distance" in events[-1].answer


async def test_rounds_are_limited(backend, ctx: ToolContext, fake_ollama: FakeOllama) -> None:
    call = {"name": "current_datetime", "arguments": {}}
    fake_ollama.script(*[Reply(tool_calls=[call]) for _ in range(3)])
    events = [
        e
        async for e in run_tool_loop(
            backend, "llama3.2:1b", "time?", default_registry(ctx), max_rounds=2
        )
    ]
    done = events[-1]
    assert isinstance(done, LoopDone) and done.stopped and done.rounds == 2 and done.calls == 1
    assert len(fake_ollama.requests_to("/api/chat")) == 2


async def test_model_without_tools_gets_a_hint(backend, ctx: ToolContext) -> None:
    with pytest.raises(ServerError) as caught:
        async for _ in run_tool_loop(backend, "gemma2:2b", "time?", default_registry(ctx)):
            pass
    assert "does not support tools" in str(caught.value) and "cannot call tools" in str(
        caught.value
    )


async def test_thinking_model_thinking_is_kept_apart(
    backend, ctx: ToolContext, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(thinking="Let me see.", tool_calls=[{"name": "current_datetime", "arguments": {}}])
    )
    events = [
        e
        async for e in run_tool_loop(
            backend, "qwen3:1.7b", "What day is it?", default_registry(ctx)
        )
    ]
    first_round = events[: next(i for i, e in enumerate(events) if isinstance(e, ToolRan))]
    thinking = "".join(e.text for e in first_round if isinstance(e, TextDelta) and e.thinking)
    assert thinking == "Let me see."
    second = fake_ollama.requests_to("/api/chat")[1].json
    assert second["messages"][1]["thinking"] == "Let me see."  # sent back, as Ollama asks
    assert "Saturday" in events[-1].answer


def test_tools_modules_leave_heavy_libraries_out() -> None:
    code = (
        "import sys, pislm_tui.tabs.tools, pislm_tui.cli.where, pislm_tui.tools.builtin;"
        "print(','.join(m for m in ('openai', 'instructor', 'haversine', 'numpy', 'chromadb', 'psutil')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


async def test_search_tool_finds_passages_in_a_real_collection(
    ctx: ToolContext, tmp_path: Path
) -> None:
    import asyncio

    from pislm_tui.rag import IngestOptions, RagStore, ingest_paths
    from tests.rag_helpers import make_corpus

    files = make_corpus(tmp_path / "docs")
    store = await asyncio.to_thread(RagStore.open, ctx.paths, ctx.settings.rag)
    try:
        options = IngestOptions("nomic-embed-text", chunk_size=200, overlap=0)
        await ingest_paths(
            ctx.backend, store, "notes", [files["rivers"], files["volcanoes"]], options
        )
    finally:
        await asyncio.to_thread(store.close)
    registry = default_registry(ctx)
    found = await registry.call(
        "search_documents", {"query": "Villarrica volcano in Chile lava lake", "k": 2}
    )
    assert found.ok, found.content  # the only collection is searched when none is named
    data = found.data
    assert data["collection"] == "notes" and len(data["passages"]) == 2
    assert data["passages"][0]["source"].endswith("volcanoes.txt")
    assert "Villarrica" in data["passages"][0]["text"]
    missing = await registry.call("search_documents", {"query": "x", "collection": "recipes"})
    assert not missing.ok and "there is no collection 'recipes'" in missing.content
