"""Native endpoints (`/`, `/api/...`) with Ollama's exact shapes and error texts."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from typing import Any

from . import engine
from .behaviour import (
    GenRequest,
    Message,
    Plan,
    check_base64,
    estimate_tokens,
    metrics,
    parse_keep_alive,
    parse_think,
)
from .embeddings import embed_text, truncate
from .models import FakeModel, find, full_name, normalize_name, now_local_go, now_utc_go
from .reply import Reply
from .server import JSON_TYPE, NDJSON_TYPE, ApiError, ClientGone, Exchange, go_kind

FALLBACK_EMBED_DIMS = 2048  # a chat model asked to embed (Ollama allows it) uses its hidden size
_FOREVER_S = 292 * 365 * 86_400  # Go's max Duration: what "forever" looks like in /api/ps


def _dumps(obj: Any) -> bytes:
    # surrogateescape: a token holding surrogate-escaped bytes (invalid UTF-8) goes out raw.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogateescape"
    )


def _ndjson(obj: Any) -> bytes:
    return _dumps(obj) + b"\n"


def _now() -> str:
    return now_utc_go(time.time_ns())


def _field(
    req: dict[str, Any], key: str, kinds: tuple[type, ...], go_struct: str, go_type: str
) -> Any:
    """A typed request field, or Go's unmarshal error (400) for the wrong JSON kind."""
    value = req.get(key)
    if value is None or (
        isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    ):
        return value
    raise ApiError(
        400,
        f"json: cannot unmarshal {go_kind(value)} into Go struct field {go_struct}.{key} of type {go_type}",
    )


def _require_model(req: dict[str, Any], struct: str, *, legacy_name: bool = False) -> str:
    name = _field(req, "model", (str,), struct, "string") or ""
    if not name and legacy_name:
        name = _field(req, "name", (str,), struct, "string") or ""
    if not name:
        raise ApiError(400, "model is required")
    return name


def _existing(x: Exchange, name: str, message: str) -> FakeModel:
    m = x.fake.find_model(name)
    if m is None:
        raise ApiError(404, message)
    return m


