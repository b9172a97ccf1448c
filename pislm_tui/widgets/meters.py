"""Drawing helpers shared by the monitor widgets: block bars, sparkline cells, the colours of
the Pi 5 temperature steps, and a little hysteresis so a value that hovers on a boundary does
not make the screen change (and a frame go over SSH) every second."""

from __future__ import annotations

from textual.content import Content

from pislm_tui.monitor.levels import Severity, TempLevel

EIGHTHS = " ▏▎▍▌▋▊▉█"
SPARK = " ▁▂▃▄▅▆▇█"
TRACK = "on $panel"  # the empty part of a bar
SEVERITY_STYLE: dict[Severity, str] = {
    "ok": "$success",
    "warm": "$warning",
    "hot": "bold $warning",
    "critical": "bold $error",
}


def temp_style(level: TempLevel) -> str:
    if level.name == "hard":
        return "bold reverse $error"
    return SEVERITY_STYLE[level.severity]


def bar(percent: float, width: int, style: str = "$success") -> Content:
    """A horizontal bar `width` cells wide, in eighths of a cell."""
    if width <= 0:
        return Content("")
    eighths = round(max(0.0, min(100.0, percent)) / 100 * width * 8)
    full, part = divmod(eighths, 8)
    filled = "█" * full + (EIGHTHS[part] if part else "")
    return Content.assemble((filled, f"{style} {TRACK}"), (" " * (width - len(filled)), TRACK))


def spark_cell(percent: float | None) -> str:
    """One history cell: blank without data, else ▁ (idle) to █ (full)."""
    if percent is None:
        return " "
    return SPARK[1 + round(max(0.0, min(100.0, percent)) / 100 * 7)]


class Steady:
    """Keeps the shown value until the real one moves by more than `slack` from it."""

    def __init__(self, slack: float) -> None:
        self.slack = slack
        self.shown: float | None = None

    def __call__(self, value: float | None) -> float | None:
        if value is None or self.shown is None or abs(value - self.shown) > self.slack:
            self.shown = value
        return self.shown
