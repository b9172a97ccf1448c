"""The only code that talks to servers. `make_backend(settings)` returns the right implementation;
nothing heavy is imported until the first request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pislm_tui.backend.base import Backend
from pislm_tui.backend.errors import (
    BadResponse,
    ModelNotFound,
    PislmError,
    RequestTimeout,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
    Unsupported,
    UsageError,
)
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.backend.types import (
    ChatChunk,
    LoadedModel,
    Message,
    ModelDetails,
    ModelInfo,
    PullProgress,
    ServerInfo,
    ToolCall,
)

if TYPE_CHECKING:
    from pislm_tui.config import Settings

__all__ = [
    "Backend",
    "BadResponse",
    "ChatChunk",
    "GenerationStats",
    "LoadedModel",
    "Message",
    "ModelDetails",
    "ModelInfo",
    "ModelNotFound",
    "PislmError",
    "PullProgress",
    "RequestTimeout",
    "ServerError",
    "ServerInfo",
    "ServerUnreachable",
    "StreamInterrupted",
    "ToolCall",
    "Unsupported",
    "UsageError",
    "make_backend",
]


def make_backend(settings: Settings) -> Backend:
    if settings.api == "openai":
        from pislm_tui.backend.openai_compat import OpenAIBackend

        return OpenAIBackend(
            settings.host,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            api_key=settings.api_key,
        )
    from pislm_tui.backend.ollama_native import OllamaBackend

    return OllamaBackend(
        settings.host,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        api_key=settings.api_key,
    )
