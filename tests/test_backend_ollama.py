"""The native backend against the fake server: every endpoint and every error path."""

from __future__ import annotations

import asyncio
import base64
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from pislm_tui.backend import (
    BadResponse,
    Message,
    ModelNotFound,
    RequestTimeout,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
)
from pislm_tui.backend.ollama_native import OllamaBackend
from tests.fake_ollama import FakeOllama, Reply


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = OllamaBackend(fake_ollama.url, read_timeout=10)
    yield b
    await b.aclose()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def collect(stream) -> tuple[str, list]:
    chunks = [c async for c in stream]
    return "".join(c.content for c in chunks), chunks


# -- listing ---------------------------------------------------------------------------------


async def test_version_and_models(backend: OllamaBackend, fake_ollama: FakeOllama) -> None:
    assert await backend.version() == "0.33.0"
    models = await backend.list_models()
    assert {m.name for m in models} == set(fake_ollama.models)
    one = next(m for m in models if m.name == "llama3.2:1b")
    spec = fake_ollama.models["llama3.2:1b"]
    assert (one.size, one.family, one.parameter_size, one.quantization) == (
        spec.size,
        spec.family,
        spec.parameter_size,
        spec.quantization,
    )
    assert one.modified_at is not None
    assert not one.remote and one.capabilities == frozenset()  # (not in this server's listing)


