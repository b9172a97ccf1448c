"""Pick what to copy: the last reply, or one of the code blocks of the chat (newest first)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pislm_tui.screens.dialog import Dialog


class CopyScreen(Dialog[str | None]):
    DEFAULT_CSS = """
    CopyScreen {
        & > Vertical { width: 76; }
        OptionList { height: auto; max-height: 16; border: none; padding: 0; }
        .hint { color: $text-muted; padding: 1 0 0 0; }
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="chat.copy_cancel")]

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        """`choices`: (label, text to copy)."""
        super().__init__()
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Copy to the clipboard", classes="title")
            yield OptionList(
                *(Option(Content(label), id=str(n)) for n, (label, _) in enumerate(self.choices))
            )
            yield Static(
                "Enter copies (through the terminal, OSC 52: works over SSH) · Esc cancel",
                classes="hint",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[int(event.option.id or 0)][1])

    def action_cancel(self) -> None:
        self.dismiss(None)
