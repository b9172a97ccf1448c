"""The Monitor tab's process list: top processes by CPU or by memory, Ollama's runner marked.
As many rows as fit; drawn line by line so a new reading repaints only the rows that changed."""

from __future__ import annotations

from typing import Literal

from textual.events import Resize

from pislm_tui.monitor import ProcessInfo, Sample
from pislm_tui.sizes import short_bytes
from pislm_tui.widgets.piece_lines import Line, PieceLines

SortKey = Literal["cpu", "mem"]


def _order(sort: SortKey):  # type: ignore[no-untyped-def]
    if sort == "cpu":
        return lambda p: (-p.cpu_percent, -p.rss, p.pid)
    return lambda p: (-p.rss, -p.cpu_percent, p.pid)


def process_lines(s: Sample | None, *, sort: SortKey, rows: int, width: int) -> list[Line]:
    other = "memory" if sort == "cpu" else "CPU"
    lines: list[Line] = [
        (
            ("Processes", "bold"),
            (f" by {'CPU' if sort == 'cpu' else 'memory'} (s: by {other})", "muted"),
        )
    ]
    if s is None:
        return lines
    if s.processes is None:
        return [*lines, ((f"n/a — {s.why('processes')}", "muted"),)]
    name_width = max(8, width - 6 - 1 - 7 - 7)
    lines.append(((f"{'PID':>6} {'NAME':<{name_width}} {'CPU%':>6} {'MEM':>6}", "muted"),))
    shown: list[ProcessInfo] = sorted(s.processes, key=_order(sort))[: max(0, rows - 2)]
    for p in shown:
        name = p.role or p.name
        role = "accent-bold" if p.role == "ollama runner" else "accent" if p.role else ""
        lines.append(
            (
                (f"{p.pid:>6} ", ""),
                (name[:name_width].ljust(name_width), role),
                (f" {p.cpu_percent:>6.1f} {short_bytes(p.rss):>6}", ""),
            )
        )
    return lines


class ProcessTable(PieceLines):
    DEFAULT_CSS = """
    ProcessTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sort: SortKey = "cpu"
        self.sample: Sample | None = None

    def show(self, sample: Sample | None) -> None:
        self.sample = sample
        self._rebuild()

    def on_resize(self, event: Resize) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        size = self.size
        if size.width > 0:
            self.set_lines(
                process_lines(self.sample, sort=self.sort, rows=size.height, width=size.width)
            )

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return max(len(self.lines), 1)
