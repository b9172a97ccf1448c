"""Settings of the current chat: model, system prompt, options, keep-alive, thinking. Applied to
this chat (and saved with it), or also saved as the defaults for new chats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from pislm_tui.backend.errors import UsageError
from pislm_tui.chat.conversation import SessionSettings
from pislm_tui.chat.options import CHAT_OPTION_NAMES, check_options, format_value, parse_value
from pislm_tui.screens.dialog import Dialog

_THINK = [("model default", "default"), ("on", "on"), ("off", "off")]


@dataclass(frozen=True)
class SettingsResult:
    settings: SessionSettings
    save_as_default: bool


class ChatSettingsScreen(Dialog[SettingsResult | None]):
    DEFAULT_CSS = """
    ChatSettingsScreen {
        & > Vertical { width: 76; }
        .row { height: 1; margin: 0 0 1 0; }
        .row Label { width: 14; }
        .row Select { width: 1fr; }
        #system { height: 5; margin: 0 0 1 0; background: $boost; }
        Grid { grid-size: 4; grid-columns: 13 1fr 13 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto; }
        Grid Label { color: $text-muted; }
        #error { color: $text-error; height: auto; }
        .buttons { height: auto; }
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="chat.settings_cancel"),
        Binding("ctrl+s", "apply", "Apply", id="chat.settings_apply"),
    ]

    def __init__(
        self, settings: SessionSettings, models: list[tuple[str, str]], thinking: bool | None
    ) -> None:
        """`models`: (label, name) pairs; `thinking`: whether the chosen model can think
        (None: unknown, the toggle stays available)."""
        super().__init__()
        self.settings = settings
        self.models = models
        self.thinking = thinking

    def compose(self) -> ComposeResult:
        s = self.settings
        with Vertical():
            yield Static("Chat settings", classes="title")
            with Horizontal(classes="row"):
                yield Label("Model")
                names = [name for _, name in self.models]
                options = [(Content(label), name) for label, name in self.models]
                if s.model and s.model not in names:
                    options.insert(0, (Content(f"{s.model} (not installed)"), s.model))
                yield Select(
                    options,
                    value=s.model if s.model else Select.BLANK,
                    compact=True,
                    id="model",
                    allow_blank=not s.model,
                    prompt="choose a model",
                )
            yield Label("System prompt")
            yield TextArea(s.system_prompt, id="system", soft_wrap=True, compact=True)
            with Grid():
                for name in CHAT_OPTION_NAMES:
                    yield Label(name)
                    value = s.options.get(name)
                    yield Input(
                        "" if value is None else format_value(value),
                        placeholder="default",
                        compact=True,
                        id=f"opt-{name}",
                    )
                yield Label("keep_alive")
                yield Input(s.keep_alive or "", placeholder="5m", compact=True, id="keep_alive")
                yield Label("thinking")
                think = "default" if s.think is None else "on" if s.think else "off"
                yield Select(_THINK, value=think, allow_blank=False, compact=True, id="think")
            yield Static(id="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save as default", id="default")
                yield Button("Apply", id="apply", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#think", Select).disabled = self.thinking is False

    def _read(self) -> SessionSettings:
        options: dict[str, Any] = {
            k: v for k, v in self.settings.options.items() if k not in CHAT_OPTION_NAMES
        }
        for name in CHAT_OPTION_NAMES:
            raw = self.query_one(f"#opt-{name}", Input).value.strip()
            if raw:
                options[name] = parse_value(name, raw)
        check_options(options)
        model = self.query_one("#model", Select).value
        think = self.query_one("#think", Select).value
        return SessionSettings(
            model=model if isinstance(model, str) else None,
            system_prompt=self.query_one("#system", TextArea).text,
            options=options,
            keep_alive=self.query_one("#keep_alive", Input).value.strip() or None,
            think=None if think == "default" else think == "on",
        )

    def _finish(self, save_as_default: bool) -> None:
        try:
            settings = self._read()
        except UsageError as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.dismiss(SettingsResult(settings, save_as_default))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self._finish(save_as_default=event.button.id == "default")

    def action_apply(self) -> None:
        self._finish(save_as_default=False)

    def action_cancel(self) -> None:
        self.dismiss(None)
