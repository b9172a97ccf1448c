"""`RagHits`: the chunks retrieved for a question — number, source path, chunk (and page),
distance and text. Collapsed (the default) each chunk takes one line, so the answer stays in
view at 80x24; expanded (a click, or the tab's key) shows every chunk's whole text. Document
text is data: cleaned of escape codes and never parsed as markup."""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from pislm_tui.rag.store import RetrievedChunk
from pislm_tui.text import clean_output, short_path


def hit_heading(n: int, hit: RetrievedChunk) -> Content:
    page = f" p.{hit.page}" if hit.page else ""
    return Content.assemble(
        (f"[{n}] ", "bold $accent"),
        (short_path(hit.source), "bold"),
        (f" #{hit.chunk}{page}", "$text-muted"),
        (f" · {hit.distance:.3f}", "$text-muted"),
    )


def hit_content(n: int, hit: RetrievedChunk, expanded: bool) -> Content:
    if expanded:
        return Content.assemble(hit_heading(n, hit), "\n", clean_output(hit.text).strip())
    snippet = " ".join(clean_output(hit.text).split())
    return Content.assemble(hit_heading(n, hit), (f"  {snippet}", "$text-muted"))


class RagHits(Vertical):
    DEFAULT_CSS = """
    RagHits {
        height: auto;
        display: none;
        &.-shown { display: block; }
        #rag-hits-title { color: $text-muted; }
        .rag-hit { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
        &.-expanded .rag-hit { height: auto; text-wrap: wrap; margin-bottom: 1; }
    }
    """

    expanded: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hits: list[RetrievedChunk] = []

    def compose(self) -> ComposeResult:
        yield Static(id="rag-hits-title", markup=False)

    def show_hits(self, hits: Sequence[RetrievedChunk]) -> None:
        """Replace what is shown (an empty list hides the block)."""
        self.hits = list(hits)
        self.query(".rag-hit").remove()
        if self.hits:
            self.mount_all(
                Static(hit_content(n, h, self.expanded), classes="rag-hit")
                for n, h in enumerate(self.hits, start=1)
            )
        self._title()
        self.set_class(bool(self.hits), "-shown")

    def watch_expanded(self, expanded: bool) -> None:
        self.set_class(expanded, "-expanded")
        for n, (row, hit) in enumerate(zip(self.query(".rag-hit"), self.hits, strict=False), 1):
            row.update(hit_content(n, hit, expanded))  # type: ignore[attr-defined]
        self._title()

    def _title(self) -> None:
        how = "v folds" if self.expanded else "v shows whole chunks"
        self.query_one("#rag-hits-title", Static).update(
            Content.assemble(("Sources", "bold"), f" · nearest first · {how}")
        )

    def on_click(self, event: events.Click) -> None:
        self.expanded = not self.expanded
