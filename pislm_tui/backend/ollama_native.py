"""Native Ollama API through `ollama.AsyncClient`. The ollama package is imported on first use,
not at start-up (it costs ~0.4 s), and every client gets explicit timeouts (its default is none)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import (
    BadResponse,
    ModelNotFound,
    PislmError,
    RequestTimeout,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
)
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
    import httpx
    import ollama
    from openai import AsyncOpenAI

    from pislm_tui.backend.base import Format, KeepAlive, Think


def _looks_like_html(text: str) -> bool:
    return text.lstrip()[:1] == "<"


class OllamaBackend:
    kind = "ollama"

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        quick_timeout: float = 15.0,
        api_key: str | None = None,
    ) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.quick_timeout = quick_timeout
        self.api_key = api_key
        self._quick: ollama.AsyncClient | None = None
        self._long: ollama.AsyncClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._openai: AsyncOpenAI | None = None

    # -- clients -------------------------------------------------------------------------------

    def warm_up(self) -> None:
        import httpx  # noqa: F401
        import ollama  # noqa: F401

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _timeout(self, read: float) -> httpx.Timeout:
        import httpx

        return httpx.Timeout(read, connect=self.connect_timeout)

    def _transport_options(self) -> dict[str, Any]:
        """Plain http uses no TLS, so skip loading the CA bundle (~60 ms of a Pi core per
        client); https keeps full verification."""
        if self.url.startswith("http://"):
            return {"verify": False}
        return {}

    def _client(self, long: bool = False) -> ollama.AsyncClient:
        """Two clients: short timeouts for listings, long ones for generation, pulls and loads."""
        import ollama

        if long:
            if self._long is None:
                self._long = ollama.AsyncClient(
                    self.url,
                    timeout=self._timeout(self.read_timeout),
                    headers=self._headers(),
                    **self._transport_options(),
                )
            return self._long
        if self._quick is None:
            self._quick = ollama.AsyncClient(
                self.url,
                timeout=self._timeout(self.quick_timeout),
                headers=self._headers(),
                **self._transport_options(),
            )
        return self._quick

    def openai_client(self) -> AsyncOpenAI:
        if self._openai is None:
            from pislm_tui.backend.openai_compat import make_openai_client

            self._openai = make_openai_client(
                self.url, self.api_key, self.connect_timeout, self.read_timeout
            )
        return self._openai

    async def aclose(self) -> None:
        for client in (self._quick, self._long):
            if client is not None:
                await client.close()
        if self._http is not None:
            await self._http.aclose()
        if self._openai is not None:
            await self._openai.close()
        self._quick = self._long = self._http = self._openai = None

    # -- errors --------------------------------------------------------------------------------

    def _translate(
        self,
        exc: BaseException,
        *,
        model: str | None = None,
        partial: str = "",
        streaming: bool = False,
        read_timeout: float | None = None,
    ) -> PislmError:
        """Turn client-library exceptions into ours (see errors.py)."""
        import httpx
        import ollama
        import pydantic

        if isinstance(exc, PislmError):
            return exc
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | ConnectionError):
            if partial:
                return StreamInterrupted("the connection to the server was lost", partial)
            return ServerUnreachable(self.url, str(exc))
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(self.url, read_timeout, partial)
        if isinstance(exc, httpx.TransportError):
            if streaming:
                return StreamInterrupted("the connection to the server was lost", partial)
            return ServerUnreachable(self.url, str(exc))
        if isinstance(exc, ollama.ResponseError):
            message, status = exc.error or "", exc.status_code
            if status == -1:  # an {"error": ...} line in the middle of a stream
                if streaming:
                    return StreamInterrupted(f"the server reported: {message}", partial)
                return ServerError(None, message)
            route_missing = message.strip() == "404 page not found"  # gin's plain-text 404
            if status == 404 and model and "not found" in message and not route_missing:
                return ModelNotFound(model, message)
            if _looks_like_html(message):
                return BadResponse(
                    f"an HTML page with status {status}",
                    "something other than Ollama answers at this address (a proxy or a web server?)",
                )
            if status == 404 and message.strip() == "404 page not found":
                return BadResponse(
                    "404 page not found",
                    "this server lacks the Ollama API; is it an OpenAI-compatible server (--api openai)?",
                )
            if status == 403 and not message:
                return ServerError(
                    403,
                    "forbidden",
                    "Ollama refuses this Host name; reach it as 127.0.0.1 through "
                    "`ssh -L 11434:127.0.0.1:11434 pi`, or set OLLAMA_HOST=0.0.0.0 on the Pi",
                )
            return ServerError(status, message)
        if isinstance(exc, json.JSONDecodeError):
            if partial:
                return StreamInterrupted("the server sent a line that is not JSON", partial)
            return BadResponse("the body is not JSON")
        if isinstance(exc, pydantic.ValidationError):
            if partial:
                return StreamInterrupted("the server sent a chunk of the wrong shape", partial)
            return BadResponse("JSON of an unexpected shape")
        if isinstance(exc, httpx.HTTPError):
            return BadResponse(str(exc) or type(exc).__name__)
        raise exc

    # -- listing -------------------------------------------------------------------------------

    def _plain_http(self) -> httpx.AsyncClient:
        """A bare HTTP client for the answers whose fields ollama-python drops (see
        `list_models`) or does not ask for (`version`)."""
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.url,
                timeout=self._timeout(self.quick_timeout),
                headers=self._headers(),
                **self._transport_options(),
            )
        return self._http

    async def _get_json(self, path: str) -> Any:
        try:
            response = await self._plain_http().get(path)
        except Exception as exc:
            raise self._translate(exc) from None
        if response.status_code != 200:
            raise self._translate(_response_error(response)) from None
        try:
            return response.json()
        except ValueError:
            if _looks_like_html(response.text):
                raise BadResponse(
                    "an HTML page instead of the Ollama API",
                    "something other than Ollama answers at this address",
                ) from None
            raise BadResponse(f"the body of {path} is not JSON") from None

    async def version(self) -> str | None:
        body = await self._get_json("/api/version")
        try:
            return str(body["version"])
        except (KeyError, TypeError):
            raise BadResponse("no version in /api/version") from None

    async def list_models(self) -> list[ModelInfo]:
        """`/api/tags` read here rather than through ollama-python, whose `ListResponse` drops
        what tells a cloud entry (`remote_host`, `remote_model`) and the per-model
        `capabilities` of newer servers. Each entry is still checked by the library's model."""
        import ollama
        import pydantic

        body = await self._get_json("/api/tags")
        entries = body.get("models") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise BadResponse("no model list in /api/tags")
        models = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise BadResponse("a model entry in /api/tags is not an object")
            try:
                parsed = ollama.ListResponse.Model.model_validate(entry)
            except pydantic.ValidationError:
                raise BadResponse("JSON of an unexpected shape in /api/tags") from None
            models.append(_model_info(parsed, entry))
        return models

    async def show(self, model: str) -> ModelDetails:
        try:
            r = await self._client().show(model)
        except Exception as exc:
            raise self._translate(exc, model=model) from None
        info = dict(r.modelinfo or {})
        details = r.details
        return ModelDetails(
            name=model,
            family=details.family if details else None,
            parameter_size=details.parameter_size if details else None,
            quantization=details.quantization_level if details else None,
            context_length=_suffix(info, ".context_length"),
            embedding_length=_suffix(info, ".embedding_length"),
            capabilities=frozenset(r.capabilities or ()),
            template=r.template or "",
            parameters=r.parameters or "",
            license=r.license or "",
            system=getattr(r, "system", None) or "",
            modified_at=r.modified_at,
            model_info=info,
        )

    async def loaded(self) -> list[LoadedModel]:
        try:
            r = await self._client().ps()
        except Exception as exc:
            raise self._translate(exc) from None
        return [
            LoadedModel(
                name=m.model or m.name or "?",
                size=int(m.size) if m.size is not None else None,
                size_vram=int(m.size_vram) if m.size_vram is not None else None,
                expires_at=m.expires_at,
                context_length=getattr(m, "context_length", None),
            )
            for m in r.models
        ]

    # -- model management ----------------------------------------------------------------------

    async def pull(self, model: str) -> AsyncIterator[PullProgress]:
        started = False  # progress arrived: a cut connection is a broken pull, not a dead server
        try:
            stream = await self._client(long=True).pull(model, stream=True)
            async with aclosing(stream) as parts:
                async for p in parts:
                    started = True
                    yield PullProgress(
                        status=p.status or "", digest=p.digest, total=p.total, completed=p.completed
                    )
        except Exception as exc:
            err = self._translate(
                exc, model=model, streaming=started, read_timeout=self.read_timeout
            )
            if isinstance(err, StreamInterrupted) and err.reason.startswith("the server reported"):
                err = _pull_failure(model, err.reason.removeprefix("the server reported: "))
            elif isinstance(err, StreamInterrupted):
                err = StreamInterrupted(
                    err.reason,
                    hint="what was downloaded is kept; pull again to resume",
                    what="pull",
                )
            elif isinstance(err, ServerError) and err.status is None:
                err = _pull_failure(model, err.server_message)
            raise err from None

    async def delete(self, model: str) -> None:
        try:
            await self._client().delete(model)
        except Exception as exc:
            raise self._translate(exc, model=model) from None

    async def load(self, model: str, keep_alive: KeepAlive = None) -> None:
        try:
            try:
                await self._client(long=True).chat(model, messages=[], keep_alive=keep_alive)
            except Exception as exc:
                err = self._translate(exc, model=model, read_timeout=self.read_timeout)
                if not (isinstance(err, ServerError) and "does not support" in err.server_message):
                    raise err from None
                # An embedding-only model has no chat: an embedding request loads it.
                await self._client(long=True).embed(model=model, input="", keep_alive=keep_alive)
        except PislmError:
            raise
        except Exception as exc:
            raise self._translate(exc, model=model, read_timeout=self.read_timeout) from None

    async def unload(self, model: str) -> None:
        try:
            await self._client().chat(model, messages=[], keep_alive=0)
        except Exception as exc:
            raise self._translate(exc, model=model) from None

    # -- generation ----------------------------------------------------------------------------

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
        partial: list[str] = []
        finished = False
        try:
            stream = await self._client(long=True).chat(
                model,
                messages=[_wire_message(m) for m in messages],
                tools=list(tools or ()),
                stream=True,
                think=think,
                format=format,
                options=dict(options) if options else None,
                keep_alive=keep_alive,
            )
            async with aclosing(stream) as parts:
                async for part in parts:
                    msg = part.message
                    content = msg.content or ""
                    if content:
                        partial.append(content)
                    calls = tuple(
                        ToolCall(
                            name=c.function.name,
                            arguments=dict(c.function.arguments or {}),
                            id=getattr(c, "id", None),
                        )
                        for c in (msg.tool_calls or ())
                    )
                    if part.done:
                        finished = True
                        yield ChatChunk(
                            content=content,
                            thinking=msg.thinking or "",
                            tool_calls=calls,
                            done=True,
                            done_reason=part.done_reason,
                            stats=GenerationStats.from_ollama(part),
                        )
                        return
                    yield ChatChunk(content=content, thinking=msg.thinking or "", tool_calls=calls)
        except Exception as exc:
            raise self._translate(
                exc,
                model=model,
                partial="".join(partial),
                streaming=True,
                read_timeout=self.read_timeout,
            ) from None
        if not finished:
            raise StreamInterrupted(
                "the stream ended before the reply was complete", "".join(partial)
            )

    async def embed(self, texts: Sequence[str], model: str) -> list[list[float]]:
        if not texts:
            return []
        try:
            r = await self._client(long=True).embed(model=model, input=list(texts))
        except Exception as exc:
            raise self._translate(exc, model=model, read_timeout=self.read_timeout) from None
        vectors = [list(v) for v in r.embeddings]
        if len(vectors) != len(texts):
            raise BadResponse(f"{len(vectors)} embeddings for {len(texts)} texts")
        return vectors


