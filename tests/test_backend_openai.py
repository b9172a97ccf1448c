"""The OpenAI-compatible backend against the fake server's /v1 API."""

from __future__ import annotations

import base64
import socket

import pytest

from pislm_tui.backend import (
    Message,
    ModelNotFound,
    ServerUnreachable,
    StreamInterrupted,
    Unsupported,
)
from pislm_tui.backend.openai_compat import OpenAIBackend
from tests.fake_ollama import FakeOllama, Reply


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = OpenAIBackend(fake_ollama.url, read_timeout=10, api_key="sk-test")
    yield b
    await b.aclose()


async def collect(stream):
    chunks = [c async for c in stream]
    return "".join(c.content for c in chunks), chunks


def test_base_url_accepts_both_forms() -> None:
    assert OpenAIBackend("http://h:8080").base_url == "http://h:8080/v1"
    assert OpenAIBackend("http://h:1234/v1/").base_url == "http://h:1234/v1"


async def test_models_and_no_version(backend: OpenAIBackend, fake_ollama: FakeOllama) -> None:
    assert await backend.version() is None
    assert {m.name for m in await backend.list_models()} == set(fake_ollama.models)
    assert fake_ollama.requests_to("/v1/models")[-1].headers["authorization"] == "Bearer sk-test"


async def test_chat_streams_with_client_measured_stats(
    backend: OpenAIBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="Paris is the capital."))
    text, chunks = await collect(
        backend.chat(
            "llama3.2:1b",
            [Message("user", "capital?")],
            options={"temperature": 0.1, "num_predict": 50, "top_k": 5, "num_ctx": 2048},
        )
    )
    assert text == "Paris is the capital."
    stats = chunks[-1].stats
    assert chunks[-1].done and stats.client_measured
    assert stats.eval_count == fake_ollama.last_stats["eval_count"]
    body = fake_ollama.requests_to("/v1/chat/completions")[-1].json
    assert body["temperature"] == 0.1 and body["max_tokens"] == 50 and body["top_k"] == 5
    assert "num_ctx" not in body and body["stream"] is True


async def test_images_and_json_format(backend: OpenAIBackend, fake_ollama: FakeOllama) -> None:
    image = b"\xff\xd8\xff\xe0" + b"jpeg-bytes"
    await collect(
        backend.chat(
            "llava-phi3:3.8b", [Message("user", "what city?", images=[image])], format="json"
        )
    )
    body = fake_ollama.requests_to("/v1/chat/completions")[-1].json
    parts = body["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "what city?"}
    assert (
        parts[1]["image_url"]["url"] == "data:image/jpeg;base64," + base64.b64encode(image).decode()
    )
    assert body["response_format"] == {"type": "json_object"}


async def test_tool_calls_have_object_arguments(
    backend: OpenAIBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(tool_calls=[{"name": "distance", "arguments": {"lat": 1.5}}]))
    _, chunks = await collect(
        backend.chat(
            "qwen3:1.7b",
            [Message("user", "far?")],
            tools=[{"type": "function", "function": {"name": "distance", "parameters": {}}}],
        )
    )
    calls = chunks[-1].tool_calls
    assert [(c.name, c.arguments) for c in calls] == [("distance", {"lat": 1.5})]


async def test_unknown_model(backend: OpenAIBackend) -> None:
    with pytest.raises(ModelNotFound):
        await collect(backend.chat("nosuch", [Message("user", "hi")]))


async def test_stream_errors_keep_partial(backend: OpenAIBackend, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(text="a b c d e", error_after=2, error_message="boom"))
    with pytest.raises(StreamInterrupted) as info:
        await collect(backend.chat("llama3.2:1b", [Message("user", "hi")]))
    assert info.value.partial == "a b" and "boom" in str(info.value)
    fake_ollama.script(Reply(text="a b c d e", drop_after=3))
    with pytest.raises(StreamInterrupted) as info:
        await collect(backend.chat("llama3.2:1b", [Message("user", "hi")]))
    assert info.value.partial == "a b c"


async def test_management_is_unsupported(backend: OpenAIBackend) -> None:
    for call in (
        lambda: backend.show("m"),
        backend.loaded,
        lambda: backend.delete("m"),
        lambda: backend.load("m"),
        lambda: backend.unload("m"),
    ):
        with pytest.raises(Unsupported) as info:
            await call()
        assert "--api ollama" in str(info.value)
    with pytest.raises(Unsupported):
        async for _ in backend.pull("m"):
            pass


async def test_embed(backend: OpenAIBackend, fake_ollama: FakeOllama) -> None:
    vectors = await backend.embed(["a b", "c d"], "nomic-embed-text")
    assert len(vectors) == 2 and len(vectors[0]) == 768
    assert len(fake_ollama.requests_to("/v1/embeddings")) == 1


async def test_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend(f"http://127.0.0.1:{port}", connect_timeout=2)
    with pytest.raises(ServerUnreachable) as info:
        await backend.list_models()
    assert f"127.0.0.1:{port}/v1" in str(info.value)
    await backend.aclose()
