"""Tests of the fake Ollama server itself, through the real clients (ollama-python, openai)
and raw httpx / sockets where the clients hide the wire details."""

from __future__ import annotations

import base64
import json
import math
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import openai
import pytest
from pydantic import BaseModel

from tests.fake_ollama import (
    COUNTRIES,
    DEFAULT_MODELS,
    IMAGE_DESCRIPTION,
    FakeModel,
    FakeOllama,
    Reply,
)
from tests.fake_ollama.behaviour import parse_keep_alive
from tests.fake_ollama.embeddings import cosine
from tests.fake_ollama.reply import generated_tokens, tokenize

REPO = Path(__file__).resolve().parents[1]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image bytes").decode()
USER_HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def srv() -> Iterator[FakeOllama]:
    with FakeOllama().start() as server:
        yield server


@pytest.fixture
def client(srv: FakeOllama) -> Iterator[ollama.Client]:
    with ollama.Client(host=srv.url, timeout=10) as c:
        yield c


@pytest.fixture
def oai(srv: FakeOllama) -> Iterator[openai.OpenAI]:
    c = openai.OpenAI(base_url=srv.url + "/v1", api_key="sk-test", max_retries=0, timeout=10)
    yield c
    c.close()


@pytest.fixture
def http(srv: FakeOllama) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=10) as c:
        yield c


def lines_of(resp: httpx.Response) -> list[dict[str, Any]]:
    text = resp.text
    assert text.endswith("\n")
    raw = text.split("\n")[:-1]
    assert all(raw), "no blank lines in NDJSON"
    return [json.loads(line) for line in raw]


def sse_events(resp: httpx.Response) -> list[str]:
    text = resp.text
    assert text.endswith("\n\n")
    events = text[:-2].split("\n\n")
    assert all(e.startswith("data: ") for e in events)
    return [e[len("data: ") :] for e in events]


# -- raw socket helpers (to see chunk framing and keep-alive) -------------------------------------
def _read_until(sock: socket.socket, buf: bytearray, marker: bytes) -> bytes:
    while marker not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError(bytes(buf))
        buf += data
    head, _, rest = bytes(buf).partition(marker)
    buf[:] = rest
    return head


def _read_exact(sock: socket.socket, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            raise EOFError(bytes(buf))
        buf += data
    out = bytes(buf[:n])
    buf[:] = buf[n:]
    return out


def raw_request(
    sock: socket.socket, buf: bytearray, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, str], list[bytes]]:
    """Send one HTTP/1.1 request; return status, headers and the body as a list of chunks
    (a single element for Content-Length bodies)."""
    payload = b"" if body is None else json.dumps(body).encode()
    sock.sendall(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    head = _read_until(sock, buf, b"\r\n\r\n").decode()
    status_line, *header_lines = head.split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    status = int(status_line.split()[1])
    if headers.get("transfer-encoding") == "chunked":
        chunks = []
        while True:
            size = int(_read_until(sock, buf, b"\r\n"), 16)
            if size == 0:
                assert _read_exact(sock, buf, 2) == b"\r\n"  # proper `0\r\n\r\n` terminator
                return status, headers, chunks
            chunks.append(_read_exact(sock, buf, size))
            assert _read_exact(sock, buf, 2) == b"\r\n"
    n = int(headers.get("content-length", "0"))
    return status, headers, [_read_exact(sock, buf, n)] if method != "HEAD" else []


# ================================================================================================
# Basics, routing, errors
# ================================================================================================
def test_root_version_and_head(srv: FakeOllama, http: httpx.Client) -> None:
    r = http.get("/")
    assert (r.status_code, r.text) == (200, "Ollama is running")
    assert r.headers["content-type"].startswith("text/plain")
    h = http.head("/")
    assert h.status_code == 200 and h.content == b"" and h.headers["content-length"] == "17"
    assert http.get("/api/version").json() == {"version": "0.33.0"}
    assert http.head("/api/version").status_code == 200
    assert http.head("/api/tags").status_code == 200
    with FakeOllama(version="0.12.3").start() as other:
        assert httpx.get(other.url + "/api/version").json() == {"version": "0.12.3"}


def test_unknown_route_and_wrong_method(http: httpx.Client, client: ollama.Client) -> None:
    r = http.get("/api/nope")
    assert (r.status_code, r.text) == (404, "404 page not found")
    assert r.headers["content-type"].startswith("text/plain")
    assert http.get("/api/chat").status_code == 405
    assert http.post("/api/tags").status_code == 405
    assert http.post("/api/delete", json={"model": "x"}).status_code == 405
    with pytest.raises(ollama.ResponseError) as err:
        client._request_raw("GET", "/api/missing")
    assert (err.value.error, err.value.status_code) == ("404 page not found", 404)


def test_request_body_errors(http: httpx.Client) -> None:
    r = http.post("/api/chat", content=b"")
    assert (r.status_code, r.json()) == (400, {"error": "missing request body"})
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    r = http.post("/api/chat", content=b"{nope")
    assert r.status_code == 400 and r.json()["error"].startswith("invalid character 'n'")
    r = http.post("/api/chat", content=b'{"model": "llama3.2:1b"')
    assert (r.status_code, r.json()["error"]) == (400, "unexpected EOF")
    r = http.post("/api/chat", content=b"[1]")
    assert r.json()["error"] == "json: cannot unmarshal array into Go value of type api.ChatRequest"
    r = http.post("/api/chat", json={"messages": USER_HI})
    assert (r.status_code, r.json()) == (400, {"error": "model is required"})
    r = http.post("/api/chat", json={"model": "llama3.2:1b", "stream": "yes", "messages": USER_HI})
    assert r.status_code == 400 and "of type bool" in r.json()["error"]


def test_unknown_model_texts(client: ollama.Client, http: httpx.Client) -> None:
    cases = [
        (lambda: client.chat("nope", messages=USER_HI), "model 'nope' not found"),
        (lambda: client.generate("nope", "hi"), "model 'nope' not found"),
        (lambda: client.show("nope"), "model 'nope:latest' not found"),
        (lambda: client.delete("nope:1b"), "model 'nope:1b' not found"),
        (lambda: client.embed("nope", "hi"), 'model "nope" not found, try pulling it first'),
        (lambda: client.embeddings("nope", "hi"), 'model "nope" not found, try pulling it first'),
    ]
    for call, text in cases:
        with pytest.raises(ollama.ResponseError) as err:
            call()
        assert (err.value.error, err.value.status_code) == (text, 404)
    assert http.post("/api/show", json={}).json() == {"error": "model is required"}


def test_capability_errors(client: ollama.Client, http: httpx.Client) -> None:
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
    }
    expected = [
        (lambda: client.chat("gemma2:2b", messages=USER_HI, tools=[tool]),
         "registry.ollama.ai/library/gemma2:2b does not support tools"),
        (lambda: client.chat("gemma2", messages=USER_HI, tools=[tool]), "model 'gemma2' not found"),
        (lambda: client.chat("llama3.2:1b", messages=USER_HI, think=True),
         '"llama3.2:1b" does not support thinking'),
        (lambda: client.chat("nomic-embed-text", messages=USER_HI), '"nomic-embed-text" does not support chat'),
        (lambda: client.generate("nomic-embed-text", "hi"), '"nomic-embed-text" does not support generate'),
        (lambda: client.chat("gemma2:2b", messages=[{"role": "user", "content": "x", "images": [PNG]}]),
         "this model is missing data required for image input"),
    ]  # fmt: skip
    for call, text in expected:
        with pytest.raises(ollama.ResponseError) as err:
            call()
        assert err.value.error == text
    # think:false is always accepted; an unknown think value is a 400
    assert client.chat("llama3.2:1b", messages=USER_HI, think=False).message.content
    r = http.post("/api/chat", json={"model": "qwen3:1.7b", "messages": USER_HI, "think": "maybe"})
    assert r.status_code == 400 and r.json()["error"].startswith("invalid think value")
    r = http.post(
        "/api/chat",
        json={
            "model": "llava-phi3:3.8b",
            "stream": False,
            "messages": [{"role": "user", "content": "x", "images": ["ab!d"]}],
        },
    )
    assert (r.status_code, r.json()) == (400, {"error": "illegal base64 data at input byte 2"})


