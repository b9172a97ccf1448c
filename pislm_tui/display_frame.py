"""One frame of the terminal shadow (`display.TerminalShadow`): the changed cells cut into
segments of one look, and the order to write them in that needs the fewest bytes.

Colour changes are most of what a streamed reply costs: a table row switches between the border's
colour and the text's at every `│`. Two things cut them:
- a space shows nothing of its foreground unless an attribute draws on it (`blank_ignores_fg`),
  so it is written in whatever foreground the terminal has (the shadow still records the look it
  was asked for);
- cells are written at absolute positions, so the segments of one frame can go in any order:
  those of one look together, with a cursor move (a few bytes) instead of a colour change (up to
  ~20). An order is kept only where its estimated cost is lower. Synchronized output (mode 2026)
  wraps frames of more than one run, so the terminal never shows one half-written."""

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
_CANDIDATE_LOOKS = 6  # the looks of a frame tried as a group of their own (the most frequent)


class Segment:
    """Cells start..end of one row written in one look. A segment of spaces only (`fixed` false)
    takes whatever foreground the terminal has when it is written."""

    __slots__ = ("end", "fixed", "key", "look", "row", "start", "y")

    def __init__(self, y: int, x: int, row: list[Cell], look: Look, fixed: bool) -> None:
        self.y, self.start, self.end, self.row = y, x, x, row
        self.look, self.fixed, self.key = look, fixed, shown_by_blank(look)

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


def free_blank(look: Look, char: str) -> bool:
    return char == " " and blank_ignores_fg(look)


def look_for(segment: Segment, current: Look | None) -> Look:
    """The look `segment` is written in when the terminal's look is `current`."""
    if segment.fixed or current is None or shown_by_blank(current) != segment.key:
        return segment.look
    return current


def move(cursor: tuple[int, int] | None, x: int, y: int) -> str:
    """The cursor to column x of row y: within its row by column alone (CHA), else CUP."""
    if cursor is not None and cursor[1] == y:
        return f"\x1b[{x + 1}G" if x else "\x1b[G"
    return f"\x1b[{y + 1};{x + 1}H" if x else f"\x1b[{y + 1}H"


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


def cost(segments: list[Segment], current: Look | None, width: int) -> int:
    """Bytes of cursor moves and colour changes to write `segments` in this order."""
    total = 0
    cursor: tuple[int, int] | None = None
    for segment in segments:
        if cursor != (segment.start, segment.y):
            total += len(move(cursor, segment.start, segment.y))
        look = look_for(segment, current)
        if look != current:
            total += len(sgr_step(current, look))
            current = look
        cursor = (segment.end, segment.y) if segment.end < width else None
    return total


def _arrange(segments: list[Segment], grouped: list[Look], current: Look | None) -> list[Segment]:
    """`segments` in screen order except those of the `grouped` looks, written after them a look
    at a time (the terminal's look first, then the cheapest change)."""
    groups: dict[Look, list[Segment]] = {look: [] for look in grouped}
    head: list[Segment] = []
    for segment in segments:
        group = groups.get(segment.look) if segment.fixed else None
        (head if group is None else group).append(segment)
        if group is None and segment.fixed:
            current = segment.look
    while groups:
        after = current
        look = min(groups, key=lambda look: 0 if look == after else len(sgr_step(after, look)))
        head += groups.pop(look)
        current = look
    return head


def order(segments: list[Segment], current: Look | None, width: int) -> list[Segment]:
    """The segments in the order that costs least of those tried: screen order, or the
    segments of one look, then of another, ... written as groups after the rest."""
    best = segments
    if not 2 <= len(segments) <= _MAX_PLANNED:
        return best
    best_cost = cost(segments, current, width)
    counts: dict[Look, int] = {}
    for segment in segments:
        if segment.fixed:
            counts[segment.look] = counts.get(segment.look, 0) + 1
    candidates = sorted(counts, key=counts.__getitem__, reverse=True)[:_CANDIDATE_LOOKS]
    grouped: list[Look] = []
    while True:
        found = None
        for look in candidates:
            if look in grouped:
                continue
            trial = _arrange(segments, [*grouped, look], current)
            trial_cost = cost(trial, current, width)
            if trial_cost < best_cost:
                best, best_cost, found = trial, trial_cost, look
        if found is None:
            return best
        grouped.append(found)
