"""The Monitor tab's fleet view: one compact row per named host (`hosts.fleet.row_cells`),
shown when the config names two or more. Up in green, down in red, a missing piece's short
reason dimmed (the full reasons on hover)."""

from __future__ import annotations

from textual.content import Content
from textual.events import Resize
from textual.widgets import Static

from pislm_tui.hosts.fleet import COLUMNS, FleetRow, row_cells

NA = "$text-muted"
# Each column's width (its gap included); the model column takes the room left.
MODEL_MAX = 30  # a wide screen keeps the columns together
WIDTHS = {
    "host": 10,
    "server": 11,
    "model": 14,
    "load": 10,
    "temp": 10,
    "throttled": 10,
    "power": 10,
}


class FleetRows(Static):
    DEFAULT_CSS = """
    FleetRows { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Content.styled("Hosts: asking each…", NA), id=id, markup=False)
        self.rows: list[FleetRow] = []

    def show(self, rows: list[FleetRow]) -> None:
        self.rows = rows
        self.update(self._content(self.content_size.width or 78))
        tip = "\n".join(
            f"{row.host.label} {name}: {reason}" for row in rows for name, reason in row.why.items()
        )
        self.tooltip = tip or None

    def on_resize(self, _event: Resize) -> None:
        if self.rows:
            self.update(self._content(self.content_size.width))

    def _content(self, width: int) -> Content:
        widths = dict(WIDTHS)
        fixed = sum(widths.values()) - widths["model"] + 2  # the dot
        widths["model"] = min(MODEL_MAX, max(8, width - fixed))
        head = Content.assemble(
            ("  ", ""), *(_cell(c.capitalize(), widths[c], "bold") for c in COLUMNS)
        )
        return Content("\n").join([head, *(self._row(row, widths) for row in self.rows)])

    def _row(self, row: FleetRow, widths: dict[str, int]) -> Content:
        cells = row_cells(row)
        dot = ("● ", "$success") if row.up else ("○ ", "$error")
        parts: list[Content] = []
        for name, text in zip(COLUMNS, cells, strict=True):
            style = _style(row, name, text)
            parts.append(_cell(text, widths[name], style))
        return Content.assemble(dot, *parts)


def _style(row: FleetRow, column: str, text: str) -> str:
    if column == "host":
        return "bold"
    if column == "server":
        return "$success" if row.up else "$error"
    if column == "throttled" and row.throttled is not None:
        return "bold $error" if row.throttled.now else ("$warning" if not row.throttled.ok else "")
    missing = {
        "model": row.loaded is None,
        "load": row.load is None,
        "temp": row.temp_c is None,
        "throttled": row.throttled is None,
        "power": row.power_w is None,
    }
    return NA if missing.get(column) else ""


def _cell(text: str, width: int, style: str) -> Content:
    if len(text) > width - 1:
        text = text[: max(width - 2, 1)] + "…"
    return Content.styled(text.ljust(width), style) if style else Content(text.ljust(width))
