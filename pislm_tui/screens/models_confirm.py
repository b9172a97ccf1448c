"""`ConfirmScreen`: a yes/no question in a modal (delete a model, load one that may not fit in
RAM). Dismisses with True for the confirming button or `y`, False for Cancel, `n` or Esc."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        #confirm-box {
            width: 64;
            max-width: 95%;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 1 2;
        }
        &.-danger #confirm-box { border: thick $error; }
        #confirm-title { text-style: bold; margin-bottom: 1; }
        #confirm-message { margin-bottom: 1; }
        #confirm-buttons { height: auto; align-horizontal: right; }
        #confirm-buttons Button { margin-left: 2; }
    }
    """
    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel", id="models.confirm_no"),
        Binding("y", "answer(True)", "Yes", id="models.confirm_yes"),
    ]

    def __init__(
        self, title: str, message: str, confirm: str = "OK", *, danger: bool = False
    ) -> None:
        super().__init__(classes="-danger" if danger else None)
        self._title = title
        self._message = message
        self._confirm = confirm
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Content(self._title), id="confirm-title")
            yield Static(Content(self._message), id="confirm-message")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="confirm-no")
                yield Button(
                    self._confirm, id="confirm-yes", variant="error" if self._danger else "primary"
                )

    def on_mount(self) -> None:
        # The safe answer has the focus: Enter on a surprise dialog must not delete anything.
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
