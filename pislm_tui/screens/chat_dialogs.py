"""Small dialogs the Chat tab uses: a one-line text prompt (rename) and a yes/no question."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

DIALOG_CSS = """
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
"""


class TextPrompt(ModalScreen[str | None]):
    """Asks for one line of text; Enter accepts, Esc cancels."""

    DEFAULT_CSS = "TextPrompt {" + DIALOG_CSS + "}"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="chat.dialog_cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self._title), classes="title")
            yield Input(self._value, placeholder=self._placeholder, id="text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """A yes/no question; Enter on the focused button, Y or N, Esc says no."""

    DEFAULT_CSS = "Confirm {" + DIALOG_CSS + "}"
    BINDINGS = [
        Binding("escape,n", "answer(False)", "No", id="chat.dialog_no"),
        Binding("y", "answer(True)", "Yes", id="chat.dialog_yes"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self._question = question
        self._yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self._question), classes="title")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button(self._yes, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
