"""The backend interface every tab and command talks to. Two implementations: native Ollama
(`ollama_native.OllamaBackend`) and any OpenAI-compatible server (`openai_compat.OpenAIBackend`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pislm_tui.backend.types import (
    ChatChunk,
    LoadedModel,
    Message,
    ModelDetails,
    ModelInfo,
    PullProgress,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI

KeepAlive = str | float | int | None
Format = str | dict[str, Any] | None
Think = bool | str | None


@runtime_checkable
class Backend(Protocol):
    kind: str  # "ollama" or "openai"
    url: str

    def warm_up(self) -> None:
        """Import the client libraries (blocking; callers run it in a thread)."""

    async def version(self) -> str | None:
        """Server version, or None when the kind of server does not say."""

    async def list_models(self) -> list[ModelInfo]: ...

    async def show(self, model: str) -> ModelDetails: ...

    async def loaded(self) -> list[LoadedModel]:
        """Models in memory (`ollama ps`)."""

    def pull(self, model: str) -> AsyncIterator[PullProgress]:
        """Progress lines; raises `ServerError` when the server reports a failure mid-pull.
        Cancelling the consumer closes the connection and stops the pull."""

    async def delete(self, model: str) -> None: ...

    async def load(self, model: str, keep_alive: KeepAlive = None) -> None:
        """Load (warm up) a model without generating."""

    async def unload(self, model: str) -> None: ...

    def chat(
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
        """Stream a reply. Ends with a chunk whose `done` is True (with stats when known).
        Raises `StreamInterrupted` (with what arrived) when the stream breaks. Cancelling the
        consumer closes the request's connection."""

    async def embed(self, texts: Sequence[str], model: str) -> list[list[float]]:
        """Embeddings for all `texts` in one request."""

    def openai_client(self) -> AsyncOpenAI:
        """An `openai.AsyncOpenAI` for this server's `/v1` API (structured output goes through
        instructor over it). Created on first use; closed with the backend."""

    async def aclose(self) -> None: ...