def test_host_check(srv: FakeOllama, http: httpx.Client) -> None:
    srv.host_check = True
    for host, status in [("evil.example.com", 403), ("evil.example.com:11434", 403), ("localhost", 200),
                         ("127.0.0.1:11434", 200), ("pi.local", 200), ("box.internal:80", 200),
                         ("192.168.1.20:11434", 200), ("8.8.8.8", 403)]:  # fmt: skip
        r = http.get("/api/version", headers={"Host": host})
        assert r.status_code == status, host
        if status == 403:
            assert r.content == b"" and r.headers["content-length"] == "0"
    with pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=srv.url, headers={"Host": "tunnel.example.org"}).list()
    assert (err.value.status_code, err.value.error) == (403, "")


# ================================================================================================
# Models: tags, show, ps, load/unload
# ================================================================================================
def test_tags_list(client: ollama.Client, http: httpx.Client) -> None:
    listed = client.list().models
    assert listed[0].model == "llama3.2:1b"
    assert {m.model for m in listed} == {m.name for m in DEFAULT_MODELS}
    dates = [m.modified_at for m in listed]
    assert dates == sorted(dates, reverse=True)
    raw = http.get("/api/tags").json()["models"]
    for item in raw:
        assert set(item) == {"name", "model", "modified_at", "size", "digest", "details"}
        assert len(item["digest"]) == 64 and int(item["digest"], 16) >= 0
        assert set(item["details"]) == {
            "parent_model",
            "format",
            "family",
            "families",
            "parameter_size",
            "quantization_level",
        }
    assert next(i for i in raw if i["name"] == "llava-phi3:3.8b")["details"]["families"] == [
        "llama",
        "clip",
    ]
    assert raw[0]["modified_at"] == "2025-05-04T17:37:44.706015396-07:00"
    # deterministic across instances
    with FakeOllama().start() as other:
        assert httpx.get(other.url + "/api/tags").json()["models"] == raw


def test_catalogues_of_other_servers() -> None:
    """What tests/fake_ollama/catalogues.py serves: cloud entries with their remote fields, an
    embedding-only model first that only /api/show gives away, all-zero digests."""
    from tests.fake_ollama.catalogues import (
        ZERO_DIGEST,
        cloud_entry,
        embedding_listed_first,
        size_zero_entry,
        without_digests,
    )

    models = [cloud_entry(), size_zero_entry(), *embedding_listed_first()]
    with FakeOllama(models=models).start() as srv:
        raw = httpx.get(srv.url + "/api/tags").json()["models"]
        assert [m["name"] for m in raw[:4]] == [
            "gpt-oss:120b-cloud",
            "openai/gpt-4o:latest",
            "all-minilm:latest",
            "llama3.2:1b",
        ]
        assert (raw[0]["remote_host"], raw[0]["remote_model"]) == (
            "https://ollama.com:443",
            "gpt-oss:120b",
        )
        assert raw[1]["size"] == 0 and "remote_host" not in raw[1]
        assert "remote_host" not in raw[3] and raw[2]["details"]["family"] == ""
        client = ollama.Client(host=srv.url)
        assert client.list().models[0].model == "gpt-oss:120b-cloud"  # the library still parses it
        assert client.show("all-minilm").capabilities == ["embedding"]
        for name in ("gpt-oss:120b-cloud", "openai/gpt-4o"):
            with pytest.raises(ollama.ResponseError) as err:
                client.chat(name, messages=[{"role": "user", "content": "hi"}])
            assert err.value.status_code == 500
        with pytest.raises(ollama.ResponseError) as err:
            client.chat("all-minilm", messages=[{"role": "user", "content": "hi"}])
        assert err.value.error == '"all-minilm" does not support chat'
    with FakeOllama(models=without_digests()).start() as srv:
        raw = httpx.get(srv.url + "/api/tags").json()["models"]
        assert {m["digest"] for m in raw} == {ZERO_DIGEST}


def test_capabilities_can_be_listed_in_tags() -> None:
    listed = FakeModel("mine", 123, capabilities=["completion", "vision"], list_capabilities=True)
    with FakeOllama(models=[listed, FakeModel("other", 5)]).start() as srv:
        raw = {m["name"]: m for m in httpx.get(srv.url + "/api/tags").json()["models"]}
        assert raw["mine:latest"]["capabilities"] == ["completion", "vision"]
        assert "capabilities" not in raw["other:latest"]


def test_tags_empty_and_custom_models() -> None:
    with FakeOllama(models=[]).start() as srv:
        assert httpx.get(srv.url + "/api/tags").json() == {"models": []}
        assert httpx.get(srv.url + "/api/ps").json() == {"models": []}
        srv.add_model(FakeModel("mine", 123, modified_at="2030-01-01T00:00:00Z"))
        assert [m.model for m in ollama.Client(host=srv.url).list().models] == ["mine:latest"]


def test_show(client: ollama.Client, http: httpx.Client) -> None:
    s = client.show("llama3.2:1b")
    assert s.modelinfo["llama.context_length"] == 131072
    assert s.modelinfo["general.architecture"] == "llama"
    assert s.capabilities == ["completion", "tools"]
    assert s.details.quantization_level == "Q8_0" and s.template and s.parameters
    assert "FROM" in s.modelfile
    emb = client.show("nomic-embed-text")
    assert emb.modelinfo["nomic-bert.embedding_length"] == 768
    assert emb.capabilities == ["embedding"]
    assert client.show("QWEN3:1.7B").capabilities == ["completion", "tools", "thinking"]
    assert "model_info" in http.post("/api/show", json={"model": "gemma2:2b"}).json()
    assert http.post("/api/show", json={"name": "gemma2:2b"}).status_code == 200  # legacy field


def test_load_unload_and_ps(srv: FakeOllama, client: ollama.Client, http: httpx.Client) -> None:
    assert client.ps().models == []
    r = http.post("/api/chat", json={"model": "llama3.2:1b", "messages": []})
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["done_reason"] == "load" and body["message"] == {"role": "assistant", "content": ""}
    ps = client.ps().models
    assert [m.model for m in ps] == ["llama3.2:1b"]
    assert ps[0].size_vram == 0 and ps[0].context_length == 4096 and ps[0].size == 1_321_098_329
    left = ps[0].expires_at.timestamp() - time.time()
    assert 290 < left <= 301
    assert srv.is_loaded("llama3.2:1b")

    client.chat("gemma2:2b", messages=[], keep_alive="1h30m", options={"num_ctx": 8192})
    ps = {m.model: m for m in client.ps().models}
    assert 5390 < ps["gemma2:2b"].expires_at.timestamp() - time.time() <= 5401
    assert ps["gemma2:2b"].context_length == 8192
    client.chat("phi3.5", messages=[], keep_alive=-1)
    ps = client.ps().models
    assert (
        ps[0].model == "phi3.5:latest" and ps[0].expires_at.year > 2300
    )  # "forever", sorted first
    assert math.isinf(srv.loaded["phi3.5:latest"])

    r = client.chat("llama3.2:1b", messages=[], keep_alive=0)
    assert r.done_reason == "unload"
    assert "llama3.2:1b" not in {m.model for m in client.ps().models}
    g = client.generate("gemma2:2b", "", keep_alive=0)
    assert g.done_reason == "unload"
    assert client.generate("llama3.2:3b", "").done_reason == "load"

    # keep_alive 0 on a real chat: loaded while answering, gone right after
    client.chat("llama3.2:3b", messages=USER_HI, keep_alive=0)
    assert "llama3.2:3b" not in srv.loaded
    # expiry is honoured
    srv.loaded["gemma2:2b"] = time.time() - 1
    assert "gemma2:2b" not in {m.model for m in client.ps().models}
    r = http.post("/api/chat", json={"model": "llama3.2:1b", "messages": [], "keep_alive": "300"})
    assert (r.status_code, r.json()["error"]) == (400, 'time: missing unit in duration "300"')


