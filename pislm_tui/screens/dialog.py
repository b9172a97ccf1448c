"""`Dialog`: the base of pislm's modal dialogs, and `ConfirmScreen`, the one yes/no question.

A dialog composes one `Vertical` (the box) with a `.title` line first and, if it has buttons, a
`.buttons` row last; the base styles them: the box centred on the surface colour, 64 cells wide
(never wider than the terminal), the title bold, the buttons on the right. A dialog adds only
what differs (its width, its fields).

    class PullNameScreen(Dialog[str | None]):
        DEFAULT_CSS = "PullNameScreen { #pull-hint { color: $text-muted; } }"
"""

from __future__ import annotations

from typing import TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        & > Vertical {
            width: 64;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        .title { text-style: bold; padding: 0 0 1 0; }
        .buttons { height: auto; align-horizontal: right; padding: 1 0 0 0; }
        .buttons Button { margin: 0 0 0 1; }
    }
    """

    def on_mount(self) -> None:
        # The dialog's own keys at the bottom, where the user looks for them: the app's footer
        # under the dialog shows the tab's keys (the RAG tab's Esc says "Stop" there, while Esc
        # here cancels the dialog). Subclasses' own on_mount run as well (Textual calls each).
        footer = Footer()
        footer.bindings_changed(self)  # its keys with the first frame, as the app's footer
        self.mount(footer)


class ConfirmScreen(Dialog[bool]):
    """A yes/no question (delete a model or a chat, load a model that may not fit in RAM).
    Dismisses with True for the confirming button or `y`, False for Cancel, `n` or Esc. The safe
    answer has the focus: Enter on a surprise dialog must not delete anything."""

    DEFAULT_CSS = """
    ConfirmScreen {
        &.-danger > Vertical { border: thick $error; }
    }
    """
    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel", id="dialog.confirm_no"),
        Binding("y", "answer(True)", "Yes", id="dialog.confirm_yes"),
    ]

    def __init__(
        self, title: str, message: str = "", confirm: str = "OK", *, danger: bool = False
    ) -> None:
        super().__init__(classes="-danger" if danger else None)
        self._title = title
        self._message = message
        self._confirm = confirm
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Content(self._title), id="confirm-title", classes="title")
            if self._message:
                yield Static(Content(self._message), id="confirm-message")
            with Horizontal(id="confirm-buttons", classes="buttons"):
                yield Button("Cancel", id="confirm-no")
                yield Button(
                    self._confirm, id="confirm-yes", variant="error" if self._danger else "primary"
                )

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
