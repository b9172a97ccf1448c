"""A table being written, row by row: each row is parsed once (with the header and the
delimiter row, so its cells are split as Markdown splits them) and drawn as lines.

While the reply streams, the table is drawn the way Textual's `MarkdownTable` draws one that fits
the width (thin lines around and between cells, columns widened in proportion to their
contents); when the reply has ended, Textual's own table takes its place (a table wider than the
screen is narrowed by Textual in its own way: it may change then). Rows are drawn again only
when a new row changes the width of a column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip

from pislm_tui.widgets.live_blocks import REPARSE, Context, End, Grow, Verdict

if TYPE_CHECKING:
    from markdown_it.token import Token
    from textual.visual import VisualStyle


def _cells(tokens: list[Token], context: Context) -> list[list[Content]]:
    """The rows of a parsed table (the header row first) as cell contents."""
    rows: list[list[Content]] = []
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(context.content_of(token))
    return rows


class TableBlock:
    kind = "table"

    def __init__(self, context: Context, start: int) -> None:
        self.context = context
        self.start = start
        self.lines_end = start
        self.head: list[str] = []  # the header line and the delimiter row
        self.rows: list[list[Content]] = []  # finished rows, the header first
        self.partial: list[Content] | None = None  # the row being written
        self.width = 0
        self.lines: list[Strip] = []
        self._columns: list[int] = []  # widths of the columns (cells with their padding)
        self._done = 0  # lines of finished rows, top line included
        self._drawn_rows = 0
        self._wanted: list[int] = []  # widest cell of each column, with its padding
        self._measured = 0  # rows measured into `_wanted`
        # A cell's lines at its width: the cells of the row being written that are complete
        # are drawn once, not on every flush (Textual's rendering of a cell is most of a
        # table's flush). Emptied when the columns or the look change.
        self._cell_lines: dict[tuple[Content, int, bool], list[Strip]] = {}

    def _parse(self, line: str) -> list[list[Content]] | None:
        window = "\n".join([*self.head, line]) + "\n"
        tokens = self.context.parser.parse(window)
        self.context.counters.reparsed += len(window)
        if not tokens or tokens[0].type != "table_open" or tokens[0].map is None:
            return None
        if tokens[0].map[1] < len(self.head) + (1 if line else 0):
            return None  # the line is not a row of this table
        if any(t.level == 0 and t.nesting >= 0 for t in tokens[1:] if t.type != "table_close"):
            return None
        return _cells(tokens, self.context)

    def feed(self, text: str) -> Verdict:
        while (newline := text.find("\n", self.lines_end)) >= 0:
            line = text[self.lines_end : newline]
            if len(self.head) < 2:
                self.head.append(line)
                if len(self.head) == 2:
                    rows = self._parse("")
                    if rows is None:
                        return REPARSE
                    self.rows = rows[:1]
            elif not line.strip():
                return End(self.lines_end)
            else:
                rows = self._parse(line)
                if rows is None or len(rows) != 2:
                    return End(self.lines_end) if rows is None else REPARSE
                self.rows.append(rows[1])
            self.lines_end = newline + 1
        self.partial = None
        rest = text[self.lines_end :]
        if len(self.head) == 2 and rest.lstrip(" ").startswith("|"):
            rows = self._parse(rest)
            if rows is not None and len(rows) == 2:
                self.partial = rows[1]
        old = len(self.lines)
        return Grow(self._update(), old)

    # -- drawing ----------------------------------------------------------------------------------

    def _column_widths(self) -> list[int]:
        """Cells with their padding: the widest content of each column, then widened (or
        narrowed) in proportion to fill the width, as Textual's grid does."""
        while self._measured < len(self.rows):  # finished rows are measured once
            self._wanted = self._widen(self._wanted, self.rows[self._measured])
            self._measured += 1
        wanted = self._widen(self._wanted, self.partial) if self.partial else self._wanted
        count = len(wanted) or 1
        wanted = wanted or [2]
        available = max(count, self.width - count - 1)
        total = sum(wanted)
        widths = []
        position = 0
        running = 0
        for want in wanted:
            running += want
            end = available * running // total
            widths.append(max(1, end - position))
            position = end
        return widths

    @staticmethod
    def _widen(wanted: list[int], row: list[Content]) -> list[int]:
        if not wanted:
            return [cell.cell_length + 2 for cell in row]
        return [
            max(want, row[index].cell_length + 2) if index < len(row) else want
            for index, want in enumerate(wanted)
        ]

    def _keyline(self, left: str, middle: str, right: str) -> Strip:
        style = self.context.style("live-tail--keyline").rich_style
        inner = middle.join("─" * width for width in self._columns)
        return self._fit(Strip([Segment(left + inner + right, style)]))

    def _fit(self, strip: Strip) -> Strip:
        return strip.crop(0, self.width)

    def _row(self, cells: list[Content], style: VisualStyle, header: bool) -> list[Strip]:
        context = self.context
        keyline = context.style("live-tail--keyline").rich_style
        padding = context.padding(1).crop(0, 1)
        background = next(iter(padding)).style if padding.cell_length else None
        columns: list[list[Strip]] = []
        for index, width in enumerate(self._columns):
            cell = cells[index] if index < len(cells) else Content("")
            inner = max(1, width - 2)
            key = (cell, inner, header)
            lines = self._cell_lines.get(key)
            if lines is None:
                # (Header cells are aligned to the bottom: Textual pads them in their style.)
                lines = context.to_strips(cell, inner, style, pad=header) if cell else []
                if len(self._cell_lines) > 4096:
                    self._cell_lines.clear()
                self._cell_lines[key] = lines
            columns.append(lines or [Strip([])])
        height = max(len(lines) for lines in columns)
        out = []
        bar = Strip([Segment("│", keyline)])
        for y in range(height):
            parts = [bar]
            for width, lines in zip(self._columns, columns, strict=True):
                inner = max(1, width - 2)
                line = lines[y] if y < len(lines) else Strip([])
                line = line.crop(0, inner).extend_cell_length(inner, background)
                parts += [padding, line, padding, bar]
            out.append(self._fit(Strip.join(parts)))
        self.context.counters.rendered += height
        return out

    def _row_lines(self, index: int, cells: list[Content]) -> list[Strip]:
        style = self.context.style("live-tail--table-header" if index == 0 else "")
        lines = self._row(cells, style, header=index == 0)
        return [self._keyline("├", "┼", "┤"), *lines] if index else lines

    def _update(self) -> int:
        if not self.width or not self.rows:
            return 0
        columns = self._column_widths()
        first_changed = self._done
        if columns != self._columns:  # every row is drawn again
            self._columns = columns
            self._cell_lines.clear()
            self.lines = [self._keyline("┌", "┬", "┐")]
            self._done = 1
            self._drawn_rows = 0
            first_changed = 0
        start = self._done
        new: list[Strip] = []  # the lines from `start` on: rows just finished, then the tail
        while self._drawn_rows < len(self.rows):
            lines = self._row_lines(self._drawn_rows, self.rows[self._drawn_rows])
            new += lines
            self._done += len(lines)
            self._drawn_rows += 1
        if self.partial is not None:
            new += self._row_lines(len(self.rows), self.partial)
        new.append(self._keyline("└", "┴", "┘"))
        if first_changed == start:
            # A row that has just ended was drawn as the row being written: the same lines
            # (only what differs is repainted and sent).
            for a, b in zip(self.lines[start:], new, strict=False):
                if a != b:
                    break
                first_changed += 1
        self.lines[start:] = new
        return first_changed

    def close(self, text: str) -> None:
        """The table has ended (its rows are all taken in)."""
        self.partial = None
        self._update()

    def draw(self, text: str, width: int) -> list[Strip]:
        self.width = width
        self._cell_lines.clear()  # (a new width or new colours)
        self._columns = []
        self._wanted, self._measured = [], 0
        self._update()
        return self.lines
