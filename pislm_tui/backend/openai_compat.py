"""Any OpenAI-compatible server (llama.cpp's llama-server, LM Studio, vLLM, Ollama's own `/v1`)
through `openai.AsyncOpenAI`, imported on first use (it costs ~1.5 s and ~60 MB).

Such servers report token counts but (except llama-server) no timings, so the stats of a reply
are measured here and marked `client_measured`."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import (
    BadResponse,
    PislmError,
    StreamInterrupted,
    Unsupported,
)
from pislm_tui.backend.hosts import openai_base_url
from pislm_tui.backend.openai_errors import error_text, translate_openai_error
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.backend.types import (
    ChatChunk,
    LoadedModel,
    Message,
    ModelDetails,
    ModelInfo,
    PullProgress,
    ToolCall,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from pislm_tui.backend.base import Format, KeepAlive, Think

# Ollama option names that have a direct OpenAI request field.
_DIRECT_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "num_predict": "max_tokens",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
# Load-time options no OpenAI-compatible server takes per request.
_DROPPED_OPTIONS = {"num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread"}


def make_openai_client(
    host: str, api_key: str | None, connect_timeout: float, read_timeout: float
) -> AsyncOpenAI:
    import openai

    return openai.AsyncOpenAI(
        base_url=openai_base_url(host),
        # Local servers ignore the key, but the client insists on one.
        api_key=api_key or "pislm",
        timeout=openai.Timeout(read_timeout, connect=connect_timeout),
        max_retries=0,
        # Plain http has no TLS: skip loading the CA bundle (tens of ms of a Pi core).
        http_client=openai.DefaultAsyncHttpxClient(verify=False)
        if host.startswith("http://")
        else None,
    )


def image_mime(data: bytes) -> str:
    """MIME type from the file's magic bytes (for `data:` URLs)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


