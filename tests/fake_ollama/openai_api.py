"""OpenAI-compatible endpoints under /v1 (Ollama's middleware, v0.32.6+ stream format)."""

from __future__ import annotations

import base64
import json
import struct
import time
from typing import Any
from urllib.parse import unquote

from . import engine
from .behaviour import GenRequest, Message, Plan, check_base64, parse_keep_alive
from .models import FakeModel, namespace_of
from .native import _check_caps, _check_vision, embed_vectors, send_raw
from .reply import Reply
from .server import SSE_TYPE, ApiError, Exchange

_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "api_error"),
            "param": None,
            "code": None,
        }
    }


def write_error(x: Exchange, status: int, message: str) -> None:
    x.send_json(status, error_body(status, message))


def _sse(obj: Any) -> bytes:
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return b"data: " + text.encode("utf-8", "surrogateescape") + b"\n\n"  # raw bytes kept


class OpenAIChatWire:
    stream_type = SSE_TYPE

    def __init__(self, model_sent: str, seq_id: int, include_usage: bool) -> None:
        self.model = model_sent
        self.id = f"chatcmpl-{seq_id % 999}"
        self.created = int(time.time())  # pinned to the first chunk, like Ollama
        self.include_usage = include_usage
        self._first = True

    def _chunk(
        self, delta: dict[str, Any], finish: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }

    def _delta(self, **fields: Any) -> dict[str, Any]:
        if self._first:
            self._first = False
            return {"role": "assistant", **fields}
        return fields

    def chunk(self, kind: str, text: str) -> bytes:
        key = "reasoning" if kind == "thinking" else "content"
        return _sse(self._chunk(self._delta(**{key: text})))

    def _calls(self, plan: Plan) -> list[dict[str, Any]]:
        return [
            {
                "id": c["id"],
                "index": i,
                "type": "function",
                "function": {
                    "name": c["name"],
                    "arguments": json.dumps(c["arguments"], ensure_ascii=False),
                },
            }
            for i, c in enumerate(plan.tool_calls)
        ]

    def tool_chunk(self, plan: Plan) -> bytes | None:
        if not plan.tool_calls:
            return None
        return _sse(self._chunk(self._delta(tool_calls=self._calls(plan))))

    def _finish(self, plan: Plan) -> str:
        return "tool_calls" if plan.tool_calls else plan.done_reason

    def _usage(self, plan: Plan) -> dict[str, int]:
        p, c = plan.stats["prompt_eval_count"], plan.stats["eval_count"]
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def final_chunks(self, plan: Plan) -> list[bytes]:
        out = [_sse(self._chunk({}, self._finish(plan)))]
        if self.include_usage:
            chunk = self._chunk({})
            chunk["choices"] = []
            chunk["usage"] = self._usage(plan)
            out.append(_sse(chunk))
        out.append(b"data: [DONE]\n\n")
        return out

    def error_chunk(self, message: str) -> bytes:
        return _sse(error_body(500, message))

    def full(self, plan: Plan) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": plan.text}
        if plan.thinking:
            msg["reasoning"] = plan.thinking_text
        if plan.tool_calls:
            msg["tool_calls"] = self._calls(plan)
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "message": msg, "finish_reason": self._finish(plan)}],
            "usage": self._usage(plan),
        }

    def error(self, x: Exchange, status: int, message: str) -> None:
        write_error(x, status, message)

    def raw(self, x: Exchange, reply: Reply) -> None:
        send_raw(x, reply, error_body(reply.status or 500, reply.error_message))


def _image_from_url(part: dict[str, Any]) -> str:
    url = part.get("image_url")
    if isinstance(url, dict):
        url = url.get("url")
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        raise ApiError(400, "invalid image input")
    data = url.split(",", 1)[1]
    try:
        check_base64(data)
    except ValueError:
        raise ApiError(400, "invalid image input") from None
    return data


def _messages(raw: list[Any]) -> list[Message]:
    out: list[Message] = []
    call_names: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise ApiError(400, "invalid message format")
        role = str(item.get("role", "")).lower()
        content = item.get("content")
        texts: list[str] = []
        images: list[str] = []
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for part in content:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    texts.append(str(part.get("text", "")))
                elif kind == "image_url":
                    images.append(_image_from_url(part))
                else:
                    raise ApiError(400, "invalid message format")
        elif content is not None:
            raise ApiError(400, "invalid message content type")
        for call in item.get("tool_calls") or []:
            fn = call.get("function") or {}
            if call.get("id") and fn.get("name"):
                call_names[call["id"]] = fn["name"]
        tool_name = item.get("name") or call_names.get(item.get("tool_call_id") or "")
        out.append(Message(role=role, content="\n".join(texts), images=images, tool_name=tool_name))
    return out


