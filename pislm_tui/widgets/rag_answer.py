"""`RagAnswer`: the grounded answer as Markdown, fed from a buffer a few times a second (not per
token), then a line with the model, elapsed time and generation figures. The flush timer runs
only while an answer streams, so a finished answer costs nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Markdown, Static

from pislm_tui.backend.stats import GenerationStats


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
        #rag-answer-text { height: auto; margin: 0; padding: 0; background: transparent; }
        #rag-answer-text > MarkdownBlock { margin-bottom: 0; }
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
        self.text = ""  # everything received so far

    def compose(self) -> ComposeResult:
        yield Static("Answer", id="rag-answer-title", markup=False)
        yield Markdown(id="rag-answer-text")
        yield Static(id="rag-answer-figures", markup=False)

    @property
    def streaming(self) -> bool:
        return self._timer is not None

    def start(self, model: str) -> None:
        self.text = ""
        self._buffer.clear()
        self.remove_class("-failed")
        self.add_class("-shown")
        self.query_one("#rag-answer-title", Static).update(Content(f"Answer · {model}"))
        self.query_one("#rag-answer-figures", Static).update(Content("waiting for the model…"))
        self._waiting = True
        self.query_one(Markdown).update("")
        self._stop_timer()
        self._timer = self.set_interval(1 / self.hz, self._flush)

    def feed(self, text: str) -> None:
        """Text already cleaned of escape codes (see `text.StreamCleaner`)."""
        if text:
            self._buffer.append(text)
            self.text += text

    def finish(self, figures: Content) -> None:
        self._flush()
        self._stop_timer()
        self.query_one("#rag-answer-figures", Static).update(figures)

    def fail(self, message: str) -> None:
        """Keep what arrived; say why it stopped."""
        self._flush()
        self._stop_timer()
        self.add_class("-failed")
        self.query_one("#rag-answer-figures", Static).update(Content(message))

    def clear(self) -> None:
        self._stop_timer()
        self._buffer.clear()
        self.text = ""
        self.remove_class("-shown", "-failed")

    def _flush(self) -> None:
        if self._buffer:
            chunk = "".join(self._buffer)
            self._buffer.clear()
            scroller = self.parent if isinstance(self.parent, ScrollableContainer) else None
            # Follow a growing answer, unless the reader scrolled up to read something else.
            follow = scroller is not None and scroller.scroll_y >= scroller.max_scroll_y - 1
            self.query_one(Markdown).append(chunk)
            if follow and scroller is not None:
                self.call_after_refresh(scroller.scroll_end, animate=False)
            if self._waiting:
                self._waiting = False
                self.query_one("#rag-answer-figures", Static).update("")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
