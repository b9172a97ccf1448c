"""`PullNameScreen`: asks which model to pull, suggesting the models that suit a Pi. Dismisses
with the name, or None when cancelled."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Static

from pislm_tui.backend.errors import UsageError
from pislm_tui.models.pull import check_model_name
from pislm_tui.screens.dialog import Dialog

# Small models that run on a Pi 4/5 (the lab's list); a hint, not a limit: any name works.
PI_MODELS = (
    "llama3.2:1b", "llama3.2:3b", "gemma2:2b", "phi3.5", "qwen2.5:0.5b", "qwen2.5:1.5b",
    "qwen3:1.7b", "tinyllama", "moondream", "llava-phi3", "nomic-embed-text", "all-minilm",
)  # fmt: skip


class PullNameScreen(Dialog[str | None]):
    DEFAULT_CSS = """
    PullNameScreen {
        #pull-title { text-style: bold; }
        #pull-hint { color: $text-muted; margin-bottom: 1; }
        #pull-error { color: $error; height: auto; }
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="models.pull_dialog_cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="pull-box"):
            yield Static("Pull a model", id="pull-title")
            yield Static(
                Content("A name from ollama.com/library, e.g. llama3.2:1b (→ completes)."),
                id="pull-hint",
            )
            yield Input(
                placeholder="model[:tag]",
                id="pull-name",
                suggester=SuggestFromList(PI_MODELS, case_sensitive=False),
            )
            yield Static("", id="pull-error", markup=False)
            with Horizontal(id="pull-buttons", classes="buttons"):
                yield Button("Cancel", id="pull-no")
                yield Button("Pull", id="pull-yes", variant="primary")

    @on(Input.Submitted)
    @on(Button.Pressed, "#pull-yes")
    def _submit(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        raw = self.query_one("#pull-name", Input).value
        try:
            name = check_model_name(raw)
        except UsageError as exc:
            self.query_one("#pull-error", Static).update(str(exc))
            return
        self.dismiss(name)

    @on(Button.Pressed, "#pull-no")
    def _no(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