def _format(rf: Any) -> str | dict[str, Any] | None:
    if not isinstance(rf, dict):
        return None
    kind = rf.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        schema = (rf.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else "json"
    return None


def _think(req: dict[str, Any]) -> bool | None:
    effort = req.get("reasoning_effort")
    if effort is None and isinstance(req.get("reasoning"), dict):
        effort = req["reasoning"].get("effort")
    if effort is None:
        return None
    if effort == "none":
        return False
    if effort in ("minimal", "low", "medium", "high", "xhigh", "ultra", "max"):
        return True
    raise ApiError(
        400,
        f'invalid reasoning value: \'{effort}\' (must be "none", "minimal", "low", "medium", "high", "xhigh", "ultra", or "max")',
    )


def chat_completions(x: Exchange) -> None:
    req = x.json_object("openai.ChatCompletionRequest")
    raw_messages = req.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise ApiError(400, "[] is too short - 'messages'")
    sent = req.get("model") or ""
    if not isinstance(sent, str) or not sent:
        raise ApiError(400, "model is required")
    messages = _messages(raw_messages)
    m = x.fake.find_model(sent)
    if m is None:
        raise ApiError(404, f"model '{sent}' not found")
    tools = req.get("tools") or []
    think = _think(req)
    _check_caps(m, sent, "chat", tools, think)
    _check_vision(m, any(msg.images for msg in messages))
    try:
        keep_alive = parse_keep_alive(req.get("keep_alive"))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    stop = req.get("stop")
    max_tokens = req.get("max_completion_tokens", req.get("max_tokens"))
    gen = GenRequest(
        model=m,
        model_sent=sent,
        messages=messages,
        fmt=_format(req.get("response_format")),
        think=think,
        tools=tools,
        stream=req.get("stream") is True,
        keep_alive=keep_alive,
        num_predict=max_tokens if isinstance(max_tokens, int) else None,
        stop=[stop] if isinstance(stop, str) else list(stop or []),
    )
    include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
    with x.fake._lock:
        seq_id = x.fake._seq + 1
    engine.run(x, gen, OpenAIChatWire(sent, seq_id, include_usage))


def _model_obj(m: FakeModel) -> dict[str, Any]:
    return {
        "id": m.name,
        "object": "model",
        "created": m.modified_epoch(),
        "owned_by": namespace_of(m.name),
    }


def list_models(x: Exchange) -> None:
    with x.fake._lock:
        models = sorted(x.fake.models.values(), key=lambda m: m.modified_epoch(), reverse=True)
        data = [_model_obj(m) for m in models]
    x.send_json(200, {"object": "list", "data": data})


def get_model(x: Exchange) -> None:
    name = unquote(x.path[len("/v1/models/") :])
    m = x.fake.find_model(name)
    if m is None:
        raise ApiError(404, f"model '{name}' not found")
    x.send_json(200, _model_obj(m))


def embeddings(x: Exchange) -> None:
    req = x.json_object("openai.EmbedRequest")
    sent = req.get("model") or ""
    if not isinstance(sent, str) or not sent:
        raise ApiError(400, "model is required")
    raw = req.get("input")
    if isinstance(raw, str):
        inputs = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(i, str) for i in raw):
        inputs = list(raw)
    else:
        raise ApiError(400, "invalid input type")
    m = x.fake.find_model(sent)
    if m is None:
        raise ApiError(404, f'model "{sent}" not found, try pulling it first')
    dims = req.get("dimensions")
    vectors, stats = embed_vectors(
        x, m, inputs, parse_keep_alive(None), dims if isinstance(dims, int) else None
    )
    as_b64 = req.get("encoding_format") == "base64"
    data = [
        {
            "object": "embedding",
            "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() if as_b64 else v,
            "index": i,
        }
        for i, v in enumerate(vectors)
    ]
    tokens = stats["prompt_eval_count"]
    x.send_json(
        200,
        {
            "object": "list",
            "data": data,
            "model": sent,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )


ROUTES = {
    "/v1/chat/completions": {"POST": chat_completions},
    "/v1/models": {"GET": list_models},
    "/v1/embeddings": {"POST": embeddings},
}
PREFIX_ROUTES = {"/v1/models/": {"GET": get_model}}