# -- helpers -------------------------------------------------------------------------------------


def _response_error(response: httpx.Response) -> Exception:
    import ollama

    return ollama.ResponseError(response.text, response.status_code)


def _pull_failure(model: str, message: str) -> PislmError:
    if "file does not exist" in message or "not found" in message:
        return ModelNotFound(model, message, in_registry=True)
    return ServerError(
        None, message, "the pull failed; what was downloaded is kept, pull again to resume"
    )


def _suffix(info: Mapping[str, Any], suffix: str) -> int | None:
    for key, value in info.items():
        if key.endswith(suffix) and isinstance(value, int):
            return value
    return None


def _model_info(m: Any, raw: Mapping[str, Any]) -> ModelInfo:
    d = m.details
    modified = m.modified_at if isinstance(m.modified_at, datetime) else None
    capabilities = raw.get("capabilities")
    return ModelInfo(
        name=m.model or str(raw.get("name") or "?"),
        size=int(m.size) if m.size is not None else None,
        modified_at=modified,
        digest=m.digest,
        family=d.family if d else None,
        families=tuple(d.families or ()) if d else (),
        parameter_size=d.parameter_size if d else None,
        quantization=d.quantization_level if d else None,
        format=d.format if d else None,
        remote=bool(raw.get("remote_host") or raw.get("remote_model")),
        capabilities=frozenset(
            c
            for c in (capabilities if isinstance(capabilities, list) else ())
            if isinstance(c, str)
        ),
    )


def _wire_message(m: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.images:
        wire["images"] = list(m.images)  # bytes; the client base64-encodes them
    if m.thinking:
        wire["thinking"] = m.thinking
    if m.tool_calls:
        wire["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls
        ]
    if m.tool_name:
        wire["tool_name"] = m.tool_name
    return wire
