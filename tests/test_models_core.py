"""Core of the Models feature (no UI): formatting, pull tracking, the memory check, the bench and
its export — against the fake server over real sockets through the real backend."""

from __future__ import annotations

import asyncio
import csv
import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pislm_tui.backend import ModelNotFound, PullProgress, ServerUnreachable, UsageError
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.backend.types import LoadedModel
from pislm_tui.models.bench import BenchRunner
from pislm_tui.models.bench_results import Spread, export_bench, summary_rows
from pislm_tui.models.listing import (
    chat_model_names,
    find_model,
    human_ago,
    human_eta,
    time_left,
)
from pislm_tui.models.memory import check_memory, is_local_server
from pislm_tui.models.pull import PullTracker, check_model_name, pull_model
from pislm_tui.sizes import decimal_bytes as human_bytes
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import wait_for


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = OllamaBackend(fake_ollama.url, read_timeout=10)
    yield b
    await b.aclose()


# -- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1_321_098_329, "1.3 GB"),
        (2_019_393_189, "2.0 GB"),
        (274_302_450, "274 MB"),
        (45_960_996, "45 MB"),
        (7_711, "7.7 KB"),
        (96, "96 B"),
        (3_000_000_000, "3 GB"),
        (None, "—"),
    ],
)
def test_human_bytes_matches_ollama(size: int | None, text: str) -> None:
    assert human_bytes(size) == text


def test_times_like_ollama_ps_and_list() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert time_left(now + timedelta(minutes=4, seconds=32), now) == "4 minutes"
    assert time_left(now + timedelta(seconds=75), now) == "about a minute"
    assert time_left(now + timedelta(days=292 * 365), now) == "forever"
    assert time_left(now - timedelta(seconds=1), now) == "stopping…"
    assert time_left(None, now) == "—"
    assert human_ago(now - timedelta(days=20), now) == "2 weeks ago"
    assert human_ago(now - timedelta(hours=3), now) == "3 hours ago"
    assert human_eta(52.2) == "53s"
    assert human_eta(190) == "3m10s"
    assert human_eta(None) == "—"


def test_find_model_and_chat_models(fake_ollama: FakeOllama) -> None:
    from pislm_tui.backend.types import ModelInfo

    models = [ModelInfo("phi3.5:latest"), ModelInfo("nomic-embed-text:latest", family="nomic-bert")]
    assert find_model(models, "PHI3.5") is models[0]
    assert find_model(models, "phi3.5:3b") is None
    assert chat_model_names(models) == ["phi3.5:latest"]


def test_model_names_are_checked() -> None:
    assert check_model_name("  llama3.2:1b ") == "llama3.2:1b"
    for bad in ("", "   ", "llama 3", "x;rm -rf"):
        with pytest.raises(UsageError):
            check_model_name(bad)


# -- pull tracking ------------------------------------------------------------------------------