class OpenAIBackend:
    kind = "openai"

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        api_key: str | None = None,
    ) -> None:
        self.url = url
        self.base_url = openai_base_url(url)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.api_key = api_key
        self._openai: AsyncOpenAI | None = None

    def warm_up(self) -> None:
        import openai  # noqa: F401

    def openai_client(self) -> AsyncOpenAI:
        if self._openai is None:
            self._openai = make_openai_client(
                self.url, self.api_key, self.connect_timeout, self.read_timeout
            )
        return self._openai

    async def aclose(self) -> None:
        if self._openai is not None:
            await self._openai.close()
            self._openai = None

    def _translate(
        self,
        exc: BaseException,
        *,
        model: str | None = None,
        partial: str = "",
        streaming: bool = False,
    ) -> PislmError:
        return translate_openai_error(
            exc,
            url=self.base_url,
            read_timeout=self.read_timeout,
            model=model,
            partial=partial,
            streaming=streaming,
        )

    async def version(self) -> str | None:
        """OpenAI-compatible servers have no version endpoint; listing models proves they answer."""
        await self.list_models()
        return None

    async def list_models(self) -> list[ModelInfo]:
        try:
            page = await self.openai_client().models.list()
        except Exception as exc:
            raise self._translate(exc) from None
        models = []
        for m in page.data:
            created = getattr(m, "created", None)
            modified = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None
            models.append(ModelInfo(name=m.id, modified_at=modified))
        return models

    async def show(self, model: str) -> ModelDetails:
        raise Unsupported("model details", "OpenAI-compatible")

    async def loaded(self) -> list[LoadedModel]:
        raise Unsupported("listing loaded models", "OpenAI-compatible")

    async def pull(self, model: str) -> AsyncIterator[PullProgress]:
        raise Unsupported("pull", "OpenAI-compatible")
        yield  # pragma: no cover - makes this an async generator

    async def delete(self, model: str) -> None:
        raise Unsupported("delete", "OpenAI-compatible")

    async def load(self, model: str, keep_alive: KeepAlive = None) -> None:
        raise Unsupported("load", "OpenAI-compatible")

    async def unload(self, model: str) -> None:
        raise Unsupported("unload", "OpenAI-compatible")

    async def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        options: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        format: Format = None,
        think: Think = None,
        keep_alive: KeepAlive = None,
    ) -> AsyncIterator[ChatChunk]:
        request: dict[str, Any] = {
            "model": model,
            "messages": [_wire_message(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        extra: dict[str, Any] = {}
        for key, value in (options or {}).items():
            if key in _DIRECT_OPTIONS:
                request[_DIRECT_OPTIONS[key]] = value
            elif key not in _DROPPED_OPTIONS:
                extra[key] = value  # top_k, min_p, repeat_penalty: llama-server reads them
        if tools:
            request["tools"] = list(tools)
        if format == "json":
            request["response_format"] = {"type": "json_object"}
        elif isinstance(format, dict):
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": format},
            }
        if think is False:
            request["reasoning_effort"] = "none"
        elif isinstance(think, str):
            request["reasoning_effort"] = think
        if extra:
            request["extra_body"] = extra

        partial: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        usage: Any = None
        timings: Any = None
        finish: str | None = None
        started = time.perf_counter_ns()
        first: int | None = None
        chunks = 0
        events = 0
        try:
            stream = await self.openai_client().chat.completions.create(**request)
            async for event in stream:
                events += 1
                extra_fields = event.model_extra or {}
                if extra_fields.get("error"):
                    raise StreamInterrupted(
                        f"the server reported: {error_text(extra_fields['error'])}",
                        "".join(partial),
                    )
                timings = extra_fields.get("timings") or timings
                if event.usage is not None:
                    usage = event.usage
                if not event.choices:
                    continue
                choice = event.choices[0]
                delta = choice.delta
                reasoning = (delta.model_extra or {}).get("reasoning") or (
                    delta.model_extra or {}
                ).get("reasoning_content")
                content = delta.content or ""
                for tc in delta.tool_calls or ():
                    slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                    slot["id"] = tc.id or slot["id"]
                    if tc.function is not None:
                        slot["name"] += tc.function.name or ""
                        slot["arguments"] += tc.function.arguments or ""
                if content or reasoning:
                    if first is None:
                        first = time.perf_counter_ns()
                    chunks += 1
                    if content:
                        partial.append(content)
                    yield ChatChunk(content=content, thinking=reasoning or "")
                if choice.finish_reason:
                    finish = choice.finish_reason
        except Exception as exc:
            raise self._translate(
                exc, model=model, partial="".join(partial), streaming=True
            ) from None
        if events == 0:  # not one event: the body was not a stream of chat chunks at all
            raise BadResponse("no reply events in the stream (the body is not server-sent events)")
        if finish is None:
            raise StreamInterrupted(
                "the stream ended before the reply was complete", "".join(partial)
            )
        ended = time.perf_counter_ns()
        yield ChatChunk(
            tool_calls=tuple(_tool_call(c) for _, c in sorted(calls.items())),
            done=True,
            done_reason="stop" if finish == "tool_calls" else finish,
            stats=_stats(started, first, ended, usage, timings, chunks),
        )

    async def embed(self, texts: Sequence[str], model: str) -> list[list[float]]:
        if not texts:
            return []
        try:
            r = await self.openai_client().embeddings.create(model=model, input=list(texts))
        except Exception as exc:
            raise self._translate(exc, model=model) from None
        data = sorted(r.data, key=lambda d: d.index)
        if len(data) != len(texts):
            raise BadResponse(f"{len(data)} embeddings for {len(texts)} texts")
        return [list(d.embedding) for d in data]


def _tool_call(slot: dict[str, Any]) -> ToolCall:
    try:
        arguments = json.loads(slot["arguments"] or "{}")
    except json.JSONDecodeError:
        arguments = {"_unparsed": slot["arguments"]}
    if not isinstance(arguments, dict):
        arguments = {"_unparsed": slot["arguments"]}
    return ToolCall(name=slot["name"], arguments=arguments, id=slot["id"])


def _stats(
    started: int, first: int | None, ended: int, usage: Any, timings: Any, chunks: int
) -> GenerationStats:
    prompt_tokens = getattr(usage, "prompt_tokens", None) if usage is not None else None
    completion_tokens = getattr(usage, "completion_tokens", None) if usage is not None else None
    if isinstance(timings, dict) and timings.get("predicted_ms") is not None:
        # llama-server reports its own timings: trust them over ours.
        prompt_ns = int(float(timings.get("prompt_ms", 0)) * 1e6) or None
        eval_ns = int(float(timings["predicted_ms"]) * 1e6) or None
        return GenerationStats(
            total_duration_ns=ended - started,
            prompt_eval_count=timings.get("prompt_n") or prompt_tokens,
            prompt_eval_duration_ns=prompt_ns,
            eval_count=timings.get("predicted_n") or completion_tokens,
            eval_duration_ns=eval_ns,
        )
    first = first or ended
    return GenerationStats(
        total_duration_ns=ended - started,
        prompt_eval_count=prompt_tokens,
        prompt_eval_duration_ns=(first - started) or None,
        eval_count=completion_tokens if completion_tokens is not None else chunks or None,
        eval_duration_ns=(ended - first) or None,
        client_measured=True,
    )


def _wire_message(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "content": m.content, "tool_call_id": m.tool_name or "tool"}
    wire: dict[str, Any] = {"role": m.role}
    if m.images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": m.content}]
        for image in m.images:
            url = f"data:{image_mime(image)};base64,{base64.b64encode(image).decode()}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        wire["content"] = parts
    else:
        wire["content"] = m.content
    if m.tool_calls:
        wire["tool_calls"] = [
            {
                "id": c.id or f"call_{i}",
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for i, c in enumerate(m.tool_calls)
        ]
    return wire
