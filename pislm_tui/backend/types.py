"""Plain data types the backend returns. No client library types leak past the backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pislm_tui.backend.stats import GenerationStats

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str | None = None


@dataclass(slots=True)
class Message:
    """One chat message. Images are raw file bytes; the backend encodes them for the wire."""

    role: Role
    content: str = ""
    images: list[bytes] = field(default_factory=list)
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_name: str | None = None


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """A piece of a streamed reply. The last chunk has `done=True` and, when known, `stats`."""

    content: str = ""
    thinking: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    done: bool = False
    done_reason: str | None = None
    stats: GenerationStats | None = None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """An installed model, as `ollama list` shows it."""

    name: str
    size: int | None = None
    modified_at: datetime | None = None
    digest: str | None = None
    family: str | None = None
    families: tuple[str, ...] = ()
    parameter_size: str | None = None
    quantization: str | None = None
    format: str | None = None
    # A cloud entry: the server forwards it to another host (Ollama's `remote_host`/`remote_model`).
    remote: bool = False
    # What the listing says the model can do (newer servers); empty when it does not say.
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """What `ollama show` says about a model."""

    name: str
    family: str | None = None
    parameter_size: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    embedding_length: int | None = None
    capabilities: frozenset[str] = frozenset()
    template: str = ""
    parameters: str = ""
    license: str = ""
    system: str = ""
    modified_at: datetime | None = None
    model_info: dict[str, Any] = field(default_factory=dict)

    @property
    def supports_vision(self) -> bool:
        return "vision" in self.capabilities

    @property
    def supports_tools(self) -> bool:
        return "tools" in self.capabilities

    @property
    def supports_thinking(self) -> bool:
        return "thinking" in self.capabilities

    @property
    def is_embedding(self) -> bool:
        return "embedding" in self.capabilities and "completion" not in self.capabilities


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model in memory, as `ollama ps` shows it."""

    name: str
    size: int | None = None
    size_vram: int | None = None
    expires_at: datetime | None = None
    context_length: int | None = None

    @property
    def processor(self) -> str:
        """`ollama ps`'s PROCESSOR column."""
        if not self.size or not self.size_vram:
            return "100% CPU"
        if self.size_vram >= self.size:
            return "100% GPU"
        gpu = round(100 * self.size_vram / self.size)
        return f"{100 - gpu}%/{gpu}% CPU/GPU"


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One line of a pull: a status, and for layer downloads the digest and byte counts."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


@dataclass(frozen=True, slots=True)
class ServerInfo:
    kind: str
    url: str
    version: str | None
