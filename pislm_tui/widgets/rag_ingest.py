"""`IngestPanel`: progress of an ingest — what is being read or embedded, a bar, chunks/s —
and how to stop it. Mounted for the duration of an ingest only (a progress bar keeps a timer)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import ProgressBar, Static

from pislm_tui.rag.ingest import IngestProgress


def progress_text(p: IngestProgress) -> Content:
    name = Path(p.source).name if p.source else ""
    if p.phase == "scanning":
        return Content.assemble(
            ("Reading ", "bold"),
            f"file {p.files_done + 1} of {p.files_total}",
            (f" · {name}", "$text-muted"),
        )
    rate = f" · {p.rate:.0f} chunks/s" if p.rate else ""
    head = "Embedding " if p.phase == "embedding" else "Done "
    return Content.assemble(
        (head, "bold"),
        f"{p.chunks_done}/{p.chunks_total} chunks{rate}",
        (f" · file {min(p.files_done + 1, p.files_total)}/{p.files_total} {name}", "$text-muted"),
    )


class IngestPanel(Vertical):
    DEFAULT_CSS = """
    IngestPanel {
        height: auto;
        border: round $primary;
        border-title-color: $text;
        padding: 0 1;
        #rag-ingest-text { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
        #rag-ingest-hint { color: $text-muted; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """

    def __init__(self, collection: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.collection = collection

    def compose(self) -> ComposeResult:
        yield Static(Content("Looking for files…"), id="rag-ingest-text")
        yield ProgressBar(id="rag-ingest-bar", show_eta=False)
        yield Static(
            Content("Esc stops · stored files stay whole · adding again resumes"),
            id="rag-ingest-hint",
        )

    def on_mount(self) -> None:
        self.border_title = Content(f"Adding to {self.collection}")

    def show(self, p: IngestProgress) -> None:
        self.query_one("#rag-ingest-text", Static).update(progress_text(p))
        bar = self.query_one(ProgressBar)
        if p.phase == "scanning":
            bar.update(total=max(p.files_total, 1), progress=p.files_done)
        else:
            bar.update(
                total=max(p.chunks_total, 1), progress=p.chunks_done if p.chunks_total else 1
            )
