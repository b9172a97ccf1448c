"""`RagAnswer`: the grounded answer, streamed into a `ReplyMarkdown` (the Chat reply's widget)
from a buffer a few times a second (not per token), then a line with the elapsed time and
generation figures. The flush timer runs only while an answer streams, so a finished answer costs
nothing.

Every change of the Markdown (a flush, the end, clearing) runs one at a time and to its end,
even when the task asking for it is cancelled: stopping the timer cancels its task, and a
flush cancelled while Textual removes a block (a list being re-laid out) cancelled the removed
widgets' own tasks half-way, which ended the whole app silently (issue #12, see crash.py).

A reader at the end of the pane follows the answer to its figures line: once the answer is taller
than the pane, Textual's anchor keeps the end in view through every later layout (one flush may
add more than a screen, laid out after the flush), until the reader scrolls up; back at the end,
it follows again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from pislm_tui.backend.stats import GenerationStats
from pislm_tui.crash import run_to_end
from pislm_tui.shared_frames import frames_of
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
        self._changing = asyncio.Lock()  # flushes, the end and clearing never interleave
        self._following = False  # the reader was at the end when the answer grew
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
        self._lead_frames(True)

    def feed(self, text: str) -> None:
        """Text already cleaned of escape codes (see `text.StreamCleaner`)."""
        if text:
            self._buffer.append(text)
            self.text += text

    async def finish(self, figures: Content) -> None:
        async def end() -> None:
            await self._end()
            self.query_one("#rag-answer-figures", Static).update(figures)
            self._stop_following()

        await self._one_at_a_time(end)

    async def fail(self, message: str) -> None:
        """Keep what arrived; say why it stopped."""

        async def end() -> None:
            await self._end()
            self.add_class("-failed")
            self.query_one("#rag-answer-figures", Static).update(Content(message))
            self._stop_following()

        await self._one_at_a_time(end)

    async def clear(self) -> None:
        async def clear() -> None:
            self._stop_timer()
            self._following = False
            scroller = self._scroller()
            if scroller is not None:
                scroller.anchor(False)  # anchored, a shorter pane would be pushed down
            self._buffer.clear()
            self.text = ""
            self.remove_class("-shown", "-failed")
            # A fresh widget per answer: the finished one holds the old text as Markdown.
            await self.query(ReplyMarkdown).remove()
            await self.mount(self._new_markdown(), before="#rag-answer-figures")

        await self._one_at_a_time(clear)

    @staticmethod
    def _new_markdown() -> ReplyMarkdown:
        return ReplyMarkdown(streaming=True, page_lines=PAGE_LINES)

    async def _one_at_a_time(self, change: Callable[[], Awaitable[None]]) -> None:
        """Run `change` after the ones before it, to its end (see the module docstring)."""

        async def locked() -> None:
            async with self._changing:
                await change()

        await run_to_end(locked(), self)

    async def _end(self) -> None:
        # Under the lock: no flush is running, so stopping the timer cancels no change (a tick
        # waiting for the lock finds the timer gone and does nothing).
        self._stop_timer()
        await self._flush_now()
        await self.query_one(ReplyMarkdown).finish()

    async def _flush(self) -> None:
        """The timer's tick."""
        if not self._buffer:
            self._apply_shared()  # (the strip's reading, while the model has not answered)
            return  # (no task, no lock while the model has not answered yet)

        async def flush() -> None:
            if self._timer is not None:  # still streaming
                await self._flush_now()

        await self._one_at_a_time(flush)

    async def _flush_now(self) -> None:
        if not self._buffer:
            return
        with self.app.batch_update():  # one frame: the text and what waited for it
            self._apply_shared()
            await self._append_buffer()
        # The append yields inside the batch, where the screen ignores idle: wake it now (as
        # the Chat tab's flush does).
        self.screen.check_idle()

    async def _append_buffer(self) -> None:
        chunk = "".join(self._buffer)
        self._buffer.clear()
        scroller = self._scroller()
        if scroller is not None and not self._following:
            # Follow a growing answer, unless the reader scrolled up to read something else.
            self._following = scroller.scroll_y >= scroller.max_scroll_y - 1
        await self.query_one(ReplyMarkdown).append_text(chunk)
        if self._waiting:
            self._waiting = False
            self.query_one("#rag-answer-figures", Static).update("")
        if self._following and scroller is not None and not scroller.is_anchored:
            self.call_after_refresh(self._anchor, scroller)

    def _scroller(self) -> ScrollableContainer | None:
        return self.parent if isinstance(self.parent, ScrollableContainer) else None

    def _anchor(self, scroller: ScrollableContainer) -> None:
        """Anchor the pane once the answer is taller than it (anchoring a shorter pane would
        push its content down); Textual then keeps the end in view."""
        if self._following and not scroller.is_anchored and scroller.max_scroll_y > 0:
            scroller.anchor()

    def _stop_following(self) -> None:
        """The answer ended: once its end is laid out, bring it into view if the anchor was not
        set yet (the end came first), then drop the anchor, so sources unfolded later do not
        move the pane."""
        scroller = self._scroller()
        if scroller is None or not self._following:
            return
        shown = self.query_one(ReplyMarkdown)

        def settle() -> None:
            if next(iter(self.query(ReplyMarkdown)), None) is not shown:
                return  # cleared meanwhile: another answer follows (or not) on its own
            self._anchor(scroller)
            self._following = False
            scroller.call_after_refresh(scroller.anchor, False)

        self.call_after_refresh(settle)

    def pause(self) -> None:
        """The tab is hidden: stop redrawing (text keeps arriving in the buffer)."""
        if self._timer is not None:
            self._timer.pause()
            self._lead_frames(False)

    def resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self._lead_frames(True)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._lead_frames(False)

    # While its flush timer runs, the answer's frames carry the live strip's changes too
    # (shared_frames.py).
    def _lead_frames(self, on: bool) -> None:
        frames = frames_of(self.app)
        if frames is not None:
            frames.lead(self, on)

    def _apply_shared(self) -> None:
        frames = frames_of(self.app)
        if frames is not None:
            frames.apply_pending()
