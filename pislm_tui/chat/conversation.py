"""The conversation model: messages as the app keeps them (with status, figures and images),
session settings, and the request that carries the whole history to the model."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from pislm_tui.backend.stats import GenerationStats
from pislm_tui.backend.types import Message, Role
from pislm_tui.chat.images import human_size
from pislm_tui.chat.options import check_options
from pislm_tui.config import ChatSettings

if TYPE_CHECKING:
    from pislm_tui.monitor.conditions import RunConditions

# complete: ended normally · streaming: still arriving (or the app died while it did) ·
# stopped: the user pressed Esc · error: the stream broke; `error` says how.
MessageStatus = Literal["complete", "streaming", "stopped", "error"]

TITLE_LENGTH = 60


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image sent with a prompt: kept with the message so a regenerate sends it again."""

    name: str
    data: bytes

    @property
    def label(self) -> str:
        return f"{self.name} · {human_size(len(self.data))}"


@dataclass(slots=True)
class ChatMessage:
    role: Role
    content: str = ""
    thinking: str = ""
    images: list[StoredImage] = field(default_factory=list)
    model: str | None = None
    stats: GenerationStats | None = None
    # the machine while the reply was made (monitor.conditions); shown, not saved
    conditions: RunConditions | None = None
    done_reason: str | None = None
    status: MessageStatus = "complete"
    error: str | None = None
    id: int | None = None  # row id once stored
    created_at: float = field(default_factory=time.time)

    def to_wire(self) -> Message:
        return Message(
            role=self.role,
            content=self.content,
            images=[image.data for image in self.images],
            thinking=self.thinking,
        )

    @property
    def note(self) -> str | None:
        """What to say under a reply that did not end normally."""
        if self.status == "stopped":
            return "stopped" if self.content else "stopped before any text arrived"
        if self.status == "error":
            return self.error or "the reply was cut off"
        if self.status == "streaming":
            return "unfinished: pislm closed while this reply was arriving"
        if self.done_reason == "length":
            return "cut at the length limit (num_predict or the context size)"
        return None


class SessionSettings(BaseModel):
    """What a chat is run with; saved with the session so reopening it restores them."""

    model_config = ConfigDict(extra="ignore", validate_assignment=True)

    model: str | None = None
    system_prompt: str = ""
    options: dict[str, Any] = {}
    keep_alive: str | None = None
    think: bool | None = None
    tools: bool = False  # the model may call the built-in and MCP tools (off: a plain chat)

    @field_validator("options")
    @classmethod
    def _check_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_options({k: v for k, v in value.items() if v is not None})

    @classmethod
    def from_defaults(cls, chat: ChatSettings, model: str | None) -> SessionSettings:
        return cls(
            model=model,
            system_prompt=chat.system_prompt,
            options=chat.options.to_request(),
            keep_alive=chat.keep_alive,
            think=chat.think,
        )


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """Arguments of one `backend.chat()` call."""

    model: str
    messages: list[Message]
    options: dict[str, Any]
    think: bool | None
    keep_alive: str | float | None

    def kwargs(self) -> dict[str, Any]:
        return {
            "options": self.options or None,
            "think": self.think,
            "keep_alive": _keep_alive(self.keep_alive),
        }


def _keep_alive(value: str | float | None) -> str | float | None:
    """Ollama takes seconds as a number or a Go duration; a bare "-1" or "300" means seconds."""
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return float(text) if "." in text else int(text)
        return text or None
    return value


@dataclass
class Conversation:
    settings: SessionSettings
    messages: list[ChatMessage] = field(default_factory=list)
    id: int | None = None
    title: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    host: str | None = None  # the host it is held with: a [hosts.NAME] name or an address

    def history(self) -> list[Message]:
        """The whole conversation as the model gets it: system prompt first, then every turn.
        A reply stopped before any text is left out (it said nothing)."""
        wire: list[Message] = []
        if self.settings.system_prompt.strip():
            wire.append(Message(role="system", content=self.settings.system_prompt))
        for message in self.messages:
            if message.role == "assistant" and not message.content:
                continue
            wire.append(message.to_wire())
        return wire

    def request(self, model: str | None = None) -> ChatRequest:
        chosen = model or self.settings.model
        if not chosen:
            raise ValueError("no model chosen")
        return ChatRequest(
            model=chosen,
            messages=self.history(),
            options=dict(self.settings.options),
            think=self.settings.think,
            keep_alive=self.settings.keep_alive,
        )

    def last_index(self, role: Role) -> int | None:
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == role:
                return index
        return None

    def last_reply(self) -> ChatMessage | None:
        index = self.last_index("assistant")
        return None if index is None else self.messages[index]

    def context_used(self) -> int | None:
        """Tokens the last exchange occupied in the model's context (prompt + reply)."""
        for message in reversed(self.messages):
            if message.role == "assistant" and message.stats is not None:
                prompt = message.stats.prompt_eval_count or 0
                reply = message.stats.eval_count or 0
                return prompt + reply or None
        return None


def title_from_prompt(prompt: str, images: int = 0) -> str:
    """A session title: the prompt's first words on one line."""
    text = " ".join(prompt.split())
    if not text:
        return "Image" if images == 1 else f"{images} images" if images else "New chat"
    if len(text) > TITLE_LENGTH:
        cut = text[: TITLE_LENGTH - 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > TITLE_LENGTH // 2 else cut).rstrip(" ,.;:") + "…"
    return text


def settings_summary(settings: SessionSettings) -> list[tuple[str, str]]:
    """Labelled lines for exports and the settings screen."""
    from pislm_tui.chat.options import format_value

    rows: list[tuple[str, str]] = [("Model", settings.model or "(none)")]
    if settings.options:
        rows.append(
            ("Options", ", ".join(f"{k}={format_value(v)}" for k, v in settings.options.items()))
        )
    if settings.keep_alive:
        rows.append(("Keep alive", settings.keep_alive))
    if settings.think is not None:
        rows.append(("Thinking", "on" if settings.think else "off"))
    return rows


def merge_options(base: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """`updates` over `base`; a None value removes the option (back to the model's default)."""
    merged = dict(base)
    for key, value in updates.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return check_options(merged)
