"""`RagAnswer`: the grounded answer, streamed into a `ReplyMarkdown` (the Chat reply's widget)
from a buffer a few times a second (not per token), then a line with the elapsed time and
generation figures. The flush timer runs only while an answer streams, so a finished answer costs
nothing."""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from pislm_tui.backend.stats import GenerationStats
from pislm_tui.widgets.reply_markdown import ReplyMarkdown

# Blank lines kept below a streaming answer, so that its new lines need no layout of the screen
# (the answer grows by this many lines at a time).
PAGE_LINES = 4


def figures_line(elapsed_s: float, stats: GenerationStats | None) -> Content:
    """`2.41 s · 18.70 tok/s · 58 tokens (355 in)`: wall time from the question to the end of
    the answer (retrieval included), then the model's own figures."""
    parts = [f"{elapsed_s:.2f} s"]
    if stats is not None:
        if stats.eval_rate is not None:
            parts.append(f"{stats.eval_rate:.2f} tok/s")
        if stats.eval_count is not None:
            context = f" ({stats.prompt_eval_count} in)" if stats.prompt_eval_count else ""
            parts.append(f"{stats.eval_count} tokens{context}")
    return Content(" · ".join(parts))


class RagAnswer(Vertical):
    DEFAULT_CSS = """
    RagAnswer {
        height: auto;
        display: none;
        &.-shown { display: block; }
        #rag-answer-title { text-style: bold; color: $text-muted; margin-top: 1; }
        ReplyMarkdown { height: auto; margin: 0; padding: 0; background: transparent; }
        ReplyMarkdown MarkdownBlock:last-child { margin-bottom: 0; }
        #rag-answer-figures { color: $text-muted; height: auto; }
        &.-failed #rag-answer-figures { color: $error; }
    }
    """

    def __init__(self, *, hz: float = 6.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hz = hz
        self._buffer: list[str] = []
        self._timer: Timer | None = None
        self._waiting = False  # "waiting for the model…" is shown
        self._flushing = asyncio.Lock()  # a timer tick and the end of the answer never interleave
        self.text = ""  # everything received so far

    def compose(self) -> ComposeResult:
        yield Static("Answer", id="rag-answer-title", markup=False)
        yield self._new_markdown()
        yield Static(id="rag-answer-figures", markup=False)

    @property
    def streaming(self) -> bool:
        return self._timer is not None

    async def start(self, model: str) -> None:
        await self.clear()
        self.add_class("-shown")
        self.query_one("#rag-answer-title", Static).update(Content(f"Answer · {model}"))
        self.query_one("#rag-answer-figures", Static).update(Content("waiting for the model…"))
        self._waiting = True
        self._timer = self.set_interval(1 / self.hz, self._flush)

    def feed(self, text: str) -> None:
        """Text already cleaned of escape codes (see `text.StreamCleaner`)."""
        if text:
            self._buffer.append(text)
            self.text += text

    async def finish(self, figures: Content) -> None:
        await self._end()
        self.query_one("#rag-answer-figures", Static).update(figures)

    async def fail(self, message: str) -> None:
        """Keep what arrived; say why it stopped."""
        await self._end()
        self.add_class("-failed")
        self.query_one("#rag-answer-figures", Static).update(Content(message))

    async def clear(self) -> None:
        self._stop_timer()
        self._buffer.clear()
        self.text = ""
        self.remove_class("-shown", "-failed")
        # A fresh widget per answer: the finished one holds the old text as Markdown.
        await self.query(ReplyMarkdown).remove()
        await self.mount(self._new_markdown(), before="#rag-answer-figures")

    @staticmethod
    def _new_markdown() -> ReplyMarkdown:
        return ReplyMarkdown(streaming=True, page_lines=PAGE_LINES)

    async def _end(self) -> None:
        self._stop_timer()
        async with self._flushing:
            await self._flush_now()
            await self.query_one(ReplyMarkdown).finish()

    async def _flush(self) -> None:
        async with self._flushing:
            await self._flush_now()

    async def _flush_now(self) -> None:
        if not self._buffer:
            return
        chunk = "".join(self._buffer)
        self._buffer.clear()
        scroller = self.parent if isinstance(self.parent, ScrollableContainer) else None
        # Follow a growing answer, unless the reader scrolled up to read something else.
        follow = scroller is not None and scroller.scroll_y >= scroller.max_scroll_y - 1
        await self.query_one(ReplyMarkdown).append_text(chunk)
        if self._waiting:
            self._waiting = False
            self.query_one("#rag-answer-figures", Static).update("")
        if follow and scroller is not None:
            self.call_after_refresh(scroller.scroll_end, animate=False)

    def pause(self) -> None:
        """The tab is hidden: stop redrawing (text keeps arriving in the buffer)."""
        if self._timer is not None:
            self._timer.pause()

    def resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