def test_parse_keep_alive() -> None:
    assert parse_keep_alive(None) == 300
    assert parse_keep_alive(10) == 10 and parse_keep_alive(2.5) == 2.5
    assert parse_keep_alive("5m") == 300 and parse_keep_alive("1h30m") == 5400
    assert parse_keep_alive("1.5h") == 5400 and parse_keep_alive("300ms") == pytest.approx(0.3)
    assert parse_keep_alive("0") == 0 and parse_keep_alive(0) == 0
    assert math.isinf(parse_keep_alive(-1)) and math.isinf(parse_keep_alive("-5m"))
    for bad in ("5x", "abc", "", "1h 2m"):
        with pytest.raises(ValueError):
            parse_keep_alive(bad)


# ================================================================================================
# Chat / generate: default behaviour, wire format, scripting, metrics
# ================================================================================================
def test_chat_default_reply_follows_history(client: ollama.Client) -> None:
    r = client.chat("llama3.2:1b", messages=USER_HI)
    assert r.message.content == "You said: hi. This is reply number 1."
    history = [*USER_HI, r.message, {"role": "user", "content": "tell me more"}]
    r2 = client.chat("llama3.2:1b", messages=history)
    assert r2.message.content == "You said: tell me more. This is reply number 2."
    assert r2.done and r2.done_reason == "stop"


