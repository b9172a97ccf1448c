"""`BarChart`: a horizontal bar chart drawn as text, one line per bar, in a single widget (not a
widget per bar). Bars use eighth blocks for sub-cell precision and scale to the widget's width;
an optional min–max range is drawn as a thin line behind the bar's end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.content import Content
from textual.geometry import Size
from textual.reactive import var
from textual.widget import Widget

_EIGHTHS = " ▏▎▍▌▋▊▉"
MAX_BAR = 60  # cells: longer bars add nothing but eye travel on a wide terminal


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    low: float | None = None  # the range drawn around the bar's end (min and max of runs)
    high: float | None = None
    text: str = ""  # shown after the bar; default: the value


def bar_cells(value: float, scale: float, width: int) -> str:
    """A bar of `value / scale * width` cells, with an eighth-block tail."""
    if scale <= 0 or width <= 0 or value <= 0:
        return ""
    eighths = round(min(value / scale, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


class BarChart(Widget):
    DEFAULT_CSS = """
    BarChart {
        height: auto;
        width: 1fr;
        color: $foreground;
        &.-empty { color: $text-muted; }
    }
    """
    empty: var[bool] = var(False, toggle_class="-empty")  # set_bars() was given none

    def __init__(
        self,
        bars: Sequence[Bar] = (),
        *,
        empty: str = "no data",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._bars: tuple[Bar, ...] = tuple(bars)
        self._empty = empty

    @property
    def bars(self) -> tuple[Bar, ...]:
        return self._bars

    def set_bars(self, bars: Sequence[Bar]) -> None:
        bars = tuple(bars)
        if bars == self._bars:
            return  # nothing changed: no redraw
        self._bars = bars
        self.empty = not bars
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self._bars))

    def render(self) -> Content:
        if not self._bars:
            return Content(self._empty)
        width = self.content_region.width or self.size.width
        label_w = min(max(len(b.label) for b in self._bars), max(8, width // 3))
        texts = [b.text or f"{b.value:.2f}" for b in self._bars]
        text_w = max(len(t) for t in texts)
        bar_w = min(MAX_BAR, max(4, width - label_w - text_w - 3))
        scale = max(max(b.high or b.value for b in self._bars), 1e-9)
        lines = []
        for bar, text in zip(self._bars, texts, strict=True):
            label = bar.label if len(bar.label) <= label_w else bar.label[: label_w - 1] + "…"
            cells = bar_cells(bar.value, scale, bar_w)
            spread = ""
            if bar.high is not None and bar.high > bar.value:
                # The part of the min–max range above the median, as a thin line.
                upto = len(bar_cells(bar.high, scale, bar_w))
                spread = "─" * max(0, upto - len(cells))
            pad = " " * max(0, bar_w - len(cells) - len(spread))
            lines.append(
                Content.assemble(
                    (label.ljust(label_w), "bold"),
                    " ",
                    (cells, "$primary"),
                    (spread, "$text-muted"),
                    pad,
                    " ",
                    (text.rjust(text_w), "$accent"),
                )
            )
        return Content("\n").join(lines)
