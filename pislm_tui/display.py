"""Differential terminal output: send only the cells that changed.

Textual repaints whole regions: when a widget changes size, everything it covers is written
again, and a scrolled view is written line by line. Over SSH, with a reply growing a few words at
a time, that is kilobytes per token. This module keeps a copy of what the terminal shows (a
"shadow" of cells) and turns each compositor update into cursor moves plus the cells that differ.
When most of a block of rows moved up or down (a scroll), it asks the terminal to scroll that block
(DECSTBM scroll region) and then writes only the rows that appeared. Where the terminal has shown
it can (`repeat_probe`), a run of one character (a code block's background, a table's rule) is
written once and repeated by the terminal (REP, `CSI n b`). The changed cells of
a frame are written in the order and looks that need the fewest colour changes and cursor moves
(`display_frame`); colour changes are written as what differs (`display_sgr`).

It only rewrites Textual's output; widgets are untouched. An update of a kind it does not know
passes through unchanged and makes the shadow forget what it knew. What an update paints is read
by `textual_compat.updates` (Textual keeps those classes private); the app hands the shadow its
frames through `textual_compat.output`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial
from itertools import repeat
from typing import TYPE_CHECKING

from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from textual.strip import Strip

from pislm_tui.display_frame import (
    CONTINUATION,
    UNKNOWN,
    Cell,
    Cursor,
    Segment,
    look_for,
    move,
    order,
    row_segments,
)
from pislm_tui.display_sgr import PLAIN, Look, sgr_change, sgr_step
from pislm_tui.repeat_probe import Repeats
from pislm_tui.textual_compat.updates import update_pieces

__all__ = ["TerminalShadow", "sgr_change", "with_repeats"]

if TYPE_CHECKING:
    from rich.style import Style

    from pislm_tui.textual_compat.updates import CompositorUpdate

# A block scroll is used only when at least this many rows can be kept.
_MIN_SCROLL_KEEP = 4
# A character and at least 5 more of it: written once, then REP (`ESC[5b`, 4 bytes or more).
_REPEATED = re.compile(r"([^\x00-\x1f\x7f])\1{5,}")


_REPEATED_ASCII = re.compile(r"([\x20-\x7e])\1{5,}")


def _repeat(match: re.Match[str]) -> str:
    char = match[1]
    if get_character_cell_size(char) != 1:
        return match[0]  # (REP of a wide or zero-width character: not every terminal agrees)
    return f"{char}\x1b[{len(match[0]) - 1}b"


def with_repeats(text: str, repeats: Repeats = Repeats.ALL) -> str:
    """`text` with each run of one character written once and repeated by REP (of ASCII
    characters only, for a terminal that repeats no other: `repeat_probe`)."""
    if repeats is Repeats.NONE:
        return text
    pattern = _REPEATED if repeats is Repeats.ALL else _REPEATED_ASCII
    return pattern.sub(_repeat, text)


class _Looks:
    """Style -> Look, cached (styles are hashable and repeat a lot)."""

    def __init__(self, color_system: ColorSystem) -> None:
        self.color_system = color_system
        self.cache: dict[Style, Look] = {}

    def __call__(self, style: Style | None) -> Look:
        if style is None:
            return PLAIN
        look = self.cache.get(style)
        if look is None:
            if len(self.cache) > 20_000:
                self.cache.clear()
            ansi = Strip.render_ansi(style, self.color_system)  # what Textual writes for it
            look = self.cache[style] = (ansi, style.link or "")
        return look


def segments_to_cells(segments: Iterable, look: _Looks) -> list[Cell]:
    cells: list[Cell] = []
    append = cells.append
    for text, style, control in segments:
        if control or not text:
            continue
        seen = look(style)
        if text.isascii():
            cells.extend(zip(text, repeat(seen), strict=False))
            continue
        for char in text:
            width = get_character_cell_size(char)
            if width == 0:
                if cells:  # a combining mark joins the character before it
                    previous = cells[-1]
                    cells[-1] = (previous[0] + char, previous[1])
                continue
            append((char, seen))
            if width == 2:
                append((CONTINUATION, seen))
    return cells


class TerminalShadow:
    """What the terminal shows, cell by cell, and the diff of an update against it."""

    def __init__(self, repeats: Repeats = Repeats.NONE) -> None:
        self.repeats = repeats  # what the terminal repeats (REP): `repeat_probe`
        self.width = 0
        self.height = 0
        self.rows: list[list[Cell]] = []
        self._looks = _Looks(ColorSystem.TRUECOLOR)
        # The terminal's current SGR look (None: unknown). Runs that keep it need no SGR at all;
        # a change is written as what differs (`sgr_change`), a reset when the look is unknown.
        self.sgr: Look | None = None
        self.last_runs = 0  # runs of cells written by the last diff

    def known(self, y: int, cells: int) -> bool:
        """Whether the first `cells` cells of row `y` are known (written since the last forget)."""
        return 0 <= y < self.height and all(cell is not UNKNOWN for cell in self.rows[y][:cells])

    def resize(self, width: int, height: int) -> None:
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self.forget()

    def forget(self) -> None:
        """The terminal's content is unknown (start, resize, resume from suspend)."""
        self.rows = [[UNKNOWN] * self.width for _ in range(self.height)]
        self.sgr = None

    def styles_reset(self) -> None:
        """Something else wrote to the terminal and ended with SGR reset (Textual's own output)."""
        self.sgr = PLAIN

    # -- scrolling ----------------------------------------------------------------------------

    def _scroll(self, new_rows: dict[int, list[Cell]]) -> str:
        """If a block of repainted rows is the old content shifted, scroll it natively. Only rows
        the update repaints are ever scrolled (others would be left showing moved content)."""
        if len(new_rows) < _MIN_SCROLL_KEEP * 2:
            return ""
        ys = sorted(new_rows)
        # Contiguous runs of repainted rows are the candidate scroll regions.
        blocks: list[list[int]] = [[ys[0]]]
        for y in ys[1:]:
            if y == blocks[-1][-1] + 1:
                blocks[-1].append(y)
            else:
                blocks.append([y])
        out: list[str] = []
        for block in blocks:
            if len(block) < _MIN_SCROLL_KEEP * 2:
                continue
            top, bottom = block[0], block[-1]
            # Compare rows without their last column: a scrollbar there moves with the content.
            old_at = {}
            for y in block:
                old_at.setdefault(tuple(self.rows[y][:-1]), y)
            changed = [y for y in block if new_rows[y] != self.rows[y]]
            shifts: dict[int, int] = {}
            for y in changed:
                old_y = old_at.get(tuple(new_rows[y][:-1]))
                if old_y is not None and old_y != y:
                    shifts[old_y - y] = shifts.get(old_y - y, 0) + 1
            best_shift, matched = 0, []
            for shift in sorted(shifts, key=shifts.__getitem__, reverse=True)[:3]:
                rows = [
                    yy
                    for yy in changed
                    if top <= yy + shift <= bottom
                    and self.rows[yy + shift][:-1] == new_rows[yy][:-1]
                ]
                if len(rows) > len(matched):
                    best_shift, matched = shift, rows
            if len(matched) < _MIN_SCROLL_KEEP:
                continue
            # Scroll only the rows that move (a static header or footer in the block stays put).
            if best_shift > 0:
                region_top, region_bottom = matched[0], matched[-1] + best_shift
            else:
                region_top, region_bottom = matched[0] + best_shift, matched[-1]
            out.append(self._scroll_region(region_top, region_bottom, best_shift))
        return "".join(out)

    def _scroll_region(self, top: int, bottom: int, shift: int) -> str:
        """Scroll rows top..bottom by `shift` (up if positive) in the terminal and the shadow."""
        blank = [UNKNOWN] * self.width
        region = self.rows[top : bottom + 1]
        if shift > 0:
            moved = region[shift:] + [list(blank) for _ in range(shift)]
            # Cursor to the bottom margin; each IND (ESC D) there scrolls the region up a line.
            sequence = f"\x1b[{top + 1};{bottom + 1}r{move(None, 0, bottom)}" + "\x1bD" * shift
        else:
            moved = [list(blank) for _ in range(-shift)] + region[: len(region) + shift]
            # Cursor to the top margin; each RI (ESC M) there scrolls the region down a line.
            sequence = f"\x1b[{top + 1};{bottom + 1}r{move(None, 0, top)}" + "\x1bM" * -shift
        self.rows[top : bottom + 1] = moved
        return sequence + "\x1b[r"  # margins back to the whole screen

    # -- the diff -----------------------------------------------------------------------------

    def diff(self, update: CompositorUpdate, color_system: ColorSystem | None) -> str | None:
        colors = color_system or ColorSystem.TRUECOLOR
        if colors != self._looks.color_system:
            self._looks = _Looks(colors)
            self.forget()
        pieces = update_pieces(update, partial(segments_to_cells, look=self._looks))
        if pieces is None:
            self.forget()
            return None
        # Each touched row as it will be: the shadow's row with the update's pieces laid on it.
        width = self.width
        new_rows: dict[int, list[Cell]] = {}
        for y, x, cells in pieces:
            if not 0 <= y < self.height or not cells or x >= width:
                continue
            row = new_rows.get(y)
            if row is None:
                row = new_rows[y] = list(self.rows[y])
            end = min(x + len(cells), width)
            row[x:end] = cells[: end - x]
        # A scroll may move rows of the shadow; every row the update touches is diffed after it.
        out: list[str] = [self._scroll(new_rows)]
        runs = 1 if out[0] else 0
        segments: list[Segment] = []
        for y in sorted(new_rows):
            old, new = self.rows[y], new_rows[y]
            if old != new:
                row_segments(y, old, new, segments)
                self.rows[y] = new
        cursor: Cursor = None  # (the app moves the cursor after each frame)
        for segment in order(segments, self.sgr, width):
            step = move(cursor, segment.start, segment.y)
            if step:
                out.append(step)
                runs += 1
            out.append(self._write(segment))
            cursor = segment.after(width)
        self.last_runs = runs
        return "".join(out)

    def _write(self, segment: Segment) -> str:
        look = look_for(segment, self.sgr)
        change = sgr_step(self.sgr, look) if look != self.sgr else ""
        self.sgr = look
        chunk = segment.text()
        if look[1]:
            return f"{change}\x1b]8;;{look[1]}\x1b\\{chunk}\x1b]8;;\x1b\\"
        if self.repeats is not Repeats.NONE and len(chunk) > 5:
            chunk = with_repeats(chunk, self.repeats)
        return change + chunk