async def test_cloud_entries_and_listed_capabilities(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    """ollama-python's listing drops `remote_host`/`remote_model` and `capabilities`; the
    backend reads /api/tags itself to keep them."""
    from tests.fake_ollama.catalogues import cloud_entry

    fake_ollama.add_model(cloud_entry())
    fake_ollama.models["gemma2:2b"].list_capabilities = True
    models = {m.name: m for m in await backend.list_models()}
    assert models["gpt-oss:120b-cloud"].remote and models["gpt-oss:120b-cloud"].size == 384
    assert not models["llama3.2:1b"].remote
    assert models["gemma2:2b"].capabilities == frozenset({"completion"})


async def test_show_gives_capabilities_and_context(backend: OllamaBackend) -> None:
    vision = await backend.show("llava-phi3:3.8b")
    assert vision.supports_vision and not vision.supports_thinking
    assert vision.context_length and vision.context_length > 0
    embed = await backend.show("nomic-embed-text")
    assert embed.is_embedding and embed.embedding_length == 768
    thinker = await backend.show("qwen3:1.7b")
    assert thinker.supports_thinking and thinker.supports_tools


async def test_show_unknown_model(backend: OllamaBackend) -> None:
    with pytest.raises(ModelNotFound) as info:
        await backend.show("nosuch")
    assert info.value.exit_code == 4
    assert "pislm pull nosuch" in str(info.value)


async def test_load_unload_and_ps(backend: OllamaBackend) -> None:
    assert await backend.loaded() == []
    await backend.load("llama3.2:1b", keep_alive="10m")
    loaded = await backend.loaded()
    assert [m.name for m in loaded] == ["llama3.2:1b"]
    assert loaded[0].expires_at is not None and loaded[0].processor == "100% CPU"
    await backend.unload("llama3.2:1b")
    assert await backend.loaded() == []
    # An embedding-only model cannot chat; loading it goes through an embedding request.
    await backend.load("nomic-embed-text")
    assert [m.name for m in await backend.loaded()] == ["nomic-embed-text:latest"]


# -- pull and delete -------------------------------------------------------------------------


async def test_pull_reports_layers_and_installs(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    lines = [p async for p in backend.pull("tinyllama")]
    assert lines[0].status == "pulling manifest"
    assert lines[-1].status == "success"
    layered = [p for p in lines if p.digest]
    assert layered and all(p.status.startswith("pulling ") for p in layered)
    assert any(p.completed and p.total and p.completed == p.total for p in layered)
    assert "tinyllama:latest" in {m.name for m in await backend.list_models()}


async def test_pull_unknown_model(backend: OllamaBackend) -> None:
    with pytest.raises(ModelNotFound) as info:
        async for _ in backend.pull("no-such-model"):
            pass
    assert "file does not exist" in (info.value.server_message or "")
    assert str(info.value).startswith("model 'no-such-model' is not in the Ollama registry")
    assert "ollama.com/library" in str(info.value)


async def test_pull_failure_mid_way(backend: OllamaBackend, fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_fail["tinyllama:latest"] = "max retries exceeded: connection reset"
    seen = []
    with pytest.raises(ServerError) as info:
        async for p in backend.pull("tinyllama"):
            seen.append(p)
    assert "max retries exceeded" in str(info.value)
    assert any(p.digest for p in seen)


async def test_cancelled_pull_closes_connection(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.pull_delay = 0.05

    async def first_layer() -> None:
        async for p in backend.pull("tinyllama"):
            if p.completed:
                await asyncio.sleep(3600)  # hold the stream open until cancelled

    task = asyncio.create_task(first_layer())
    assert await asyncio.to_thread(
        fake_ollama.wait_for, lambda: any(r.path == "/api/pull" for r in fake_ollama.requests)
    )
    await asyncio.sleep(0)  # let the first progress line arrive
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(
        fake_ollama.wait_for, lambda: "/api/pull" in fake_ollama.disconnects
    )
    assert "tinyllama:latest" not in fake_ollama.models


async def test_delete(backend: OllamaBackend, fake_ollama: FakeOllama) -> None:
    await backend.delete("gemma2:2b")
    assert "gemma2:2b" not in fake_ollama.models
    with pytest.raises(ModelNotFound):
        await backend.delete("gemma2:2b")


# -- chat ------------------------------------------------------------------------------------


async def test_chat_streams_and_ends_with_stats(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="Hello there, Pi user."))
    text, chunks = await collect(backend.chat("llama3.2:1b", [Message("user", "hi")]))
    assert text == "Hello there, Pi user."
    assert len(chunks) > 2 and chunks[-1].done and chunks[-1].done_reason == "stop"
    sent = fake_ollama.last_stats
    stats = chunks[-1].stats
    assert stats.eval_count == sent["eval_count"]
    assert stats.eval_duration_ns == sent["eval_duration"]
    # The rate comes from nanoseconds, not from rounded seconds.
    assert stats.eval_rate == pytest.approx(sent["eval_count"] * 1e9 / sent["eval_duration"])


async def test_chat_passes_everything_through(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
    history = [
        Message("system", "Be brief."),
        Message("user", "Describe this.", images=[image]),
        Message("assistant", "A picture."),
        Message("user", "More?"),
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    await collect(
        backend.chat(
            "llava-phi3:3.8b",
            history,
            options={"temperature": 0.2, "num_ctx": 4096, "seed": 7},
            keep_alive="1h",
            format="json",
            think=False,
        )
    )
    body = fake_ollama.requests_to("/api/chat")[-1].json
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][1]["images"] == [base64.b64encode(image).decode()]
    assert body["options"] == {"temperature": 0.2, "num_ctx": 4096, "seed": 7}
    assert (body["keep_alive"], body["format"], body["think"], body["stream"]) == (
        "1h",
        "json",
        False,
        True,
    )
    await collect(backend.chat("qwen3:1.7b", [Message("user", "x")], tools=tools))
    assert fake_ollama.requests_to("/api/chat")[-1].json["tools"] == tools


async def test_chat_tool_calls_and_thinking(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(thinking="Let me think.", tool_calls=[{"name": "distance", "arguments": {"a": 1}}])
    )
    _, chunks = await collect(backend.chat("qwen3:1.7b", [Message("user", "how far?")]))
    assert "".join(c.thinking for c in chunks) == "Let me think."
    calls = [c for chunk in chunks for c in chunk.tool_calls]
    assert [(c.name, c.arguments) for c in calls] == [("distance", {"a": 1})]


async def test_chat_unknown_model(backend: OllamaBackend) -> None:
    with pytest.raises(ModelNotFound) as info:
        await collect(backend.chat("nosuch:7b", [Message("user", "hi")]))
    assert info.value.model == "nosuch:7b" and info.value.exit_code == 4


async def test_error_line_mid_stream_keeps_partial(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(text="one two three four five", error_after=3, error_message="out of memory")
    )
    got = []
    with pytest.raises(StreamInterrupted) as info:
        async for c in backend.chat("llama3.2:1b", [Message("user", "hi")]):
            got.append(c.content)
    assert info.value.partial == "one two three" == "".join(got)
    assert "out of memory" in str(info.value)


async def test_dropped_connection_keeps_partial(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="alpha beta gamma delta", drop_after=2))
    with pytest.raises(StreamInterrupted) as info:
        await collect(backend.chat("llama3.2:1b", [Message("user", "hi")]))
    assert info.value.partial == "alpha beta"
    assert info.value.exit_code == 5


async def test_silent_server_times_out(fake_ollama: FakeOllama) -> None:
    backend = OllamaBackend(fake_ollama.url, read_timeout=0.3)
    fake_ollama.script(Reply(text="late", first_byte_delay=3))
    with pytest.raises(RequestTimeout) as info:
        await collect(backend.chat("llama3.2:1b", [Message("user", "hi")]))
    assert "no answer from" in str(info.value) and "0.3 s" in str(info.value)
    await backend.aclose()


async def test_cancel_closes_the_connection(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(n_tokens=200, rate=20))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in backend.chat("llama3.2:1b", [Message("user", "hi")]):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(
        fake_ollama.wait_for, lambda: "/api/chat" in fake_ollama.disconnects
    )


@pytest.mark.parametrize(
    ("reply", "error", "text"),
    [
        (
            Reply(status=500, body='{"error":"llama runner process has terminated"}'),
            ServerError,
            "server error (500): llama runner process has terminated",
        ),
        (
            Reply(status=200, body="this is not json", content_type="text/plain"),
            BadResponse,
            "not JSON",
        ),
        (
            Reply(
                status=502,
                body="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            ),
            BadResponse,
            "HTML page with status 502",
        ),
        (Reply(status=503, body='{"error":"server busy"}'), ServerError, "server busy"),
    ],
)
async def test_bad_answers(
    backend: OllamaBackend, fake_ollama: FakeOllama, reply, error, text
) -> None:
    fake_ollama.script(reply)
    with pytest.raises(error) as info:
        await collect(backend.chat("llama3.2:1b", [Message("user", "hi")]))
    assert text in str(info.value)


async def test_host_check_403_explained(backend: OllamaBackend, fake_ollama: FakeOllama) -> None:
    """Ollama answers a non-local Host name with an empty 403; we explain the tunnel."""
    import httpx

    fake_ollama.host_check = True

    async with httpx.AsyncClient() as client:
        r = await client.get(f"{fake_ollama.url}/api/tags", headers={"Host": "evil.example.com"})
    assert r.status_code == 403 and r.text == ""
    from pislm_tui.backend.ollama_errors import response_error

    err = backend._translate(response_error(r))
    assert isinstance(err, ServerError) and "ssh -L" in str(err)


# -- embeddings ------------------------------------------------------------------------------


async def test_embed_is_one_request_for_many_texts(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    texts = ["bees make honey", "honey bees dance", "trains run on rails"]
    vectors = await backend.embed(texts, "nomic-embed-text")
    assert len(vectors) == 3 and all(len(v) == 768 for v in vectors)
    assert len(fake_ollama.requests_to("/api/embed")) == 1
    assert fake_ollama.requests_to("/api/embed")[0].json["input"] == texts

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])


async def test_embed_unknown_model(backend: OllamaBackend) -> None:
    with pytest.raises(ModelNotFound):
        await backend.embed(["x"], "no-embedder")


# -- unreachable and not-Ollama servers ------------------------------------------------------


async def test_refused_connection_everywhere() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    backend = OllamaBackend(url)
    for call in (backend.version, backend.list_models, backend.loaded):
        with pytest.raises(ServerUnreachable) as info:
            await call()
        assert f"cannot reach Ollama at {url}" in str(info.value)
        assert "ollama serve" in str(info.value) and info.value.exit_code == 3
    with pytest.raises(ServerUnreachable):
        await collect(backend.chat("m", [Message("user", "hi")]))
    with pytest.raises(ServerUnreachable):
        async for _ in backend.pull("m"):
            pass
    await backend.aclose()


@pytest.fixture
def html_server() -> Iterator[str]:
    """A web server that is not Ollama: every path gives an HTML page."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><html><body>It works!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_web_server_is_not_ollama(html_server: str) -> None:
    backend = OllamaBackend(html_server)
    with pytest.raises(BadResponse) as info:
        await backend.version()
    assert "HTML page" in str(info.value)
    with pytest.raises(BadResponse):
        await backend.list_models()
    await backend.aclose()