class StepClock:
    """A clock that moves by `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_tracker_layers_speed_eta_and_overall() -> None:
    clock = StepClock(1.0)
    t = PullTracker("m", clock=clock)  # reads the clock once (t=1)
    t.feed(PullProgress("pulling manifest"))
    a, b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    t.feed(PullProgress("pulling aaaaaaaaaaaa", a, total=1000))  # t=2, 0 done
    t.feed(PullProgress("pulling bbbbbbbbbbbb", b, total=3000, completed=1000))  # t=3 (resumed)
    t.feed(PullProgress("pulling aaaaaaaaaaaa", a, total=1000, completed=400))  # t=4
    t.feed(PullProgress("pulling bbbbbbbbbbbb", b, total=3000, completed=1600))  # t=5
    la, lb = t.layers[a], t.layers[b]
    assert la.short == "aaaaaaaaaaaa"
    assert la.speed == pytest.approx(200.0)  # 400 bytes over 2 s
    assert lb.speed == pytest.approx(300.0)  # the resumed 1000 bytes are not speed
    assert la.eta == pytest.approx(3.0)
    assert t.total_bytes == 4000 and t.completed_bytes == 2000
    assert t.fraction == pytest.approx(0.5)
    assert t.speed == pytest.approx(500.0)
    assert t.eta == pytest.approx(4.0)
    assert t.summary() == "50% · 2 KB / 4 KB · 500 B/s · ETA 4s"
    t.feed(PullProgress("verifying sha256 digest"))
    t.feed(PullProgress("success"))
    assert t.done and t.state == "done" and t.fraction == 1.0
    assert la.done and lb.done and la.speed is None


def test_tracker_speed_window_forgets_old_samples() -> None:
    clock = StepClock(1.0)
    t = PullTracker("m", clock=clock, window=2.0)
    d = "sha256:" + "c" * 64
    t.feed(PullProgress("pulling cccccccccccc", d, total=10_000, completed=0))
    for done in (100, 200, 300, 2300, 4300):  # the link got faster
        t.feed(PullProgress("pulling cccccccccccc", d, total=10_000, completed=done))
    assert t.layers[d].speed == pytest.approx(2000.0)


async def test_pull_model_success_installs(backend: OllamaBackend, fake_ollama: FakeOllama) -> None:
    seen: list[str] = []
    tracker = await pull_model(backend, "tinyllama", lambda t: seen.append(t.status))
    assert tracker.done and tracker.error is None
    assert seen[0] == "pulling manifest" and seen[-1] == "success"
    spec = fake_ollama.registry["tinyllama:latest"]
    assert tracker.total_bytes == spec.size  # the layers add up to the model size
    assert [layer.digest for layer in tracker.layers.values()] == [d for d, _ in spec.layers()]
    assert "tinyllama:latest" in fake_ollama.models


async def test_pull_model_failure_keeps_server_message(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    updates: list[str] = []
    tracker = PullTracker("nosuch")
    with pytest.raises(ModelNotFound) as info:
        await pull_model(backend, "nosuch", lambda t: updates.append(t.state), tracker=tracker)
    assert tracker.error is info.value and tracker.state == "failed"
    assert info.value.server_message == "pull model manifest: file does not exist"
    assert updates[-1] == "failed"


async def test_pull_model_midway_failure(backend: OllamaBackend, fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_fail["tinyllama"] = "max retries exceeded: connection reset"
    tracker = PullTracker("tinyllama")
    with pytest.raises(Exception) as info:
        await pull_model(backend, "tinyllama", tracker=tracker)
    assert "max retries exceeded" in str(info.value)
    first = next(iter(tracker.layers.values()))
    assert 0 < first.completed < (first.total or 0)  # progress was kept up to the failure
    assert "tinyllama:latest" not in fake_ollama.models


async def test_pull_model_cancel_closes_the_connection(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.pull_delay = 0.2
    tracker = PullTracker("tinyllama")
    task = asyncio.create_task(pull_model(backend, "tinyllama", tracker=tracker))
    await wait_for(lambda: tracker.layers, what="a layer line")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tracker.cancelled and tracker.state == "cancelled"
    assert fake_ollama.wait_for(lambda: "/api/pull" in fake_ollama.disconnects)
    assert "tinyllama:latest" not in fake_ollama.models


# -- memory check -------------------------------------------------------------------------------


def test_memory_check() -> None:
    url = "http://127.0.0.1:11434"
    small_pi = check_memory("phi3.5", 2_176_178_913, server_url=url, probe=lambda: 1_500_000_000)
    assert not small_pi.ok
    assert "2.2 GB" in small_pi.warning() and "1.5 GB" in small_pi.warning()
    assert check_memory("phi3.5", 2_176_178_913, server_url=url, probe=lambda: 6_000_000_000).ok
    unknown = check_memory("phi3.5", 2_176_178_913, server_url=url, probe=lambda: None)
    assert unknown.ok and not unknown.checked
    remote = check_memory("phi3.5", 9e12, server_url="http://pi.example:11434", probe=lambda: 1)  # type: ignore[arg-type]
    assert remote.ok and not remote.checked  # this machine's RAM says nothing about the Pi's
    assert is_local_server("http://localhost:11434") and is_local_server("http://[::1]:11434")
    assert not is_local_server("http://192.168.1.20:11434")


def test_real_memory_probe_reads_psutil() -> None:
    from pislm_tui.models.memory import available_memory

    value = available_memory()
    assert value is not None and value > 0


# -- bench --------------------------------------------------------------------------------------


def expected_from_log(log: list[dict], model: str, runs: int) -> dict:
    """The figures the bench must report, from the nanosecond numbers the server produced."""
    entries = [e for e in log if e["model"] == model]
    assert len(entries) == runs + 1  # warm-up + runs
    warm, measured = entries[0], entries[1:]
    eval_rates = [e["eval_count"] * 1e9 / e["eval_duration"] for e in measured]
    prompt_rates = [e["prompt_eval_count"] * 1e9 / e["prompt_eval_duration"] for e in measured]
    totals = [e["total_duration"] / 1e9 for e in measured]
    return {
        "load": warm["load_duration"] / 1e9,
        "eval": (statistics.median(eval_rates), min(eval_rates), max(eval_rates)),
        "prompt": (statistics.median(prompt_rates), min(prompt_rates), max(prompt_rates)),
        "total": (statistics.median(totals), min(totals), max(totals)),
    }


def as_tuple(s: Spread | None) -> tuple[float, float, float]:
    assert s is not None
    return (s.median, s.min, s.max)


async def test_bench_statistics_match_the_servers_figures(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    progress = []
    runner = BenchRunner(backend, ["llama3.2:1b", "phi3.5"], "What is the capital of France?", 3)
    result = await runner.run(progress.append)
    assert result.finished and [m.model for m in result.models] == ["llama3.2:1b", "phi3.5"]
    for bench in result.models:
        name = "phi3.5:latest" if bench.model == "phi3.5" else bench.model
        want = expected_from_log(fake_ollama.stats_log, name, 3)
        assert bench.complete and len(bench.runs) == 3
        assert bench.load_s == pytest.approx(want["load"], rel=1e-12)
        assert as_tuple(bench.eval_rate) == pytest.approx(want["eval"], rel=1e-12)
        assert as_tuple(bench.prompt_eval_rate) == pytest.approx(want["prompt"], rel=1e-12)
        assert as_tuple(bench.total_s) == pytest.approx(want["total"], rel=1e-12)
        assert "France" in bench.answer
    one, phi = result.models
    assert one.eval_rate and phi.eval_rate and one.eval_rate.median > 3 * phi.eval_rate.median
    # Cold loads: each model was unloaded before its warm-up, so the load time is the real one.
    assert one.load_s and one.load_s > 1.0
    assert fake_ollama.loaded == {}  # and unloaded after its runs
    # The warm-up request is not counted: 4 chat requests per model, 3 measured.
    assert len(fake_ollama.requests_to("/api/chat")) >= 8
    assert progress[-1].phase == "done" and progress[-1].step == progress[-1].steps == 8
    assert [p.step for p in progress] == sorted(p.step for p in progress)


async def test_bench_keeps_loaded_when_asked(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    await backend.load("gemma2:2b")
    result = await BenchRunner(backend, ["gemma2:2b"], "hi", 1, unload=False).run()
    warm_load = result.models[0].load_s
    assert warm_load is not None and warm_load < 0.1  # already in memory: a warm "load"
    assert "gemma2:2b" in fake_ollama.loaded


async def test_bench_failed_model_does_not_stop_the_others(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    result = await BenchRunner(
        backend, ["nosuch", "nomic-embed-text", "llama3.2:1b"], "hi", 2
    ).run()
    missing, embed, good = result.models
    assert missing.error and "not installed" in missing.error and missing.error_code == 4
    assert embed.error and "cannot chat (an embedding model)" in embed.error
    assert good.complete and good.eval_rate is not None
    rows = summary_rows(result)
    assert rows[0][-1] == "failed" and rows[2][0] == "llama3.2:1b" and rows[2][3] != "—"


async def test_bench_stream_failure_is_reported(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="Paris is", error_after=1, model="llama3.2:1b"))
    result = await BenchRunner(backend, ["llama3.2:1b"], "hi", 2).run()
    assert result.models[0].error and "cut off" in result.models[0].error
    assert result.measured() == []


async def test_bench_cancel_keeps_partial_result(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(text="Paris.", model="gemma2:2b"),
        Reply(text="Paris.", model="gemma2:2b"),
        Reply(text="slow answer " * 40, rate=20, model="gemma2:2b"),
    )
    runner = BenchRunner(backend, ["gemma2:2b", "llama3.2:1b"], "hi", 3)
    task = asyncio.create_task(runner.run())
    # unload, warm-up, run 1, then run 2 (the slow one) is in flight
    await wait_for(lambda: len(fake_ollama.requests_to("/api/chat")) == 4, what="run 2 started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    result = runner.result
    assert result.cancelled and not result.finished
    assert len(result.models[0].runs) == 1 and result.models[1].warmup is None
    assert fake_ollama.wait_for(lambda: "/api/chat" in fake_ollama.disconnects)


async def test_bench_server_down(fake_ollama: FakeOllama) -> None:
    url = fake_ollama.url
    fake_ollama.stop()
    b = OllamaBackend(url, connect_timeout=1)
    try:
        result = await BenchRunner(b, ["llama3.2:1b", "gemma2:2b"], "hi", 1).run()
    finally:
        await b.aclose()
    assert result.error and "cannot reach" in result.error
    assert result.models[1].error is None and result.models[1].warmup is None  # not attempted


def test_bench_input_is_checked(fake_ollama: FakeOllama) -> None:
    b = OllamaBackend(fake_ollama.url)
    with pytest.raises(UsageError):
        BenchRunner(b, [], "hi", 1)
    with pytest.raises(UsageError):
        BenchRunner(b, ["x"], "   ", 1)
    with pytest.raises(UsageError):
        BenchRunner(b, ["x"], "hi", 0)


async def test_export_csv_and_json(backend: OllamaBackend, tmp_path: Path) -> None:
    when = datetime(2025, 6, 1, 12, 30, 5, tzinfo=UTC)
    runner = BenchRunner(backend, ["llama3.2:1b", "nosuch"], "hi", 2, now=lambda: when)
    result = await runner.run()
    out = export_bench(result, tmp_path / "bench")
    assert out.csv.name == "bench-20250601-123005.csv" and out.json.suffix == ".json"
    rows = list(csv.DictReader(out.csv.open(encoding="utf-8")))
    assert [r["model"] for r in rows] == ["llama3.2:1b", "nosuch"]
    good = result.models[0]
    assert good.eval_rate is not None
    assert float(rows[0]["eval_rate_median"]) == pytest.approx(good.eval_rate.median)
    assert float(rows[0]["load_duration_s"]) == pytest.approx(good.load_s)
    assert rows[1]["eval_rate_median"] == "" and "not installed" in rows[1]["error"]
    data = json.loads(out.json.read_text(encoding="utf-8"))
    assert data["prompt"] == "hi" and data["runs"] == 2
    assert data["models"][0]["eval_rate"]["median"] == pytest.approx(good.eval_rate.median)
    assert len(data["models"][0]["run_figures"]) == 2
    again = export_bench(result, tmp_path / "bench")  # same second: a new name, nothing lost
    assert again.csv != out.csv and out.csv.exists()


def test_export_to_unwritable_place(tmp_path: Path, fake_ollama: FakeOllama) -> None:
    runner = BenchRunner(OllamaBackend(fake_ollama.url), ["x"], "hi", 1)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(UsageError) as info:
        export_bench(runner.result, blocker / "bench")
    assert "cannot write the bench results" in str(info.value)


def test_loaded_processor_text() -> None:
    assert LoadedModel("m", size=100, size_vram=0).processor == "100% CPU"


async def test_unreachable_pull(fake_ollama: FakeOllama) -> None:
    url = fake_ollama.url
    fake_ollama.stop()
    b = OllamaBackend(url, connect_timeout=1)
    try:
        with pytest.raises(ServerUnreachable):
            await pull_model(b, "tinyllama")
    finally:
        await b.aclose()
