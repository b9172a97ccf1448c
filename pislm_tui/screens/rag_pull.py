"""`EmbedModelPullScreen`: the embedding model RAG needs is not installed — say so and offer to
pull it, with the Models tab's progress panel. Dismisses with True once the model is pulled,
False when the user declines, cancels or the pull fails (after they read why)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from pislm_tui.app_access import AppAccess
from pislm_tui.screens.dialog import Dialog
from pislm_tui.widgets.pull_progress import PullPanel


class EmbedModelPullScreen(AppAccess, Dialog[bool]):
    DEFAULT_CSS = """
    EmbedModelPullScreen {
        & > Vertical { width: 72; border: thick $warning; padding: 1 2; }
        #rag-pull-title { text-style: bold; margin-bottom: 1; }
        #rag-pull-message { margin-bottom: 1; }
        #rag-pull-buttons { height: auto; align-horizontal: right; }
        #rag-pull-buttons Button { margin-left: 2; }
    }
    """
    BINDINGS = [Binding("escape", "close", "Cancel", id="rag.pull_cancel")]

    def __init__(self, model: str, purpose: str) -> None:
        super().__init__()
        self.model = model
        self.purpose = purpose  # "add documents", "answer questions"

    def compose(self) -> ComposeResult:
        with Vertical(id="rag-pull-box"):
            yield Static(Content(f"{self.model} is not installed"), id="rag-pull-title")
            yield Static(
                Content(
                    f"RAG needs the embedding model {self.model} to {self.purpose}: it turns "
                    "text into vectors. Pull it from the Ollama library now?"
                ),
                id="rag-pull-message",
            )
            with Horizontal(id="rag-pull-buttons"):
                yield Button("Cancel", id="rag-pull-no")
                yield Button(f"Pull {self.model}", id="rag-pull-yes", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#rag-pull-yes", Button).focus()

    @on(Button.Pressed, "#rag-pull-yes")
    async def _pull(self, event: Button.Pressed) -> None:
        event.stop()
        await self.query(PullPanel).remove()  # a failed attempt's panel
        self.query_one("#rag-pull-buttons").display = False
        panel = PullPanel(self.model)
        await self.query_one("#rag-pull-box").mount(panel, before="#rag-pull-buttons")
        panel.query_one(Button).focus()

    @on(Button.Pressed, "#rag-pull-no")
    def _no(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    @on(PullPanel.Finished)
    def _finished(self, event: PullPanel.Finished) -> None:
        event.stop()
        if event.ok:
            self.pislm.check_connection()  # the model list changed
            self.dismiss(True)
        elif event.cancelled:
            self.dismiss(False)
        else:  # the panel shows why; the user may read it, try again or close
            self.query_one("#rag-pull-no", Button).label = "Close"
            self.query_one("#rag-pull-yes", Button).label = "Try again"
            self.query_one("#rag-pull-buttons").display = True

    def action_close(self) -> None:
        panels = self.query(PullPanel)
        if panels and panels.first().running:
            panels.first().cancel()  # Finished(cancelled) dismisses
        else:
            self.dismiss(False)
