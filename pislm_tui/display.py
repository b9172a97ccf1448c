"""Differential terminal output: send only the cells that changed.

Textual repaints whole regions: when a widget changes size, everything it covers is written
again, and a scrolled view is written line by line. Over SSH, with a reply growing a few words at
a time, that is kilobytes per token. This module keeps a copy of what the terminal shows (a
"shadow" of cells) and turns each compositor update into cursor moves plus the cells that differ.
When most of a block of rows moved up or down (a scroll), it asks the terminal to scroll that block
(DECSTBM scroll region) and then writes only the rows that appeared. Where the terminal's terminfo
entry says it can (`rep`), a run of one character (a code block's background, a table's rule) is
written once and repeated by the terminal (REP, `CSI n b`), as ncurses does.

It only rewrites Textual's output; widgets are untouched. An update of a kind it does not know
passes through unchanged and makes the shadow forget what it knew. What an update paints is read
by `textual_compat.updates` (Textual keeps those classes private); the app hands the shadow its
frames through `textual_compat.output`."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import partial
from itertools import repeat
from typing import TYPE_CHECKING

from rich.cells import get_character_cell_size
from rich.color import ColorSystem
from textual.strip import Strip

from pislm_tui.textual_compat.updates import update_pieces

if TYPE_CHECKING:
    from rich.style import Style

    from pislm_tui.textual_compat.updates import CompositorUpdate

# A cell: its text ("" for the right half of a wide character) and what its style looks like on
# the terminal (SGR parameters and hyperlink). Styles are compared by that rendering, not as
# objects: Textual puts per-cell metadata (offsets for text selection) into otherwise equal styles.
Look = tuple[str, str]
Cell = tuple[str, Look]
_PLAIN: Look = ("", "")
_UNKNOWN: Cell = ("\x00unknown", _PLAIN)  # never equal to a real cell
_CONTINUATION = ""
# Rewriting a short unchanged gap is cheaper than a cursor move (`ESC[row;colH`, 6-8 bytes).
_MERGE_GAP = 6
# A block scroll is used only when at least this many rows can be kept.
_MIN_SCROLL_KEEP = 4
# A character and at least 5 more of it: written once, then REP (`ESC[5b`, 4 bytes or more).
_REPEATED = re.compile(r"([^\x00-\x1f\x7f])\1{5,}")


def terminal_repeats(fd: int | None = None) -> bool:
    """Whether the terminal named by $TERM repeats a character (REP) according to terminfo, as
    ncurses would use it. Read once per process (curses reads one terminfo entry)."""
    import curses

    try:
        curses.setupterm(None, sys.__stdout__.fileno() if fd is None else fd)
        return curses.tigetstr("rep") is not None
    except (curses.error, AttributeError, OSError, ValueError):
        return False  # no terminfo entry, no stdout: every cell written out


def _repeat(match: re.Match[str]) -> str:
    char = match[1]
    if get_character_cell_size(char) != 1:
        return match[0]  # (REP of a wide or zero-width character: not every terminal agrees)
    return f"{char}\x1b[{len(match[0]) - 1}b"


def with_repeats(text: str) -> str:
    """`text` with each run of one character written once and repeated by REP."""
    return _REPEATED.sub(_repeat, text)


class _Looks:
    """Style -> Look, cached (styles are hashable and repeat a lot)."""

    def __init__(self, color_system: ColorSystem) -> None:
        self.color_system = color_system
        self.cache: dict[Style, Look] = {}

    def __call__(self, style: Style | None) -> Look:
        if style is None:
            return _PLAIN
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
                append((_CONTINUATION, seen))
    return cells


# SGR attributes turned off one by one (ECMA-48), instead of a reset and every other attribute
# set again: "22" ends both bold and faint, "24" both underlines, "25" both blinks.
_ATTRIBUTE_OFF = {
    "1": "22",
    "2": "22",
    "3": "23",
    "4": "24",
    "21": "24",
    "5": "25",
    "6": "25",
    "7": "27",
    "8": "28",
    "9": "29",
}


def _sgr_parts(ansi: str) -> tuple[frozenset[str], str, str]:
    """SGR parameters as Rich writes them (`Strip.render_ansi`): attributes, then foreground,
    then background; a colour is "38;2;r;g;b", "38;5;n" or one code (30-37, 39, 90-97...)."""
    params = ansi.split(";") if ansi else []
    flags: set[str] = set()
    fg = bg = ""
    i = 0
    while i < len(params):
        code = params[i]
        if code in ("38", "48"):
            size = 5 if params[i + 1 : i + 2] == ["2"] else 3
            value = ";".join(params[i : i + size])
            i += size
        else:
            value = code
            i += 1
        number = int(value.split(";", 1)[0]) if value.split(";", 1)[0].isdigit() else -1
        if number == 38 or 30 <= number <= 37 or number == 39 or 90 <= number <= 97:
            fg = value
        elif number == 48 or 40 <= number <= 47 or number == 49 or 100 <= number <= 107:
            bg = value
        else:
            flags.add(value)
    return frozenset(flags), fg, bg


def sgr_change(old: str, new: str) -> str:
    """The shortest SGR sequence taking the terminal from look `old` to look `new` (SGR
    parameters): only what differs (a new colour, an attribute on or off), or a reset and `new`
    when that is shorter or an attribute has no "off" code here."""
    full = f"\x1b[0;{new}m" if new else "\x1b[0m"
    if old == new:
        return ""
    old_flags, old_fg, old_bg = _sgr_parts(old)
    new_flags, new_fg, new_bg = _sgr_parts(new)
    codes: list[str] = []
    removed = old_flags - new_flags
    if any(flag not in _ATTRIBUTE_OFF for flag in removed):
        return full
    off = {_ATTRIBUTE_OFF[flag] for flag in removed}
    # An "off" code ends a pair ("22": bold and faint): set again the one of the pair kept.
    kept = {flag for flag in new_flags if _ATTRIBUTE_OFF.get(flag) in off}
    codes += sorted(off)
    codes += sorted((new_flags - old_flags) | kept)
    if new_fg != old_fg:
        codes.append(new_fg or "39")
    if new_bg != old_bg:
        codes.append(new_bg or "49")
    change = f"\x1b[{';'.join(codes)}m"
    return change if len(change) < len(full) else full


def _move_to(x: int, y: int) -> str:
    return f"\x1b[{y + 1};{x + 1}H"


class TerminalShadow:
    """What the terminal shows, cell by cell, and the diff of an update against it."""

    def __init__(self, repeat: bool = False) -> None:
        self.repeat = repeat  # the terminal knows REP (`terminal_repeats`)
        self.width = 0
        self.height = 0
        self.rows: list[list[Cell]] = []
        self._looks = _Looks(ColorSystem.TRUECOLOR)
        # The terminal's current SGR look (None: unknown). Runs that keep it need no SGR at all;
        # a change is written as what differs (`sgr_change`), a reset when the look is unknown.
        self.sgr: Look | None = None
        self._changes: dict[tuple[str, str], str] = {}
        self.last_runs = 0  # runs of cells written by the last diff

    def resize(self, width: int, height: int) -> None:
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self.forget()

    def forget(self) -> None:
        """The terminal's content is unknown (start, resize, resume from suspend)."""
        self.rows = [[_UNKNOWN] * self.width for _ in range(self.height)]
        self.sgr = None

    def styles_reset(self) -> None:
        """Something else wrote to the terminal and ended with SGR reset (Textual's own output)."""
        self.sgr = _PLAIN

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
        blank = [_UNKNOWN] * self.width
        region = self.rows[top : bottom + 1]
        if shift > 0:
            moved = region[shift:] + [list(blank) for _ in range(shift)]
            # Cursor to the bottom margin; each IND (ESC D) there scrolls the region up a line.
            sequence = f"\x1b[{top + 1};{bottom + 1}r{_move_to(0, bottom)}" + "\x1bD" * shift
        else:
            moved = [list(blank) for _ in range(-shift)] + region[: len(region) + shift]
            # Cursor to the top margin; each RI (ESC M) there scrolls the region down a line.
            sequence = f"\x1b[{top + 1};{bottom + 1}r{_move_to(0, top)}" + "\x1bM" * -shift
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
        for y in sorted(new_rows):
            old, new = self.rows[y], new_rows[y]
            if old == new:
                continue
            for a, b in _changed_runs(old, new):
                out.append(_move_to(a, y))
                out.append(self._render(new[a:b]))
                runs += 1
            self.rows[y] = new
        self.last_runs = runs
        return "".join(out)

    def _render(self, cells: list[Cell]) -> str:
        out: list[str] = []
        text: list[str] = []
        current = cells[0][1] if cells else _PLAIN

        def flush() -> None:
            chunk = "".join(text)
            ansi, link = current
            if current != self.sgr:
                out.append(self._sgr_change(ansi))
                self.sgr = current
            if link:
                chunk = f"\x1b]8;;{link}\x1b\\{chunk}\x1b]8;;\x1b\\"
            elif self.repeat and len(chunk) > 5:
                chunk = with_repeats(chunk)
            out.append(chunk)

        for char, look in cells:
            if char == _CONTINUATION:
                continue
            if look != current:
                if text:
                    flush()
                    text = []
                current = look
            text.append(char)
        if text:
            flush()
        return "".join(out)

    def _sgr_change(self, ansi: str) -> str:
        if self.sgr is None:
            return f"\x1b[0;{ansi}m" if ansi else "\x1b[0m"
        key = (self.sgr[0], ansi)
        change = self._changes.get(key)
        if change is None:
            if len(self._changes) > 20_000:
                self._changes.clear()
            change = self._changes[key] = sgr_change(*key)
        return change


def _changed_runs(old: list[Cell], new: list[Cell]) -> list[tuple[int, int]]:
    """Ranges [a, b) of cells that differ, merged across small gaps, widened so that no wide
    character is cut in half (in either the old or the new row)."""
    n = len(new)
    runs: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if old[i] == new[i]:
            i += 1
            continue
        start = i
        end = i + 1
        j = end
        while j < n:
            if old[j] != new[j]:
                end = j + 1
            elif j - end >= _MERGE_GAP:
                break
            j += 1
        while start > 0 and (new[start][0] == _CONTINUATION or old[start][0] == _CONTINUATION):
            start -= 1
        while end < n and (new[end][0] == _CONTINUATION or old[end][0] == _CONTINUATION):
            end += 1
        if runs and start <= runs[-1][1]:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((start, end))
        i = end
    return runs
