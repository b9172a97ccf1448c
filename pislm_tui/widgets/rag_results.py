"""`RagResults`: the RAG tab's pane under the question. A message (what to do next, an ingest's
report, an error), the chunks retrieved (`RagHits`) and the streamed answer (`RagAnswer`). It
only draws what the tab hands it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from pislm_tui.rag import IngestReport, RetrievedChunk
from pislm_tui.text import short_path
from pislm_tui.widgets.rag_answer import RagAnswer
from pislm_tui.widgets.rag_hits import RagHits

MAX_SKIPPED_SHOWN = 20


def report_text(report: IngestReport, stopped: bool = False) -> Content:
    """What an ingest did, with every skipped file and why."""
    rate = f" in {report.elapsed_s:.1f} s ({report.rate:.0f} chunks/s)" if report.rate else ""
    parts: list[Content] = [
        Content.assemble(
            (f"{'Stopped adding' if stopped else 'Added'} to {report.collection}: ", "bold"),
            f"{report.summary()}{rate}",
        )
    ]
    for s in report.skipped[:MAX_SKIPPED_SHOWN]:
        parts.append(
            Content.assemble("  skipped ", (short_path(s.source), "bold"), f": {s.reason}")
        )
    if len(report.skipped) > MAX_SKIPPED_SHOWN:
        parts.append(Content(f"  … and {len(report.skipped) - MAX_SKIPPED_SHOWN} more skipped"))
    return Content("\n").join(parts)


def stopped_text(collection: str, files: int) -> Content:
    return Content(
        f"Stopped adding to {collection}: {files} file{'s' if files != 1 else ''} stored whole. "
        "Add again to continue (stored files are not embedded again)."
    )


def idle_text(has_collections: bool, top_k: int) -> Content:
    """What to do next: load the sample or add files; or ask, with the keys that manage."""
    if not has_collections:
        return Content.assemble(
            ("No collections yet.\n\n", "bold"),
            "Press ",
            ("d", "bold $accent"),
            " to load the bee-facts sample (the lab's knowledge base) and try a question, or ",
            ("a", "bold $accent"),
            " to add your own files and folders: text, Markdown, HTML, CSV, JSON, code and PDF.",
        )
    return Content.assemble(
        "Type a question above and press Enter: the ",
        str(top_k),
        " nearest chunks are shown with their sources, then the model answers from them only.\n\n",
        ("a", "bold $accent"),
        " adds files · ",
        ("x", "bold $accent"),
        " removes the highlighted source · ",
        ("Del", "bold $accent"),
        " deletes the collection",
    )


class RagResults(VerticalScroll):
    DEFAULT_CSS = """
    RagResults {
        height: 1fr;
        padding-right: 1;
        #rag-message { height: auto; }
        #rag-message.-error { color: $error; }
        #rag-message.-muted { color: $text-muted; }
    }
    """

    def __init__(self, *, hz: float, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hz = hz

    def compose(self) -> ComposeResult:
        yield Static(Content("Opening the document store…"), id="rag-message", classes="-muted")
        yield RagHits(id="rag-hits")
        yield RagAnswer(id="rag-answer", hz=self.hz)

    @property
    def hits(self) -> RagHits:
        return self.query_one(RagHits)

    @property
    def answer(self) -> RagAnswer:
        return self.query_one(RagAnswer)

    def say(self, text: Content | str, style: str | None = None) -> None:
        """The message: `-error`, `-muted` or plain; empty hides it."""
        message = self.query_one("#rag-message", Static)
        message.update(Content(text) if isinstance(text, str) else text)
        message.set_class(style == "-error", "-error")
        message.set_class(style == "-muted", "-muted")
        message.display = bool(text)

    def show_idle(self, has_collections: bool, top_k: int) -> None:
        self.say(idle_text(has_collections, top_k), "-muted")

    def show_hits(self, hits: list[RetrievedChunk]) -> None:
        self.hits.show_hits(hits)

    async def clear(self) -> None:
        """No chunks, no answer (the message stays)."""
        self.hits.show_hits([])
        await self.answer.clear()