def test_chat_stream_wire_format(srv: FakeOllama, http: httpx.Client) -> None:
    srv.script(Reply(text="Hello brave new world"))
    with http.stream("POST", "/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI}) as r:
        assert r.headers["content-type"] == "application/x-ndjson"
        assert r.headers["transfer-encoding"] == "chunked" and "content-length" not in r.headers
        r.read()
    lines = lines_of(r)
    assert [ln["message"]["content"] for ln in lines] == ["Hello", " brave", " new", " world", ""]
    for ln in lines:
        assert ln["message"]["role"] == "assistant" and ln["model"] == "llama3.2:1b"
        assert ln["created_at"].endswith("Z")
    assert all(not ln["done"] and "eval_count" not in ln for ln in lines[:-1])
    final = lines[-1]
    assert final["done"] and final["done_reason"] == "stop"
    metric_keys = {
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    }
    assert metric_keys <= set(final) and all(isinstance(final[k], int) for k in metric_keys)
    assert {k: final[k] for k in metric_keys} == {
        k: v for k, v in srv.last_stats.items() if k != "model"
    }
    assert srv.last_stats["model"] == "llama3.2:1b"


def test_chunk_framing_and_keep_alive_on_raw_socket(srv: FakeOllama) -> None:
    srv.script(Reply(text="one two three"))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        buf = bytearray()
        status, headers, chunks = raw_request(
            sock, buf, "POST", "/api/chat", {"model": "llama3.2:1b", "messages": USER_HI}
        )
        assert status == 200 and headers["transfer-encoding"] == "chunked"
        # one compact JSON object + exactly one "\n" per chunk
        for chunk in chunks:
            assert chunk.endswith(b"\n") and chunk.count(b"\n") == 1
            assert (
                json.dumps(json.loads(chunk), separators=(",", ":"), ensure_ascii=False).encode()
                + b"\n"
                == chunk
            )
        assert len(chunks) == 4
        # the same connection serves the next requests (keep-alive)
        status, headers, body = raw_request(sock, buf, "GET", "/api/version")
        assert status == 200 and headers["content-length"] == str(len(body[0]))
        status, headers, body = raw_request(
            sock, buf, "POST", "/api/chat", {"model": "x", "messages": USER_HI}
        )
        assert status == 404 and json.loads(body[0]) == {"error": "model 'x' not found"}
        status, headers, body = raw_request(
            sock, buf, "DELETE", "/api/delete", {"model": "gemma2:2b"}
        )
        assert status == 200 and body == [b""] and headers["content-length"] == "0"
        status, _, body = raw_request(
            sock,
            buf,
            "POST",
            "/api/chat",
            {"model": "llama3.2:1b", "messages": USER_HI, "stream": False},
        )
        assert status == 200 and json.loads(body[0])["done"] is True


def test_scripted_replies_fifo_and_model_filter(srv: FakeOllama, client: ollama.Client) -> None:
    srv.script(
        Reply(text="for gemma", model="gemma2:2b"), Reply(text="first"), Reply(text="second")
    )
    assert client.chat("llama3.2:1b", messages=USER_HI).message.content == "first"
    assert client.chat("gemma2:2b", messages=USER_HI).message.content == "for gemma"
    assert client.generate("llama3.2:1b", "x").response == "second"
    assert client.chat("llama3.2:1b", messages=USER_HI).message.content.startswith("You said")
    srv.default_reply = Reply(text="always")
    assert client.chat("llama3.2:1b", messages=USER_HI).message.content == "always"
    assert client.chat("llama3.2:1b", messages=USER_HI).message.content == "always"
    srv.default_reply = Reply(rate=1000)  # no content given: the built-in answer, paced
    assert client.chat("llama3.2:1b", messages=USER_HI).message.content.startswith("You said: hi")
    srv.script(Reply(tokens=["Hel", "lo", "!"]))
    parts = [p.message.content for p in client.chat("llama3.2:1b", messages=USER_HI, stream=True)]
    assert parts == ["Hel", "lo", "!", ""]
    with pytest.raises(TypeError):
        srv.script({"text": "not a Reply"})  # type: ignore[arg-type]
    srv.default_reply = Reply(text="gemma only", model="gemma2:2b")
    assert client.chat("gemma2:2b", messages=USER_HI).message.content == "gemma only"
    assert client.chat("llama3.2:1b", messages=USER_HI).message.content.startswith("You said")
    assert srv.queued == []


def test_tokenize_and_generated_tokens() -> None:
    for text in ["Hello world", "  lead", "a\n\nb  c\n", "", "trailing  ", "naïve café ☕"]:
        assert "".join(tokenize(text)) == text
    assert tokenize("Hello world") == ["Hello", " world"]
    assert tokenize("a\nb") == ["a", "\nb"]
    toks = generated_tokens(130)
    assert len(toks) == 130 and toks == generated_tokens(130)
    text = "".join(toks)
    assert "\n\n" in text and text.count("\n") >= 10 and len(set(toks)) > 30


def test_n_tokens_and_metrics_arithmetic(srv: FakeOllama, client: ollama.Client) -> None:
    model = srv.models["llama3.2:1b"]
    srv.script(Reply(n_tokens=120), Reply(n_tokens=120))
    prompt = "one two three four five six seven eight nine ten"
    cold = client.chat("llama3.2:1b", messages=[{"role": "user", "content": prompt}])
    warm = client.chat("llama3.2:1b", messages=[{"role": "user", "content": prompt}])
    for r in (cold, warm):
        assert r.eval_count == 120 and r.prompt_eval_count == 13  # 10 words x 1.3
        assert r.eval_duration == pytest.approx(120 / model.eval_rate * 1e9, rel=0.06)
        assert r.prompt_eval_duration == pytest.approx(13 / model.prompt_eval_rate * 1e9, rel=0.06)
        rest = r.total_duration - r.load_duration - r.prompt_eval_duration - r.eval_duration
        assert 1_000_000 <= rest <= 10_000_000  # a few ms of overhead
    assert cold.load_duration == pytest.approx(model.load_ns, rel=0.06)
    assert warm.load_duration == pytest.approx(20_000_000, rel=0.06)
    assert cold.eval_duration != warm.eval_duration  # per-request variation
    assert [s["eval_count"] for s in srv.stats_log] == [120, 120]
    assert (
        srv.stats_log[-1] == srv.last_stats
        and srv.last_stats["eval_duration"] == warm.eval_duration
    )
    srv.script(Reply(text="short", eval_count=999))
    assert client.chat("llama3.2:1b", messages=USER_HI).eval_count == 999


def test_options_num_predict_and_stop(client: ollama.Client, srv: FakeOllama) -> None:
    srv.script(Reply(text="a b c d e f"), Reply(text="alpha beta STOP gamma"))
    r = client.chat("llama3.2:1b", messages=USER_HI, options={"num_predict": 3})
    assert (r.message.content, r.done_reason, r.eval_count) == ("a b c", "length", 3)
    r = client.chat("llama3.2:1b", messages=USER_HI, options={"stop": ["STOP"]})
    assert (r.message.content, r.done_reason) == ("alpha beta ", "stop")


def test_generate(srv: FakeOllama, client: ollama.Client, http: httpx.Client) -> None:
    parts = list(client.generate("llama3.2:1b", "Why is the sky blue?", stream=True))
    assert (
        "".join(p.response for p in parts)
        == "You said: Why is the sky blue?. This is reply number 1."
    )
    assert (
        parts[-1].done and parts[-1].context and all(isinstance(t, int) for t in parts[-1].context)
    )
    assert all(p.context is None for p in parts[:-1])
    whole = client.generate("llama3.2:1b", "hi", raw=True)
    assert whole.done and whole.context is None and whole.response
    assert client.generate("llama3.2:1b", "hi", system="be brief").context
    r = http.post(
        "/api/generate", json={"model": "llama3.2:1b", "prompt": "x", "raw": True, "system": "s"}
    )
    assert (r.status_code, r.json()) == (
        400,
        {"error": "raw mode does not support template, system, or context"},
    )
    r = http.post("/api/generate", json={"model": "llama3.2:1b", "prompt": "x", "format": "xml"})
    assert r.status_code == 500 and r.json()["error"].startswith('invalid format: "xml"')
    r = http.post("/api/generate", json={"model": "llama3.2:1b", "prompt": "x", "suffix": "y"})
    assert r.json() == {"error": '"llama3.2:1b" does not support insert'}
    srv.script(Reply(text="t", thinking="hmm"))
    g = client.generate("qwen3:1.7b", "x")
    assert (g.thinking, g.response) == ("hmm", "t")


# ================================================================================================
# Faults
# ================================================================================================
def test_error_after_native(srv: FakeOllama, client: ollama.Client, http: httpx.Client) -> None:
    srv.script(Reply(text="a b c d", error_after=2, error_message="boom"))
    got = []
    with pytest.raises(ollama.ResponseError) as err:
        for p in client.chat("llama3.2:1b", messages=USER_HI, stream=True):
            got.append(p.message.content)
    assert got == ["a", " b"] and (err.value.error, err.value.status_code) == ("boom", -1)
    srv.script(Reply(text="a b c d", error_after=1))
    r = http.post("/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI})
    lines = lines_of(r)
    assert r.status_code == 200 and lines[-1] == {
        "error": "an error was encountered while running the model"
    }
    assert not any(ln.get("done") for ln in lines)
    assert srv.last_stats is None  # no final chunk, no stats
    # nothing written yet / not streaming: an ordinary status code
    srv.script(Reply(text="a b", error_after=0), Reply(text="a b", error_after=1))
    for body in ({"stream": True}, {"stream": False}):
        r = http.post("/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI, **body})
        assert (r.status_code, r.json()) == (
            500,
            {"error": "an error was encountered while running the model"},
        )


def test_drop_after_cuts_the_socket(
    srv: FakeOllama, http: httpx.Client, client: ollama.Client
) -> None:
    srv.script(Reply(text="a b c d e", drop_after=2))
    got = []
    with (
        pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
        http.stream("POST", "/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI}) as r,
    ):
        for line in r.iter_lines():
            got.append(json.loads(line)["message"]["content"])
    assert got == ["a", " b"]
    srv.script(Reply(text="a b", drop_after=0))
    with pytest.raises(httpx.RemoteProtocolError):
        client.chat("llama3.2:1b", messages=USER_HI)
    assert client.chat("llama3.2:1b", messages=USER_HI).done  # the server is fine afterwards


def test_scripted_status_and_body(
    srv: FakeOllama, client: ollama.Client, oai: openai.OpenAI
) -> None:
    srv.script(
        Reply(status=503, body="<html><body>Bad gateway</body></html>", content_type="text/html")
    )
    with pytest.raises(ollama.ResponseError) as err:
        client.chat("llama3.2:1b", messages=USER_HI)
    assert err.value.status_code == 503 and err.value.error.startswith("<html>")
    srv.script(Reply(status=429))
    with pytest.raises(ollama.ResponseError) as err:
        client.chat("llama3.2:1b", messages=USER_HI, stream=True).__next__()
    assert (err.value.status_code, err.value.error) == (
        429,
        "an error was encountered while running the model",
    )
    srv.script(Reply(status=200, body="not json at all", content_type="text/plain"))
    r = httpx.post(srv.url + "/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI})
    assert (r.status_code, r.text) == (200, "not json at all")
    srv.script(Reply(status=500, error_message="kaput"))
    with pytest.raises(openai.InternalServerError) as oerr:
        oai.chat.completions.create(model="llama3.2:1b", messages=USER_HI)
    assert oerr.value.body == {"message": "kaput", "type": "api_error", "param": None, "code": None}


def test_first_byte_delay_times_out_a_short_read_timeout(srv: FakeOllama) -> None:
    srv.script(Reply(text="late", first_byte_delay=3.0))
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            srv.url + "/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI}, timeout=0.3
        )
    assert time.monotonic() - start < 2.0


def test_rate_paces_chunks(srv: FakeOllama, client: ollama.Client) -> None:
    srv.script(Reply(text="a b c d e f g h i j", rate=100))
    stamps = []
    start = time.monotonic()
    for _ in client.chat("llama3.2:1b", messages=USER_HI, stream=True):
        stamps.append(time.monotonic() - start)
    assert len(stamps) == 11 and stamps[-1] >= 0.095  # 10 tokens at 100 tok/s


def test_client_disconnect_is_recorded(srv: FakeOllama, http: httpx.Client) -> None:
    srv.script(Reply(n_tokens=500, rate=200))
    with http.stream("POST", "/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI}) as r:
        it = r.iter_lines()
        next(it), next(it)
    assert srv.wait_for(lambda: srv.disconnects == ["/api/chat"])
    assert srv.last_stats is None


def test_stop_is_prompt_with_a_client_in_a_slow_stream() -> None:
    srv = FakeOllama().start()
    srv.script(Reply(n_tokens=1000, rate=2))
    got: list[str] = []
    errors: list[BaseException] = []
    started = threading.Event()

    def reader() -> None:
        try:
            with httpx.stream(
                "POST",
                srv.url + "/api/chat",
                json={"model": "llama3.2:1b", "messages": USER_HI},
                timeout=10,
            ) as r:
                for line in r.iter_lines():
                    got.append(line)
                    started.set()
        except httpx.HTTPError as exc:
            errors.append(exc)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    assert started.wait(5)
    begin = time.monotonic()
    srv.stop()
    assert time.monotonic() - begin < 1.5
    t.join(5)
    assert not t.is_alive() and errors  # the client saw the cut, not a hang
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + "/")


# ================================================================================================
# Structured output, images, tools, thinking
# ================================================================================================
class Capital(BaseModel):
    city: str
    latitude: float
    longitude: float
    country: str


def test_json_schema_answers(client: ollama.Client, oai: openai.OpenAI) -> None:
    r = client.chat(
        "llama3.2:1b",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        format=Capital.model_json_schema(),
    )
    cap = Capital.model_validate_json(r.message.content)
    france = COUNTRIES["France"]
    assert (cap.city, cap.latitude, cap.longitude, cap.country) == (
        "Paris",
        france["lat"],
        france["lon"],
        "France",
    )
    r = client.generate("llama3.2:1b", "Capital of chile please", format="json")
    assert json.loads(r.response) == {
        "city": "Santiago",
        "lat": -33.4489,
        "lon": -70.6693,
        "country": "Chile",
    }
    r = client.chat(
        "llama3.2:1b", messages=[{"role": "user", "content": "nothing known here"}], format="json"
    )
    assert "answer" in json.loads(r.message.content)

    class Nested(BaseModel):
        place: Capital
        tags: list[str]

    r = client.chat(
        "llama3.2:1b",
        messages=[{"role": "user", "content": "I flew to bogota"}],
        format=Nested.model_json_schema(),
    )
    nested = Nested.model_validate_json(r.message.content)
    assert nested.place.city == "Bogotá" and nested.place.latitude == 4.7110

    o = oai.chat.completions.create(
        model="llama3.2:1b",
        messages=[{"role": "user", "content": "Tell me about the USA"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "c", "schema": Capital.model_json_schema()},
        },
    )
    assert Capital.model_validate_json(o.choices[0].message.content).city == "Washington, D.C."
    o = oai.chat.completions.create(
        model="llama3.2:1b",
        messages=[{"role": "user", "content": "japan"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(o.choices[0].message.content)["city"] == "Tokyo"
    # a schema pasted into the prompt (instructor's JSON mode) is honoured with format "json"
    prompt = f"Answer as JSON matching this schema: {json.dumps(Capital.model_json_schema())}. Country: Germany"
    r = client.chat("llama3.2:1b", messages=[{"role": "user", "content": prompt}], format="json")
    assert Capital.model_validate_json(r.message.content).city == "Berlin"


def test_image_to_city_flow(srv: FakeOllama, client: ollama.Client, oai: openai.OpenAI) -> None:
    msgs: list[Any] = [{"role": "user", "content": "Describe this photo", "images": [PNG]}]
    r = client.chat("llava-phi3:3.8b", messages=msgs)
    assert r.message.content == IMAGE_DESCRIPTION
    assert srv.requests_to("/api/chat")[-1].json["messages"][0]["images"] == [PNG]
    msgs += [r.message, {"role": "user", "content": "Which city is that? Answer in JSON."}]
    r = client.chat("llama3.2:1b", messages=msgs[1:], format=Capital.model_json_schema())
    cap = Capital.model_validate_json(r.message.content)
    assert (cap.city, cap.latitude, cap.longitude, cap.country) == (
        "Cusco",
        -13.5320,
        -71.9675,
        "Peru",
    )
    assert (
        client.generate("llava-phi3:3.8b", "what is it?", images=[b"raw bytes"]).response
        == IMAGE_DESCRIPTION
    )
    o = oai.chat.completions.create(model="llava-phi3:3.8b", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}])  # fmt: skip
    assert o.choices[0].message.content == IMAGE_DESCRIPTION
    with pytest.raises(openai.BadRequestError):
        oai.chat.completions.create(model="llava-phi3:3.8b", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]}])  # fmt: skip


DISTANCE_TOOL = {
    "type": "function",
    "function": {
        "name": "distance",
        "description": "Great-circle distance between two cities",
        "parameters": {"type": "object", "required": ["a", "b"],
                       "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
    },
}  # fmt: skip
CALL = {"name": "distance", "arguments": {"a": "Paris", "b": "Lima"}}


def test_tool_calls_native(srv: FakeOllama, client: ollama.Client, http: httpx.Client) -> None:
    srv.script(Reply(tool_calls=[CALL]))
    r = client.chat("llama3.2:1b", messages=USER_HI, tools=[DISTANCE_TOOL])
    call = r.message.tool_calls[0]
    assert (call.function.name, dict(call.function.arguments)) == (
        "distance",
        {"a": "Paris", "b": "Lima"},
    )
    assert r.done_reason == "stop"
    srv.script(
        Reply(
            text="Let me check.",
            tool_calls=[
                CALL,
                {"function": {"name": "distance", "arguments": {"a": "Rome", "b": "Tokyo"}}},
            ],
        )
    )
    lines = lines_of(
        http.post(
            "/api/chat",
            json={"model": "llama3.2:1b", "messages": USER_HI, "tools": [DISTANCE_TOOL]},
        )
    )
    calls = next(ln for ln in lines if ln["message"].get("tool_calls"))["message"]["tool_calls"]
    assert [c["function"]["index"] for c in calls] == [0, 1]
    assert all(c["id"].startswith("call_") and len(c["id"]) == 13 for c in calls)
    assert isinstance(calls[0]["function"]["arguments"], dict)
    assert "".join(ln["message"]["content"] for ln in lines) == "Let me check."
    # the round trip: the tool result arrives, and the default answer reports it
    history = [
        *USER_HI,
        r.message,
        {"role": "tool", "tool_name": "distance", "content": "10,200 km"},
    ]
    final = client.chat("llama3.2:1b", messages=history, tools=[DISTANCE_TOOL])
    assert final.message.content == "The distance tool returned: 10,200 km. This is reply number 2."
    sent = srv.requests_to("/api/chat")[-1].json
    assert sent["messages"][1]["tool_calls"][0]["function"]["name"] == "distance"


def test_tool_calls_openai(srv: FakeOllama, oai: openai.OpenAI) -> None:
    srv.script(Reply(tool_calls=[CALL]))
    o = oai.chat.completions.create(model="llama3.2:1b", messages=USER_HI, tools=[DISTANCE_TOOL])
    choice = o.choices[0]
    assert choice.finish_reason == "tool_calls"
    tc = choice.message.tool_calls[0]
    assert tc.type == "function" and tc.id.startswith("call_")
    assert (
        isinstance(tc.function.arguments, str)
        and json.loads(tc.function.arguments) == CALL["arguments"]
    )
    srv.script(Reply(tool_calls=[CALL]))
    chunks = list(
        oai.chat.completions.create(
            model="llama3.2:1b", messages=USER_HI, tools=[DISTANCE_TOOL], stream=True
        )
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert json.loads(deltas[0].tool_calls[0].function.arguments) == CALL["arguments"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    # tool results come back with tool_call_id; the fake resolves the tool's name
    history = [
        *USER_HI,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": tc.id, "content": "10,200 km"},
    ]
    o = oai.chat.completions.create(model="llama3.2:1b", messages=history, tools=[DISTANCE_TOOL])
    assert o.choices[0].message.content.startswith("The distance tool returned: 10,200 km")
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gemma2:2b", messages=USER_HI, tools=[DISTANCE_TOOL])
    assert (
        err.value.body["message"] == "registry.ollama.ai/library/gemma2:2b does not support tools"
    )


def test_thinking(srv: FakeOllama, client: ollama.Client, http: httpx.Client) -> None:
    parts = list(
        client.chat("qwen3:1.7b", messages=[{"role": "user", "content": "why?"}], stream=True)
    )
    thinking = [p for p in parts if p.message.thinking]
    assert thinking and all(p.message.content == "" for p in thinking)
    first_content = next(i for i, p in enumerate(parts) if p.message.content)
    assert first_content > parts.index(thinking[-1])  # thinking streams first
    whole = client.chat("qwen3:1.7b", messages=USER_HI)
    assert whole.message.thinking and whole.message.content.startswith("You said")
    off = client.chat("qwen3:1.7b", messages=USER_HI, think=False)
    assert off.message.thinking is None
    srv.script(Reply(text="42", thinking="Let me think about it"))
    r = client.chat("qwen3:1.7b", messages=USER_HI, think="high")
    assert (r.message.thinking, r.message.content) == ("Let me think about it", "42")
    # /v1: reasoning arrives as delta.reasoning
    r = http.post(
        "/v1/chat/completions", json={"model": "qwen3:1.7b", "messages": USER_HI, "stream": True}
    )
    events = [json.loads(e) for e in sse_events(r)[:-1]]
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert deltas[0]["role"] == "assistant" and "reasoning" in deltas[0]
    assert any("content" in d for d in deltas)
    r = http.post(
        "/v1/chat/completions",
        json={"model": "qwen3:1.7b", "messages": USER_HI, "reasoning_effort": "none"},
    )
    assert "reasoning" not in r.json()["choices"][0]["message"]


# ================================================================================================
# OpenAI-compatible endpoints
# ================================================================================================
def test_openai_chat(srv: FakeOllama, oai: openai.OpenAI) -> None:
    o = oai.chat.completions.create(
        model="llama3.2:1b", messages=[{"role": "system", "content": "be kind"}, *USER_HI]
    )
    assert o.object == "chat.completion" and o.id.startswith("chatcmpl-")
    assert o.choices[0].message.content == "You said: hi. This is reply number 1."
    assert o.choices[0].finish_reason == "stop" and o.system_fingerprint == "fp_ollama"
    assert o.usage.prompt_tokens == srv.last_stats["prompt_eval_count"]
    assert o.usage.total_tokens == o.usage.prompt_tokens + o.usage.completion_tokens
    rec = srv.requests_to("/v1/chat/completions")[-1]
    assert rec.headers["authorization"] == "Bearer sk-test" and rec.json["model"] == "llama3.2:1b"
    srv.script(Reply(text="a b c d", rate=500))
    stream = oai.chat.completions.create(
        model="llama3.2:1b", messages=USER_HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "a b c d"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    srv.script(Reply(text="x y z"))
    o = oai.chat.completions.create(model="llama3.2:1b", messages=USER_HI, max_tokens=2)
    assert (o.choices[0].message.content, o.choices[0].finish_reason) == ("x y", "length")


def test_openai_sse_wire_format(srv: FakeOllama, http: httpx.Client) -> None:
    srv.script(Reply(text="Hel lo"))
    r = http.post(
        "/v1/chat/completions",
        json={
            "model": "llama3.2:1b",
            "messages": USER_HI,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert (
        r.headers["content-type"] == "text/event-stream"
        and r.headers["transfer-encoding"] == "chunked"
    )
    events = sse_events(r)
    assert events[-1] == "[DONE]"
    objs = [json.loads(e) for e in events[:-1]]
    assert len({o["id"] for o in objs}) == 1 and len({o["created"] for o in objs}) == 1
    assert [o["choices"][0]["delta"] for o in objs[:3]] == [
        {"role": "assistant", "content": "Hel"},
        {"content": " lo"},
        {},
    ]
    assert [o["choices"][0]["finish_reason"] for o in objs[:3]] == [None, None, "stop"]
    assert objs[3]["choices"] == [] and objs[3]["usage"] == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "total_tokens": 3,
    }
    assert all(o["object"] == "chat.completion.chunk" for o in objs)
    # stream defaults to false on /v1
    r = http.post("/v1/chat/completions", json={"model": "llama3.2:1b", "messages": USER_HI})
    assert (
        r.headers["content-type"].startswith("application/json")
        and r.json()["object"] == "chat.completion"
    )


def test_openai_errors_and_faults(srv: FakeOllama, oai: openai.OpenAI, http: httpx.Client) -> None:
    with pytest.raises(openai.NotFoundError) as nf:
        oai.chat.completions.create(model="nope", messages=USER_HI)
    assert nf.value.body == {
        "message": "model 'nope' not found",
        "type": "not_found_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError) as br:
        oai.chat.completions.create(model="llama3.2:1b", messages=[])
    assert br.value.body["message"] == "[] is too short - 'messages'"
    r = http.post("/v1/chat/completions", content=b"{bad")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    srv.script(Reply(text="a b c d", error_after=2, error_message="oops"))
    got = []
    with pytest.raises(openai.APIError) as api_err:
        for c in oai.chat.completions.create(model="llama3.2:1b", messages=USER_HI, stream=True):
            got.append(c.choices[0].delta.content)
    assert got == ["a", " b"] and api_err.value.message == "oops"
    srv.script(Reply(text="a b c", error_after=1))
    events = sse_events(
        http.post(
            "/v1/chat/completions",
            json={"model": "llama3.2:1b", "messages": USER_HI, "stream": True},
        )
    )
    assert (
        json.loads(events[-1])["error"]["message"]
        == "an error was encountered while running the model"
    )
    assert "[DONE]" not in events
    srv.script(Reply(text="a b c d", drop_after=1))
    with pytest.raises(Exception) as dropped:  # openai lets the transport error through
        list(oai.chat.completions.create(model="llama3.2:1b", messages=USER_HI, stream=True))
    assert "incomplete chunked read" in str(dropped.value) or "closed" in str(dropped.value)


def test_openai_models(oai: openai.OpenAI) -> None:
    ids = [m.id for m in oai.models.list()]
    assert ids[0] == "llama3.2:1b" and set(ids) == {m.name for m in DEFAULT_MODELS}
    m = oai.models.retrieve("qwen3:1.7b")
    assert (m.id, m.owned_by, m.object) == (
        "qwen3:1.7b",
        "library",
        "model",
    ) and m.created > 1_700_000_000
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("nope")


def test_openai_embeddings(
    srv: FakeOllama, oai: openai.OpenAI, client: ollama.Client, http: httpx.Client
) -> None:
    e = oai.embeddings.create(
        model="nomic-embed-text", input=["rivers in Peru", "tax forms"]
    )  # base64 on the wire
    assert [d.index for d in e.data] == [0, 1] and len(e.data[0].embedding) == 768
    native = client.embed("nomic-embed-text", ["rivers in Peru"]).embeddings[0]
    assert e.data[0].embedding == pytest.approx(native, abs=1e-6)
    assert srv.requests_to("/v1/embeddings")[-1].json["encoding_format"] == "base64"
    f = oai.embeddings.create(model="nomic-embed-text", input="x", encoding_format="float")
    assert isinstance(f.data[0].embedding, list) and e.usage.prompt_tokens > 0
    r = http.post("/v1/embeddings", json={"model": "nomic-embed-text", "input": [[1, 2]]})
    assert r.status_code == 400 and r.json()["error"]["message"] == "invalid input type"


# ================================================================================================
# Embeddings
# ================================================================================================
def test_embeddings(srv: FakeOllama, client: ollama.Client, http: httpx.Client) -> None:
    texts = ["The rivers of Peru flow through deep valleys",
             "A river flows through the valley in Peru",
             "Quarterly invoices and tax forms are due"]  # fmt: skip
    r = client.embed("nomic-embed-text", texts)
    a, b, c = r.embeddings
    assert len(a) == 768 and sum(x * x for x in a) == pytest.approx(1.0, abs=1e-5)
    assert cosine(a, b) > 0.6 and abs(cosine(a, c)) < 0.2 and cosine(a, b) > cosine(a, c) + 0.4
    assert r.prompt_eval_count and r.total_duration and r.load_duration
    assert client.embed("nomic-embed-text", texts[0]).embeddings == [a]  # deterministic, str input
    assert client.embed("nomic-embed-text", texts[0], dimensions=64).embeddings[0].__len__() == 64
    assert http.post("/api/embed", json={"model": "nomic-embed-text", "input": ""}).json() == {
        "model": "nomic-embed-text", "embeddings": []}  # fmt: skip
    empty = client.embed("nomic-embed-text", [""]).embeddings[0]
    assert any(empty) and all(math.isfinite(x) for x in empty)
    r = http.post("/api/embed", json={"model": "nomic-embed-text", "input": 42})
    assert (r.status_code, r.json()) == (400, {"error": "invalid input type"})
    legacy = client.embeddings("nomic-embed-text", texts[0]).embedding
    assert sum(x * x for x in legacy) > 2 and cosine(legacy, a) == pytest.approx(1.0, abs=1e-5)
    assert client.embeddings("nomic-embed-text", "").embedding == []
    # a chat model may embed too (Ollama allows it)
    assert len(client.embed("llama3.2:1b", "hi").embeddings[0]) == 2048
    assert srv.is_loaded("nomic-embed-text")


def test_embed_delay(srv: FakeOllama, client: ollama.Client) -> None:
    srv.embed_delay = 0.05
    start = time.monotonic()
    client.embed("nomic-embed-text", "x")
    assert time.monotonic() - start >= 0.05


# ================================================================================================
# Pull, delete, copy
# ================================================================================================
@pytest.mark.asyncio
async def test_pull_stream_async(srv: FakeOllama) -> None:
    client = ollama.AsyncClient(host=srv.url)
    parts = [p async for p in await client.pull("tinyllama", stream=True)]
    statuses = [p.status for p in parts]
    assert statuses[0] == "pulling manifest" and statuses[-3:] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    layers = [p for p in parts if p.digest]
    digests = list(dict.fromkeys(p.digest for p in layers))
    assert len(digests) == 3 and all(d.startswith("sha256:") and len(d) == 71 for d in digests)
    for d in digests:
        mine = [p for p in layers if p.digest == d]
        assert all(p.status == f"pulling {d[7:19]}" for p in mine)
        assert mine[0].completed is None and mine[0].total
        assert mine[-1].completed == mine[-1].total and len(mine) >= 2
    assert (
        sum(p.total for p in layers if p.completed is None) == srv.registry["tinyllama:latest"].size
    )
    listed = await client.list()
    assert listed.models[0].model == "tinyllama:latest"  # newest first
    assert (await client.pull("all-minilm")).status == "success"
    assert "all-minilm:latest" in srv.models
    emb = await client.embed("all-minilm", "hello")
    assert len(emb.embeddings[0]) == 384
    chat = await client.chat("tinyllama", messages=USER_HI)
    assert chat.message.content.startswith("You said")
    stream = await client.chat("llama3.2:1b", messages=USER_HI, stream=True)
    assert "".join([p.message.content async for p in stream]).startswith("You said: hi")
    await client._client.aclose()


def test_pull_raw_lines(http: httpx.Client) -> None:
    r = http.post("/api/pull", json={"model": "qwen2.5:0.5b"})
    assert r.headers["content-type"] == "application/x-ndjson"
    lines = lines_of(r)
    assert lines[0] == {"status": "pulling manifest"} and lines[-1] == {"status": "success"}
    first_layer = lines[1]
    assert set(first_layer) == {"status", "digest", "total"}


def test_pull_unknown_and_failures(
    srv: FakeOllama, client: ollama.Client, http: httpx.Client
) -> None:
    it = client.pull("does-not-exist", stream=True)
    assert next(it).status == "pulling manifest"
    with pytest.raises(ollama.ResponseError) as err:
        next(it)
    assert err.value.error == "pull model manifest: file does not exist"
    r = http.post("/api/pull", json={"model": "does-not-exist"})
    assert r.status_code == 200 and lines_of(r)[-1] == {
        "error": "pull model manifest: file does not exist"
    }
    with pytest.raises(ollama.ResponseError) as err:
        client.pull("does-not-exist")
    assert (err.value.status_code, err.value.error) == (
        500,
        "pull model manifest: file does not exist",
    )

    srv.pull_fail["tinyllama"] = "max retries exceeded: connection reset"
    seen = []
    with pytest.raises(ollama.ResponseError) as err:
        for p in client.pull("tinyllama", stream=True):
            seen.append(p)
    assert err.value.error == "max retries exceeded: connection reset"
    assert any(p.completed for p in seen) and "tinyllama:latest" not in srv.models
    with pytest.raises(ollama.ResponseError) as err:
        client.pull("tinyllama")
    assert err.value.status_code == 500 and "tinyllama:latest" not in srv.models
    assert http.post("/api/pull", json={}).json() == {"error": "invalid model name"}


def test_pull_cancel_records_disconnect(srv: FakeOllama, http: httpx.Client) -> None:
    srv.pull_delay = 0.05
    with http.stream("POST", "/api/pull", json={"model": "moondream"}) as r:
        it = r.iter_lines()
        assert json.loads(next(it))["status"] == "pulling manifest"
        next(it)
    assert srv.wait_for(lambda: "/api/pull" in srv.disconnects)
    assert "moondream:latest" not in srv.models


def test_delete_and_copy(srv: FakeOllama, client: ollama.Client, http: httpx.Client) -> None:
    client.chat("gemma2:2b", messages=[])
    assert client.delete("gemma2:2b").status == "success"
    assert "gemma2:2b" not in srv.models and "gemma2:2b" not in srv.loaded
    r = http.request("DELETE", "/api/delete", json={"model": "gemma2:2b"})
    assert (r.status_code, r.json()) == (404, {"error": "model 'gemma2:2b' not found"})
    assert client.copy("llama3.2:1b", "my-llama").status == "success"
    copied = srv.models["my-llama:latest"]
    assert copied.digest == srv.models["llama3.2:1b"].digest
    assert client.list().models[0].model == "my-llama:latest"
    with pytest.raises(ollama.ResponseError) as err:
        client.copy("nope", "x")
    assert err.value.status_code == 404


def test_reset_and_model_management(srv: FakeOllama, client: ollama.Client) -> None:
    srv.script(Reply(text="queued"))
    client.chat("llama3.2:1b", messages=[])
    client.delete("phi3.5")
    srv.add_model(FakeModel("extra:1b", 1000, capabilities=["completion"]))
    srv.remove_model("gemma2:2b")
    assert "extra:1b" in srv.models and "gemma2:2b" not in srv.models
    srv.reset()
    assert set(srv.models) == {m.name for m in DEFAULT_MODELS}
    assert (
        srv.loaded == {} and srv.requests == [] and srv.stats_log == [] and srv.last_stats is None
    )
    assert client.chat("llama3.2:1b", messages=USER_HI).message.content.startswith("You said")
    assert FakeModel("x", 1).name == "x:latest" and len(FakeModel("x", 1).digest) == 64
    with pytest.raises(ValueError):
        FakeModel("x", 1, capabilities=["flying"])


def test_concurrent_requests(srv: FakeOllama, client: ollama.Client) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:  # one shared client: httpx pools connections across threads
        text = "".join(
            p.message.content
            for p in client.chat(
                "llama3.2:1b", messages=[{"role": "user", "content": f"n{i}"}], stream=True
            )
        )
        with lock:
            results.append(text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == sorted(f"You said: n{i}. This is reply number 1." for i in range(12))
    assert len(srv.requests_to("/api/chat")) == 12 and len(srv.stats_log) == 12


# ================================================================================================
# Out-of-process mode
# ================================================================================================
def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no output from the fake server process"
    return proc.stdout.readline()


def test_out_of_process_mode() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_ollama", "--port", "0", "--rate", "2000", "--n-tokens", "7",
         "--version", "0.9.9"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = _read_line(proc, 10)
        assert line.startswith("PORT ")
        url = f"http://127.0.0.1:{int(line.split()[1])}"
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("/api/version").json() == {"version": "0.9.9"}
            c = ollama.Client(host=url)
            assert (
                c.chat("llama3.2:1b", messages=USER_HI).eval_count == 7
            )  # --n-tokens default reply
            assert http.post(
                "/_fake/script", json=[{"text": "scripted one"}, {"text": "two", "rate": 1000}]
            ).json() == {"queued": 2}
            assert c.chat("llama3.2:1b", messages=USER_HI).message.content == "scripted one"
            assert c.generate("llama3.2:1b", "x").response == "two"
            assert http.post("/_fake/script", json={"bogus": 1}).status_code == 400
            reqs = http.get("/_fake/requests").json()
            assert [r["path"] for r in reqs] == [
                "/api/version",
                "/api/chat",
                "/api/chat",
                "/api/generate",
            ]
            assert reqs[1]["json"]["messages"] == USER_HI and reqs[0]["method"] == "GET"
            stats = http.get("/_fake/stats").json()
            assert [s["eval_count"] for s in stats] == [7, 2, 1] and stats[0][
                "model"
            ] == "llama3.2:1b"
            http.post("/_fake/default", json={"text": "dflt"})
            assert c.chat("llama3.2:1b", messages=USER_HI).message.content == "dflt"
            http.post("/_fake/default", content=b"null")
            assert c.chat("llama3.2:1b", messages=USER_HI).message.content.startswith("You said")
            cfg = http.post("/_fake/config", json={"host_check": True, "pull_delay": 0.0}).json()
            assert cfg["host_check"] is True
            assert http.get("/api/tags", headers={"Host": "evil.example.com"}).status_code == 403
            http.post("/_fake/config", json={"host_check": False})
            http.post("/_fake/script", json={"n_tokens": 400, "rate": 100})
            with http.stream(
                "POST", "/api/chat", json={"model": "llama3.2:1b", "messages": USER_HI}
            ) as r:
                next(r.iter_lines())
            deadline = time.monotonic() + 5
            while http.get("/_fake/disconnects").json() != ["/api/chat"]:
                assert time.monotonic() < deadline, "disconnect never recorded"
                time.sleep(0.01)
            assert http.post("/_fake/reset").json() == {"status": "ok"}
            assert http.get("/_fake/requests").json() == []
    finally:
        proc.terminate()
        try:
            assert proc.wait(timeout=5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()  # type: ignore[union-attr]
            proc.stderr.close()  # type: ignore[union-attr]


@pytest.mark.asyncio
async def test_async_clients(srv: FakeOllama) -> None:
    oc = openai.AsyncOpenAI(base_url=srv.url + "/v1", api_key="sk-a", max_retries=0, timeout=10)
    srv.script(Reply(text="async tokens here", rate=500))
    stream = await oc.chat.completions.create(model="llama3.2:1b", messages=USER_HI, stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "async tokens here"
    emb = await oc.embeddings.create(model="nomic-embed-text", input="hello there")
    assert len(emb.data[0].embedding) == 768
    ids = [m.id async for m in oc.models.list()]
    assert ids[0] == "llama3.2:1b"
    srv.script(Reply(text="a b c", error_after=1))
    with pytest.raises(openai.APIError):
        async for _ in await oc.chat.completions.create(
            model="llama3.2:1b", messages=USER_HI, stream=True
        ):
            pass
    await oc.close()

    ac = ollama.AsyncClient(host=srv.url, timeout=10)
    assert (await ac.show("gemma2:2b")).modelinfo["gemma2.context_length"] == 8192
    gen = await ac.generate("llama3.2:1b", "ping")
    assert gen.response == "You said: ping. This is reply number 1." and gen.context
    ps = [m.model for m in (await ac.ps()).models]
    assert ps == ["llama3.2:1b", "nomic-embed-text:latest"]  # most recently used first
    assert (await ac.copy("gemma2:2b", "g2")).status == "success"
    assert (await ac.delete("g2")).status == "success"
    assert len((await ac.embeddings("nomic-embed-text", "x")).embedding) == 768
    srv.script(Reply(text="a b c", error_after=2))
    parts = []
    with pytest.raises(ollama.ResponseError) as err:
        async for p in await ac.chat("llama3.2:1b", messages=USER_HI, stream=True):
            parts.append(p.message.content)
    assert parts == ["a", " b"] and err.value.status_code == -1
    with pytest.raises(ollama.ResponseError) as err:
        await ac.chat("nope", messages=USER_HI)
    assert err.value.status_code == 404
    await ac._client.aclose()


def test_control_endpoints_in_process(
    srv: FakeOllama, http: httpx.Client, client: ollama.Client
) -> None:
    r = http.post(
        "/_fake/models", json={"name": "custom", "size": 5, "capabilities": ["completion"]}
    )
    assert r.status_code == 200 and "custom:latest" in srv.models
    assert "custom:latest" in {m.model for m in client.list().models}
    assert http.request("DELETE", "/_fake/models", json={"name": "custom"}).status_code == 200
    assert "custom:latest" not in srv.models
    assert http.post("/_fake/models", json={"name": "x", "size": 1, "wings": 2}).status_code == 400
    assert http.post("/_fake/config", json={"nope": 1}).status_code == 400
    assert http.post("/_fake/config", json={"embed_delay": "slow"}).status_code == 400
    cfg = http.post(
        "/_fake/config", json={"pull_fail": {"tinyllama": "disk full"}, "version": "1.2.3"}
    ).json()
    assert cfg["pull_fail"] == {"tinyllama": "disk full"} and srv.version == "1.2.3"
    with pytest.raises(ollama.ResponseError, match="disk full"):
        client.pull("tinyllama")
    assert http.post("/_fake/script", content=b"{bad").status_code == 400
    assert all(
        not r.path.startswith("/_fake/") for r in srv.requests
    )  # control calls are not recorded
