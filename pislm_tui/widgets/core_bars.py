"""Per-core CPU bars with a 60-second history, all drawn by one widget (htop's meters, plus a
sparkline per core). A final "all" row shows the machine as a whole.

Each row: label, bar, percent, then the history: the last 60 s squeezed into the cells left,
binned by time (not by sample count), so the picture means the same while the sample rate
changes (1 s on the Monitor tab, 2 s over SSH when only the strip is fed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.events import Resize

from pislm_tui.widgets.meters import EIGHTHS, spark_cell
from pislm_tui.widgets.piece_lines import Line, Piece, PieceLines

History = Sequence[tuple[float, tuple[float, ...]]]
LABEL = 3  # "all", "15"
MIN_BAR = 10
CARRY_SECONDS = 2.5  # an empty history cell repeats its left neighbour within this gap


def bin_history(
    history: History, now: float, cells: int, seconds: float, series: int
) -> list[list[float | None]]:
    """`series` rows of `cells` values (None = no data): the mean of the samples in each time bin,
    newest bin on the right. Series `k` is core k; one extra series holds the mean of all cores."""
    if cells <= 0:
        return [[] for _ in range(series + 1)]
    width = seconds / cells
    sums = [[0.0] * cells for _ in range(series + 1)]
    counts = [0] * cells
    for t, cores in history:
        age = now - t
        if age < 0 or not cores:
            continue
        k = cells - 1 - int(age / width)
        if k < 0:
            continue
        counts[k] += 1
        for i in range(min(series, len(cores))):
            sums[i][k] += cores[i]
        sums[series][k] += sum(cores) / len(cores)
    carry = max(1, int(CARRY_SECONDS / width))
    out: list[list[float | None]] = []
    for row in sums:
        values: list[float | None] = []
        last, gap = None, 0
        for k in range(cells):
            if counts[k]:
                last, gap = row[k] / counts[k], 0
                values.append(last)
            else:
                gap += 1
                values.append(last if last is not None and gap <= carry else None)
        out.append(values)
    return out


def bar_pieces(percent: float, width: int) -> list[Piece]:
    """A bar `width` cells wide, in eighths of a cell: filled part, then the track."""
    if width <= 0:
        return []
    eighths = round(max(0.0, min(100.0, percent)) / 100 * width * 8)
    full, part = divmod(eighths, 8)
    filled = "█" * full + (EIGHTHS[part] if part else "")
    return [(filled, "fill"), (" " * (width - len(filled)), "track")]


class CoreBars(PieceLines):
    def __init__(self, *, history_seconds: float = 60.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history_seconds = history_seconds
        self._cores: tuple[float, ...] = ()
        self._overall: float | None = None
        self._history: History = ()
        self._now = 0.0

    def update_cores(
        self, cores: tuple[float, ...], overall: float | None, history: History, now: float
    ) -> None:
        self._cores, self._overall, self._history, self._now = cores, overall, history, now
        self._rebuild()

    def on_resize(self, event: Resize) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        width = self.size.width
        if width > 0:
            self.set_lines(self._build(width))

    def _build(self, width: int) -> list[Line]:
        n = len(self._cores)
        if n == 0:
            return [(("CPU: measuring…", "muted"),)]
        columns = 1 if n <= 8 else 2 if n <= 32 else 4
        col_width = (width - (columns - 1)) // columns
        per_col = math.ceil(n / columns)
        hist_cells = self._history_cells(col_width)
        series = bin_history(self._history, self._now, hist_cells, self.history_seconds, n)
        cells = [
            self._row(str(i), self._cores[i], series[i], col_width, hist_cells) for i in range(n)
        ]
        lines: list[Line] = []
        for r in range(per_col):
            row: list[Piece] = []
            for c in range(columns):
                if c * per_col + r < n:
                    if row:
                        row.append((" ", ""))
                    row.extend(cells[c * per_col + r])
            lines.append(tuple(row))
        if n > 1:
            overall = self._overall if self._overall is not None else sum(self._cores) / n
            all_hist = self._history_cells(width)
            all_series = (
                series[n]
                if all_hist == hist_cells
                else bin_history(self._history, self._now, all_hist, self.history_seconds, n)[n]
            )
            lines.append(tuple(self._row("all", overall, all_series, width, all_hist, "bold")))
        return lines

    @staticmethod
    def _history_cells(width: int) -> int:
        room = width - (LABEL + 1 + 6 + 2) - MIN_BAR * 2
        return max(0, min(60, room))

    @staticmethod
    def _row(
        label: str,
        percent: float,
        history: list[float | None],
        width: int,
        hist_cells: int,
        label_role: str = "muted",
    ) -> list[Piece]:
        fixed = LABEL + 1 + 6 + (2 + hist_cells if hist_cells else 0)
        pieces: list[Piece] = [(label.rjust(LABEL) + " ", label_role)]
        pieces += bar_pieces(percent, max(1, width - fixed))
        pieces.append((f" {percent:4.0f}%", ""))
        if hist_cells:
            pieces.append(("  " + "".join(spark_cell(v) for v in history), "history"))
        return pieces
