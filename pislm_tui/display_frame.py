"""One frame of the terminal shadow (`display.TerminalShadow`): the changed cells cut into
segments of one look, and the order to write them in that needs the fewest bytes.

Colour changes are most of what a streamed reply costs: a table row switches between the border's
colour and the text's at every `│`. Two things cut them:
- a space shows nothing of its foreground unless an attribute draws on it (`blank_ignores_fg`),
  so it is written in whatever foreground the terminal has (the shadow still records the look it
  was asked for);
- cells go wherever the cursor is put, so the segments of one frame can go in any order: those
  of one look together, with a cursor move (a few bytes) instead of a colour change (up to ~20).
  An order is kept only where its cost (moves, colour changes, sync markers) is lower.
  Synchronized output (mode 2026) wraps frames of more than one run, so the terminal never shows
  one half-written.
Cursor moves are the shortest of an absolute position (CUP) and a step from where the cursor is;
an unchanged gap between two changed spans is written again where that is shorter than a move."""

from __future__ import annotations

from pislm_tui.display_sgr import PLAIN, Look, blank_ignores_fg, sgr_step, shown_by_blank

# A cell: its text ("" for the right half of a wide character) and its look. Styles are compared
# by their look, not as objects: Textual puts per-cell metadata (offsets for text selection) into
# otherwise equal styles.
Cell = tuple[str, Look]
UNKNOWN: Cell = ("\x00unknown", PLAIN)  # never equal to a real cell
CONTINUATION = ""
# Frames with more segments than this are written in screen order: planning them would cost more
# time than their bytes are worth (a whole-screen repaint, rare).
_MAX_PLANNED = 400
# A frame of more than one run is wrapped in the markers of synchronized output (2 x 8 bytes,
# `textual_compat.output`): a frame kept in one run goes without.
_SYNC = 16
_CANDIDATE_LOOKS = 6  # the groups of a frame tried on their own (the most frequent)


Cursor = tuple[int, int] | None  # (column, row), the column -1 where it is not known; None: nowhere


class Segment:
    """Cells start..end of one row written in one look. A segment of spaces only (`fixed` false)
    takes whatever foreground the terminal has when it is written."""

    __slots__ = ("_narrow", "end", "fixed", "key", "look", "row", "start", "y")

    def __init__(self, y: int, x: int, row: list[Cell], look: Look, fixed: bool) -> None:
        self.y, self.start, self.end, self.row = y, x, x, row
        self.look, self.fixed, self.key = look, fixed, shown_by_blank(look)
        self._narrow: bool | None = None  # (known once the segment is complete)

    def group(self) -> object:
        """What segments written together share: a look, or for spaces what of it they show."""
        return self.look if self.fixed else self.key

    def joins(self, char: str, look: Look) -> bool:
        """Whether a cell can be written in this segment's look (which a first non-blank cell
        fixes)."""
        if char == " " and blank_ignores_fg(look):
            return shown_by_blank(look) == self.key
        if self.fixed:
            return look == self.look
        if shown_by_blank(look) == self.key:
            self.look, self.fixed = look, True
            return True
        return False

    def text(self) -> str:
        return "".join(char for char, _ in self.row[self.start : self.end])

    def after(self, width: int) -> Cursor:
        """Where the cursor is once the segment is written. After a wide character or a
        combining mark the column is uncertain (terminals do not all agree on their widths),
        and so is the row at the end of a row (a mark after a pending wrap may wrap). Past the
        last column, the row is certain otherwise (the next move ends a pending wrap)."""
        narrow = self._narrow
        if narrow is None:
            narrow = self._narrow = all(len(c) == 1 for c, _ in self.row[self.start : self.end])
        if self.end >= width:
            return (-1, self.y) if narrow else None
        return (self.end, self.y) if narrow else (-1, self.y)


def free_blank(look: Look, char: str) -> bool:
    return char == " " and blank_ignores_fg(look)


def look_for(segment: Segment, current: Look | None) -> Look:
    """The look `segment` is written in when the terminal's look is `current`."""
    if segment.fixed or current is None or shown_by_blank(current) != segment.key:
        return segment.look
    return current


def _steps(n: int, final: str) -> str:
    return f"\x1b[{final}" if n == 1 else f"\x1b[{n}{final}"


def move(cursor: Cursor, x: int, y: int) -> str:
    """The shortest sequence taking the cursor to column x of row y: CUP, or from where it is,
    rows up or down (CUU, CUD) and a column (CR, backspaces, CUF or CHA)."""
    absolute = f"\x1b[{y + 1};{x + 1}H" if x else f"\x1b[{y + 1}H"
    if cursor is None:
        return absolute
    column, row = cursor
    rows = "" if y == row else _steps(y - row, "B") if y > row else _steps(row - y, "A")
    if column == x:
        columns = ""
    elif x == 0:
        columns = "\r"
    elif 0 < column - x <= 2:
        columns = "\b" * (column - x)
    elif 0 <= column < x and x - column < 10:
        columns = _steps(x - column, "C")
    else:
        columns = f"\x1b[{x + 1}G"
    relative = rows + columns
    return relative if len(relative) < len(absolute) else absolute