def _keep_alive(req: dict[str, Any]) -> float:
    try:
        return parse_keep_alive(req.get("keep_alive"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _images(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(
            400, f"json: cannot unmarshal {go_kind(raw)} into Go value of type []api.ImageData"
        )
    for img in raw:
        try:
            check_base64(img)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    return list(raw)


def _format(value: Any) -> str | dict[str, Any] | None:
    if value in (None, ""):
        return None
    if value == "json" or isinstance(value, dict):
        return value
    raise ApiError(
        500, f'invalid format: {json.dumps(value)}; expected "json" or a valid JSON Schema object'
    )


def _options(req: dict[str, Any]) -> dict[str, Any]:
    opts = req.get("options") or {}
    if not isinstance(opts, dict):
        raise ApiError(
            400,
            f"json: cannot unmarshal {go_kind(opts)} into Go struct field .options of type map[string]interface {{}}",
        )
    for key in ("num_predict", "num_ctx", "seed", "top_k"):
        v = opts.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise ApiError(400, f'option "{key}" must be of type integer')
    stop = opts.get("stop")
    if isinstance(stop, str):
        opts = {**opts, "stop": [stop]}
    return opts


def _think(req: dict[str, Any]) -> bool | None:
    try:
        return parse_think(req.get("think"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _check_caps(m: FakeModel, sent: str, verb: str, tools: list[Any], think: bool | None) -> None:
    """Capability errors in the order Ollama's scheduler checks them."""
    if m.unavailable:
        raise ApiError(500, m.unavailable)
    if not m.has("completion"):
        raise ApiError(400, f"{json.dumps(sent)} does not support {verb}")
    if tools and not m.has("tools"):
        raise ApiError(400, f"{full_name(sent)} does not support tools")
    if think and not m.has("thinking"):
        raise ApiError(400, f"{json.dumps(sent)} does not support thinking")


def _check_vision(m: FakeModel, has_images: bool) -> None:
    # Real Ollama fails in the runner with this text (400 on the new engine, 500 on the
    # llama.cpp one); the fake picks 400.
    if has_images and not m.has("vision"):
        raise ApiError(400, "this model is missing data required for image input")


def _metric_fields(stats: dict[str, int]) -> dict[str, int]:
    # Ollama's Metrics fields are omitempty: zeros are simply absent.
    return {k: v for k, v in stats.items() if v}


# -- simple GETs -----------------------------------------------------------------------------
def root(x: Exchange) -> None:
    x.send_text(200, "Ollama is running")


def version(x: Exchange) -> None:
    x.send_json(200, {"version": x.fake.version})


def tags(x: Exchange) -> None:
    with x.fake._lock:
        models = sorted(x.fake.models.values(), key=lambda m: m.modified_epoch(), reverse=True)
        items = [_tags_entry(m) for m in models]
    x.send_json(200, {"models": items})


def _tags_entry(m: FakeModel) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": m.name, "model": m.name}
    if m.remote_model:  # omitempty: only cloud entries carry these two
        entry["remote_model"] = m.remote_model
    if m.remote_host:
        entry["remote_host"] = m.remote_host
    entry.update(modified_at=m.modified_at, size=m.size, digest=m.digest, details=m.details())
    if m.list_capabilities:
        entry["capabilities"] = list(m.capabilities)
    return entry


def ps(x: Exchange) -> None:
    fake = x.fake
    fake._purge_expired()
    now = time.time()
    with fake._lock:
        rows = []
        for name, expires in fake.loaded.items():
            m = find(fake.models, name)
            if m is None:
                continue
            epoch = now + _FOREVER_S if math.isinf(expires) else expires
            rows.append(
                (
                    epoch,
                    {
                        "name": m.name,
                        "model": m.name,
                        "size": m.size,
                        "digest": m.digest,
                        "details": m.details(),
                        "expires_at": now_local_go(int(epoch * 1e9)),
                        "size_vram": m.vram,
                        "context_length": fake.loaded_ctx.get(name, 4096),
                    },
                )
            )
    rows.sort(key=lambda r: r[0], reverse=True)
    x.send_json(200, {"models": [r[1] for r in rows]})


def show(x: Exchange) -> None:
    req = x.json_object("api.ShowRequest")
    name = _require_model(req, "ShowRequest", legacy_name=True)
    m = _existing(x, name, f"model '{normalize_name(name)}' not found")
    arch = m.architecture
    info: dict[str, Any] = {
        "general.architecture": arch,
        "general.basename": m.name.split(":")[0].split("/")[-1],
        "general.parameter_count": m.parameter_count(),
        "general.quantization_version": 2,
        f"{arch}.context_length": m.context_length,
    }
    if m.embedding_length:
        info[f"{arch}.embedding_length"] = m.embedding_length
    if m.attention is not None:
        blocks, hidden, heads, heads_kv, head_size = m.attention
        info[f"{arch}.block_count"] = blocks
        info.setdefault(f"{arch}.embedding_length", hidden)
        info[f"{arch}.attention.head_count"] = heads
        info[f"{arch}.attention.head_count_kv"] = heads_kv
        if head_size is not None:
            info[f"{arch}.attention.key_length"] = head_size
            info[f"{arch}.attention.value_length"] = head_size
    modelfile = (
        '# Modelfile generated by "ollama show"\n'
        "# To build a new Modelfile based on this, replace FROM with:\n"
        f"# FROM {m.name}\n\n"
        f"FROM /root/.ollama/models/blobs/sha256-{m.digest}\n"
        f'TEMPLATE """{m.template}"""\n'
        + "".join(f"PARAMETER {line}\n" for line in m.parameters.splitlines() if line.strip())
        + f'LICENSE """{m.license}"""\n'
    )
    body = {
        "license": m.license,
        "modelfile": modelfile,
        "parameters": m.parameters,
        "template": m.template,
        "details": m.details(),
        "model_info": info,
        "capabilities": list(m.capabilities),
        "modified_at": m.modified_at,
    }
    x.send_json(200, {k: v for k, v in body.items() if v not in ("", None) or k == "model_info"})


# -- chat / generate ----------------------------------------------------------------------------
class NativeChatWire:
    stream_type = NDJSON_TYPE

    def __init__(self, model_sent: str) -> None:
        self.model = model_sent

    def _line(self, message: dict[str, Any], done: bool = False, **extra: Any) -> dict[str, Any]:
        return {
            "model": self.model,
            "created_at": _now(),
            "message": message,
            "done": done,
            **extra,
        }

    def chunk(self, kind: str, text: str) -> bytes:
        msg = {"role": "assistant", "content": ""}
        msg["thinking" if kind == "thinking" else "content"] = text
        return _ndjson(self._line(msg))

    def _calls(self, plan: Plan) -> list[dict[str, Any]]:
        return [
            {
                "id": c["id"],
                "function": {"index": i, "name": c["name"], "arguments": c["arguments"]},
            }
            for i, c in enumerate(plan.tool_calls)
        ]

    def tool_chunk(self, plan: Plan) -> bytes | None:
        if not plan.tool_calls:
            return None
        return _ndjson(
            self._line({"role": "assistant", "content": "", "tool_calls": self._calls(plan)})
        )

    def final_chunks(self, plan: Plan) -> list[bytes]:
        final = self._line({"role": "assistant", "content": ""}, True, done_reason=plan.done_reason)
        return [_ndjson({**final, **_metric_fields(plan.stats)})]

    def error_chunk(self, message: str) -> bytes:
        return _ndjson({"error": message})

    def full(self, plan: Plan) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": plan.text}
        if plan.thinking:
            msg["thinking"] = plan.thinking_text
        if plan.tool_calls:
            msg["tool_calls"] = self._calls(plan)
        return {**self._line(msg, True, done_reason=plan.done_reason), **_metric_fields(plan.stats)}

    def error(self, x: Exchange, status: int, message: str) -> None:
        x.send_json(status, {"error": message})

    def raw(self, x: Exchange, reply: Reply) -> None:
        send_raw(x, reply, {"error": reply.error_message})


class NativeGenerateWire(NativeChatWire):
    def __init__(self, model_sent: str, raw_mode: bool, seed_text: str) -> None:
        super().__init__(model_sent)
        self.raw_mode = raw_mode
        self.seed_text = seed_text

    def _gline(self, response: str, done: bool = False, **extra: Any) -> dict[str, Any]:
        return {
            "model": self.model,
            "created_at": _now(),
            "response": response,
            "done": done,
            **extra,
        }

    def chunk(self, kind: str, text: str) -> bytes:
        if kind == "thinking":
            return _ndjson(self._gline("", thinking=text))
        return _ndjson(self._gline(text))

    def tool_chunk(self, plan: Plan) -> bytes | None:
        return None  # /api/generate has no tools

    def _context(self, plan: Plan) -> list[int]:
        n = min(plan.stats["prompt_eval_count"] + plan.stats["eval_count"], 8192)
        seed = hashlib.sha256((self.seed_text + plan.text).encode()).digest()
        return [
            int.from_bytes(seed[(i * 2) % 30 : (i * 2) % 30 + 2], "big") * 2 + i % 2
            for i in range(n)
        ]

    def _tail(self, plan: Plan) -> dict[str, Any]:
        tail: dict[str, Any] = {"done_reason": plan.done_reason}
        if not self.raw_mode:
            tail["context"] = self._context(plan)
        return {**tail, **_metric_fields(plan.stats)}

    def final_chunks(self, plan: Plan) -> list[bytes]:
        return [_ndjson({**self._gline("", True), **self._tail(plan)})]

    def full(self, plan: Plan) -> dict[str, Any]:
        line = self._gline(plan.text, True)
        if plan.thinking:
            line["thinking"] = plan.thinking_text
        return {**line, **self._tail(plan)}


def send_raw(x: Exchange, reply: Reply, default_body: Any) -> None:
    """A scripted `Reply.status` answer: the raw body, or the endpoint's error JSON."""
    status = reply.status or 500
    if reply.body is None:
        x.send(status, _dumps(default_body), reply.content_type or JSON_TYPE)
        return
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    x.send(status, body, reply.content_type or JSON_TYPE)


def _messages(raw: Any) -> list[Message]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(
            400,
            f"json: cannot unmarshal {go_kind(raw)} into Go struct field ChatRequest.messages of type []api.Message",
        )
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError(
                400,
                f"json: cannot unmarshal {go_kind(item)} into Go struct field ChatRequest.messages of type api.Message",
            )
        content = item.get("content") or ""
        if not isinstance(content, str):
            raise ApiError(
                400,
                f"json: cannot unmarshal {go_kind(content)} into Go struct field Message.messages.content of type string",
            )
        out.append(
            Message(
                role=str(item.get("role", "")).lower(),
                content=content,
                images=_images(item.get("images")),
                tool_name=item.get("tool_name") or item.get("name"),
            )
        )
    return out


def _load_reply(x: Exchange, key: str, sent: str, m: FakeModel, reason: str) -> None:
    """The single-object answer of a load/unload request."""
    body: dict[str, Any] = {
        "model": sent,
        "created_at": _now(),
        key: "",
        "done": True,
        "done_reason": reason,
    }
    if key == "message":
        body[key] = {"role": "assistant", "content": ""}
    x.send_json(200, body)


def chat(x: Exchange) -> None:
    req = x.json_object("api.ChatRequest")
    sent = _require_model(req, "ChatRequest")
    stream = _field(req, "stream", (bool,), "ChatRequest", "bool")
    messages = _messages(req.get("messages"))
    think = _think(req)
    tools = req.get("tools") or []
    m = _existing(x, sent, f"model '{sent}' not found")
    keep_alive = _keep_alive(req)
    opts = _options(req)
    if not messages and keep_alive == 0:
        x.fake._unload(m.name)
        _load_reply(x, "message", sent, m, "unload")
        return
    _check_caps(m, sent, "chat", tools, think)
    if not messages:
        x.sleep(x.fake.load_delay)  # a big model loading from an SD card: silence meanwhile
        x.fake._load(m.name, keep_alive, opts.get("num_ctx"))
        _load_reply(x, "message", sent, m, "load")
        return
    _check_vision(m, any(msg.images for msg in messages))
    gen = GenRequest(
        model=m,
        model_sent=sent,
        messages=messages,
        fmt=_format(req.get("format")),
        think=think,
        tools=tools,
        stream=stream is not False,
        keep_alive=keep_alive,
        num_predict=opts.get("num_predict"),
        stop=list(opts.get("stop") or []),
        num_ctx=opts.get("num_ctx"),
    )
    engine.run(x, gen, NativeChatWire(sent))


def generate(x: Exchange) -> None:
    req = x.json_object("api.GenerateRequest")
    sent = _require_model(req, "GenerateRequest")
    stream = _field(req, "stream", (bool,), "GenerateRequest", "bool")
    prompt = _field(req, "prompt", (str,), "GenerateRequest", "string") or ""
    system = _field(req, "system", (str,), "GenerateRequest", "string") or ""
    images = _images(req.get("images"))
    think = _think(req)
    raw_mode = bool(req.get("raw"))
    if raw_mode and (req.get("template") or system or req.get("context")):
        raise ApiError(400, "raw mode does not support template, system, or context")
    m = _existing(x, sent, f"model '{sent}' not found")
    keep_alive = _keep_alive(req)
    opts = _options(req)
    if not prompt and not images and keep_alive == 0:
        x.fake._unload(m.name)
        _load_reply(x, "response", sent, m, "unload")
        return
    _check_caps(m, sent, "generate", [], think)
    if req.get("suffix") and not m.has("insert"):
        raise ApiError(400, f"{json.dumps(sent)} does not support insert")
    if not prompt and not images:
        x.sleep(x.fake.load_delay)
        x.fake._load(m.name, keep_alive, opts.get("num_ctx"))
        _load_reply(x, "response", sent, m, "load")
        return
    _check_vision(m, bool(images))
    messages = [Message("system", system)] if system else []
    messages.append(Message("user", prompt, images))
    context = req.get("context") or []
    gen = GenRequest(
        model=m,
        model_sent=sent,
        messages=messages,
        fmt=_format(req.get("format")),
        think=think,
        stream=stream is not False,
        keep_alive=keep_alive,
        num_predict=opts.get("num_predict"),
        stop=list(opts.get("stop") or []),
        num_ctx=opts.get("num_ctx"),
        extra_prompt_tokens=len(context) if isinstance(context, list) else 0,
    )
    engine.run(x, gen, NativeGenerateWire(sent, raw_mode, prompt))


# -- model management ---------------------------------------------------------------------------
def delete(x: Exchange) -> None:
    req = x.json_object("api.DeleteRequest")
    sent = _require_model(req, "DeleteRequest", legacy_name=True)
    m = _existing(x, sent, f"model '{sent}' not found")
    x.fake.remove_model(m.name)
    x.send(200, b"", None)


def copy_model(x: Exchange) -> None:
    req = x.json_object("api.CopyRequest")
    src = _field(req, "source", (str,), "CopyRequest", "string") or ""
    dst = _field(req, "destination", (str,), "CopyRequest", "string") or ""
    if not src:
        raise ApiError(400, f"source {json.dumps(src)} is invalid")
    if not dst:
        raise ApiError(400, f"destination {json.dumps(dst)} is invalid")
    m = _existing(x, src, f"model {json.dumps(src)} not found")
    clone = m.with_name(dst)
    clone.modified_at = now_local_go(time.time_ns())
    x.fake.add_model(clone)
    x.send(200, b"", None)


def pull(x: Exchange) -> None:
    fake = x.fake
    req = x.json_object("api.PullRequest")
    sent = (_field(req, "model", (str,), "PullRequest", "string") or "") or (
        _field(req, "name", (str,), "PullRequest", "string") or ""
    )
    if not sent.strip():
        raise ApiError(400, "invalid model name")
    stream = _field(req, "stream", (bool,), "PullRequest", "bool") is not False
    with fake._lock:
        src = find(fake.registry, sent)
    with fake._lock:
        fail = next(
            (
                msg
                for k, msg in fake.pull_fail.items()
                if normalize_name(k).lower() == normalize_name(sent).lower()
            ),
            None,
        )
        delay = fake.pull_delay

    def progress() -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
        if src is None:
            return [*lines, {"error": "pull model manifest: file does not exist"}]
        for n, (digest, size) in enumerate(src.layers()):
            status = f"pulling {digest[7:19]}"
            lines.append({"status": status, "digest": digest, "total": size})
            steps = 4 if size > 10_000 else 1
            for k in range(1, steps + 1):
                lines.append(
                    {
                        "status": status,
                        "digest": digest,
                        "total": size,
                        "completed": size * k // steps,
                    }
                )
                if fail is not None and n == 0 and k == 2:
                    return [*lines, {"error": fail}]
        return [
            *lines,
            {"status": "verifying sha256 digest"},
            {"status": "writing manifest"},
            {"status": "success"},
        ]

    lines = progress()
    if not stream:
        x.sleep(delay * len(lines))
        last = lines[-1]
        if "error" in last:
            raise ApiError(500, last["error"])
        _install(x, src)
        x.send_json(200, {"status": "success"})
        return
    x.open_stream(NDJSON_TYPE)
    for i, line in enumerate(lines):
        if i:
            x.sleep(delay)
        if line.get("status") == "success":
            if x.peer_closed():  # cancelled during the last step: do not keep the model
                raise ClientGone
            _install(x, src)
        x.write_chunk(_ndjson(line))
    x.end_stream()


def _install(x: Exchange, src: FakeModel | None) -> None:
    if src is None:
        return
    m = copy.deepcopy(src)
    m.modified_at = now_local_go(time.time_ns())
    x.fake.add_model(m)


# -- embeddings ---------------------------------------------------------------------------------
def _embed_dims(m: FakeModel) -> int:
    return m.embedding_length or FALLBACK_EMBED_DIMS


def _round(vec: list[float]) -> list[float]:
    return [round(v, 8) for v in vec]


def embed_vectors(
    x: Exchange, m: FakeModel, inputs: list[str], keep_alive: float, dimensions: int | None
) -> tuple[list[list[float]], dict[str, int]]:
    """Shared by /api/embed and /v1/embeddings: vectors plus load/prompt metrics."""
    fake = x.fake
    seq = fake._next_seq()
    was_loaded = fake._load(m.name, keep_alive, None)
    try:
        x.sleep(fake.embed_delay)
        vectors = [_round(truncate(embed_text(t, _embed_dims(m)), dimensions)) for t in inputs]
        n_prompt = sum(estimate_tokens(t) for t in inputs) if inputs else 0
        stats = metrics(m, max(n_prompt, 1), 0, seq, was_loaded)
    finally:
        fake._release(m.name, keep_alive)
    return vectors, {
        "total_duration": stats["total_duration"],
        "load_duration": stats["load_duration"],
        "prompt_eval_count": n_prompt,
    }


def _embed_missing(sent: str) -> str:
    return f"model {json.dumps(sent)} not found, try pulling it first"


def embed(x: Exchange) -> None:
    req = x.json_object("api.EmbedRequest")
    sent = _require_model(req, "EmbedRequest")
    raw = req.get("input")
    if isinstance(raw, str):
        inputs = [raw] if raw else []
    elif isinstance(raw, list) and all(isinstance(i, str) for i in raw):
        inputs = list(raw)
    elif raw is None:
        inputs = []
    else:
        raise ApiError(400, "invalid input type")
    m = _existing(x, sent, _embed_missing(sent))
    keep_alive = _keep_alive(req)
    dims = req.get("dimensions")
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int)):
        raise ApiError(
            400,
            f"json: cannot unmarshal {go_kind(dims)} into Go struct field EmbedRequest.dimensions of type int",
        )
    vectors, stats = embed_vectors(x, m, inputs, keep_alive, dims)
    if not inputs:
        x.send_json(200, {"model": sent, "embeddings": []})
        return
    x.send_json(200, {"model": sent, "embeddings": vectors, **_metric_fields(stats)})


def embeddings_legacy(x: Exchange) -> None:
    req = x.json_object("api.EmbeddingRequest")
    sent = _require_model(req, "EmbeddingRequest")
    prompt = _field(req, "prompt", (str,), "EmbeddingRequest", "string") or ""
    m = _existing(x, sent, _embed_missing(sent))
    keep_alive = _keep_alive(req)
    vectors, _ = embed_vectors(x, m, [prompt] if prompt else [], keep_alive, None)
    # The legacy endpoint does not normalise; a fixed gain keeps it deterministic.
    vec = [round(v * 20.0, 6) for v in vectors[0]] if vectors else []
    x.send_json(200, {"embedding": vec})


ROUTES = {
    "/": {"GET": root, "HEAD": root},
    "/api/version": {"GET": version, "HEAD": version},
    "/api/tags": {"GET": tags, "HEAD": tags},
    "/api/ps": {"GET": ps},
    "/api/show": {"POST": show},
    "/api/chat": {"POST": chat},
    "/api/generate": {"POST": generate},
    "/api/pull": {"POST": pull},
    "/api/delete": {"DELETE": delete},
    "/api/copy": {"POST": copy_model},
    "/api/embed": {"POST": embed},
    "/api/embeddings": {"POST": embeddings_legacy},
}
