"""The live strip in the status line: one mini bar per core, the SoC temperature coloured by the
Pi 5 steps, and RAM in use — about 20 cells, visible from every tab.

It repaints only when what it shows changes: bars have 8 levels, the temperature is whole
degrees with a little hysteresis, RAM a tenth of a GiB, so an idle Pi sends no frames."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import var
from textual.widget import Widget

from pislm_tui.app_access import AppAccess
from pislm_tui.monitor import Sample, temp_level
from pislm_tui.sizes import binary_bytes, short_bytes
from pislm_tui.widgets.meters import Steady, temp_style

MINI = "▁▂▃▄▅▆▇█"  # 0 % still shows a baseline cell, on any theme
MAX_BARS = 8
PLACEHOLDER = Content.styled("cpu · °C · ram", "$text-muted")


def group_cores(cores: tuple[float, ...], bars: int = MAX_BARS) -> list[float]:
    """Up to `bars` values: per core, or the mean of neighbouring cores on bigger machines."""
    if len(cores) <= bars:
        return list(cores)
    size = -(-len(cores) // bars)
    return [
        sum(chunk) / len(chunk)
        for chunk in (cores[i : i + size] for i in range(0, len(cores), size))
    ]


class LiveStrip(AppAccess, Widget):
    DEFAULT_CSS = """
    LiveStrip { width: auto; height: 1; padding: 0 1; text-wrap: nowrap; }
    LiveStrip.-resting { text-style: dim; }
    """
    # Over SSH an idle app stops reading: the figures stay, dimmed, until a key.
    resting: var[bool] = var(False, toggle_class="-resting")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._content = PLACEHOLDER
        self._bars: list[Steady] = []
        self._temp = Steady(0.6)  # a sensor hovering on x.5 °C must not flip the digits
        self._ram = Steady(0.06)  # GiB: the tenth shown moves only on a real change

    def on_mount(self) -> None:
        if not self.pislm.settings.monitor.show_strip:
            self.display = False
            return
        self.watch(self.app, "monitor_sample", self.show_sample)
        self.watch(self.app, "strip_resting", self._rest, init=False)

    def _rest(self, resting: bool) -> None:
        self.resting = resting

    @property
    def content(self) -> Content:
        """What the strip shows (the same object until a shown value changes)."""
        return self._content

    def render(self) -> Content:
        return self._content

    def show_sample(self, sample: Sample | None) -> None:
        if sample is None:
            return
        content, tip = self._build(sample)
        if content.is_same(self._content):
            return
        resized = content.cell_length != self._content.cell_length
        self._content = content
        self.tooltip = tip
        self.refresh(layout=resized)

    def _build(self, s: Sample) -> tuple[Content, str]:
        parts: list[str | tuple[str, str]] = []
        tips: list[str] = []
        values = group_cores(s.cores)
        if len(self._bars) != len(values):
            self._bars = [Steady(7.0) for _ in values]  # most of a level: no flicker
        if values:
            cells = "".join(
                MINI[min(7, int((steady(v) or 0.0) / 12.5))]
                for steady, v in zip(self._bars, values, strict=True)
            )
            parts.append((cells, "$accent"))
            tips.append("CPU " + " ".join(f"{v:.0f}%" for v in s.cores))
        else:
            parts.append(("····", "$text-muted"))
        parts.append(" ")
        temp = self._temp(s.temp_c)
        if temp is not None:
            level = temp_level(temp)
            parts.append((f"{temp:.0f}°C", temp_style(level)))
            tips.append(f"SoC {s.temp_c:.1f} °C, {level.label}")
        else:
            parts.append(("n/a", "$text-muted"))
            tips.append(f"temperature n/a: {s.why('temp_c')}")
        parts.append(" ")
        if s.ram is not None:
            used = self._ram(s.ram.used / 2**30) or 0.0
            style = "$error" if s.ram.percent >= 90 else ""
            parts.append((f"{used:.1f}G/{short_bytes(s.ram.total)}", style))
            tips.append(f"RAM {binary_bytes(s.ram.used)} of {binary_bytes(s.ram.total)} in use")
        else:
            parts.append(("ram n/a", "$text-muted"))
        return Content.assemble(*parts), " · ".join(tips)
