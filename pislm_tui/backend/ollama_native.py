"""Native Ollama API through `ollama.AsyncClient`. The ollama package is imported on first use,
not at start-up (it costs ~0.4 s), and every client gets explicit timeouts (its default is none)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import (
    BadResponse,
    PislmError,
    ServerError,
    StreamInterrupted,
)
from pislm_tui.backend.ollama_errors import (
    looks_like_html,
    pull_failure,
    response_error,
    translate_error,
)
from pislm_tui.backend.ollama_wire import model_info, number_ending, wire_message
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
        return translate_error(
            exc,
            self.url,
            model=model,
            partial=partial,
            streaming=streaming,
            read_timeout=read_timeout,
        )

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
            raise self._translate(response_error(response)) from None
        try:
            return response.json()
        except ValueError:
            if looks_like_html(response.text):
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
            models.append(model_info(parsed, entry))
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
            context_length=number_ending(info, ".context_length"),
            embedding_length=number_ending(info, ".embedding_length"),
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
                err = pull_failure(model, err.reason.removeprefix("the server reported: "))
            elif isinstance(err, StreamInterrupted):
                err = StreamInterrupted(
                    err.reason,
                    hint="what was downloaded is kept; pull again to resume",
                    what="pull",
                )
            elif isinstance(err, ServerError) and err.status is None:
                err = pull_failure(model, err.server_message)
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
                messages=[wire_message(m) for m in messages],
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