def _changed_spans(old: list[Cell], new: list[Cell]) -> list[tuple[int, int]]:
    """Ranges [a, b) of cells that differ, widened so that no wide character is cut in half (in
    either the old or the new row)."""
    n = len(new)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if old[i] == new[i]:
            i += 1
            continue
        start = i
        while i < n and old[i] != new[i]:
            i += 1
        end = i
        while start > 0 and (new[start][0] == CONTINUATION or old[start][0] == CONTINUATION):
            start -= 1
        while end < n and (new[end][0] == CONTINUATION or old[end][0] == CONTINUATION):
            end += 1
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
        i = max(i, end)
    return spans


def _bridge(segment: Segment, row: list[Cell], a: int, b: int, out: list[Segment]) -> bool:
    """Write the unchanged cells a..b again between two changed spans (in `segment`'s look, then
    in the look the next span starts with) if that is cheaper than a cursor move over them and
    needs no colour change of its own; add what it takes to `out`."""
    gap = row[a:b]
    if UNKNOWN in gap or len("".join(c for c, _ in gap).encode()) > len(move((a, 0), b, 0)):
        return False
    trial = Segment(segment.y, segment.start, row, segment.look, segment.fixed)
    k = 0
    while k < len(gap) and trial.joins(*gap[k]):
        k += 1
    rest: Segment | None = None
    if k < len(gap):  # the rest of the gap in the next span's look, or no bridge
        char, look = gap[k]
        rest = Segment(segment.y, a + k, row, look, not free_blank(look, char))
        if not all(rest.joins(*cell) for cell in [*gap[k + 1 :], row[b]]):
            return False
        rest.end = b
    segment.look, segment.fixed, segment.end = trial.look, trial.fixed, a + k
    if rest is not None:
        out.append(rest)
    return True


def row_segments(y: int, old: list[Cell], new: list[Cell], out: list[Segment]) -> None:
    """The changed cells of row y cut into segments of one look, added to `out`."""
    segment: Segment | None = None
    for a, b in _changed_spans(old, new):
        if segment is not None and _bridge(segment, new, segment.end, a, out):
            segment = out[-1]
        else:
            segment = None
        x = a
        while x < b:
            char, look = new[x]
            if segment is None or not segment.joins(char, look):
                segment = Segment(y, x, new, look, not free_blank(look, char))
                out.append(segment)
            x += 1
            segment.end = x


def cost(segments: list[Segment], current: Look | None, width: int, limit: int = 1 << 30) -> int:
    """Bytes of cursor moves and colour changes to write `segments` in this order (or at least
    `limit`, counted no further)."""
    total = 0
    runs = 0
    cursor: Cursor = None
    for segment in segments:
        if total >= limit:
            break
        step = len(move(cursor, segment.start, segment.y))
        if step:
            runs += 1
            if runs == 2:
                total += _SYNC
        total += step
        look = look_for(segment, current)
        if look != current:
            total += len(sgr_step(current, look))
            current = look
        cursor = segment.after(width)
    return total


def _arrange(segments: list[Segment], grouped: list[object], current: Look | None) -> list[Segment]:
    """`segments` in screen order except those of the `grouped` groups, written after them a
    group at a time (the one needing no colour change first, then the cheapest change)."""
    groups: dict[object, list[Segment]] = {group: [] for group in grouped}
    head: list[Segment] = []
    for segment in segments:
        group = groups.get(segment.group())
        if group is None:
            head.append(segment)
            current = look_for(segment, current)
        else:
            group.append(segment)
    while groups:
        best = min(groups, key=lambda group: _change_cost(groups[group][0], current))
        current = look_for(groups[best][0], current)
        head += groups.pop(best)
    return head


def _change_cost(segment: Segment, current: Look | None) -> int:
    look = look_for(segment, current)
    return 0 if look == current else len(sgr_step(current, look))


def order(segments: list[Segment], current: Look | None, width: int) -> list[Segment]:
    """The segments in the order that costs least of those tried: screen order, or the
    segments of one look (or spaces of one background), then of another, ... written as groups
    after the rest."""
    best = segments
    if not 2 <= len(segments) <= _MAX_PLANNED:
        return best
    best_cost = cost(segments, current, width)
    counts: dict[object, int] = {}
    for segment in segments:
        group = segment.group()
        counts[group] = counts.get(group, 0) + 1
    candidates = sorted(counts, key=counts.__getitem__, reverse=True)[:_CANDIDATE_LOOKS]
    grouped: list[object] = []
    while True:
        found = None
        for group in candidates:
            if group in grouped:
                continue
            trial = _arrange(segments, [*grouped, group], current)
            trial_cost = cost(trial, current, width, best_cost)
            if trial_cost < best_cost:
                best, best_cost, found = trial, trial_cost, group
        if found is None:
            return best
        grouped.append(found)
