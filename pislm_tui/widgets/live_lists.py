"""A list being written, item by item: finished items are drawn once, the item being written is
laid out by `GrowingParagraph`. Lists whose items are one paragraph each (the usual bulleted or
numbered list) are followed this way; a list with nested lists or code in its items is parsed
again on every flush instead (see `reply_markdown`).

Items are drawn as Textual draws them: the bullet (`Markdown.BULLETS[0]`, or the number, right
aligned to the widest number of the list), then the item's text wrapped beside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Markdown

from pislm_tui.widgets.live_blocks import REPARSE, Context, End, Grow, Verdict, plain_start
from pislm_tui.widgets.live_text import GrowingParagraph

# An ATX heading's line (`## Title`): it ends a list it is not indented into.
_HEADING_LINE = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")

if TYPE_CHECKING:
    from markdown_it.token import Token

_MARKER = re.compile(r"( {0,3})(?:([-*+])|(\d{1,9})([.)]))(?:( +)|$)")


def simple_list(tokens: list[Token]) -> bool:
    """The first block is a list whose items hold one paragraph each (or nothing)."""
    depth = 0
    item_blocks = 0
    for token in tokens:
        if token.level == 0 and token.nesting == -1:
            return True  # the end of the first block
        if token.type == "list_item_open" and token.level == 1:
            item_blocks = 0
            continue
        if token.level == 2 and token.nesting >= 0:
            if token.type != "paragraph_open":
                return False
            item_blocks += 1
            if item_blocks > 1:
                return False
        depth = token.level
    del depth
    return True


@dataclass
class _Item:
    start: int  # offset of its first line
    text_start: int  # offset of its text, after the marker
    indent: int  # columns of the marker and the spaces after it
    number: int


class ListBlock:
    kind = "list"

    def __init__(self, context: Context, start: int, tokens: list[Token]) -> None:
        self.context = context
        self.start = start
        first = tokens[0]
        self.ordered = first.type == "ordered_list_open"
        item = next(t for t in tokens if t.type == "list_item_open")
        self.marker = item.markup  # "-", "*", "+" or "." / ")"
        self.first_number = int(item.info) if self.ordered and item.info.isdigit() else 1
        self.items: list[_Item] = []
        self.lines_end = start
        self.blank = False  # a blank line after the last line taken in
        self.item_end = start  # end of the current item's text (complete lines)
        self.partial_item: _Item | None = None  # an item whose first line is being written
        self.shown_end = start
        self.width = 0
        self.lines: list[Strip] = []
        self._done = 0  # lines[:_done] are finished items
        self._symbol_width = 0
        self._layout: GrowingParagraph | None = None
        self._layout_item: _Item | None = None

    # -- reading lines ---------------------------------------------------------------------------

    def _marker(self, line: str) -> tuple[int, str] | None:
        """(indent, text after the marker) when the line starts an item of this list."""
        match = _MARKER.match(line)
        if match is None:
            return None
        marker = match[2] or match[4]
        if marker != self.marker or (match[5] is not None and len(match[5]) > 4):
            return None
        return match.end(), line[match.end() :]

    def _judge(self, text: str, start: int, end: int, complete: bool) -> str:
        line = text[start:end]
        if not line.strip():
            return "blank" if complete else "hold"
        current = self.items[-1] if self.items else None
        indent = len(line) - len(line.lstrip(" "))
        marker = self._marker(line)
        if marker is not None and (current is None or indent < current.indent):
            rest = marker[1]
            if not rest.strip() or plain_start(rest):
                return "item"
            window = self.context.parser.parse(line.lstrip(" ") + "\n")
            self.context.counters.reparsed += len(line)
            if simple_list(window) and window[0].type in ("bullet_list_open", "ordered_list_open"):
                return "item"
            return "reparse" if complete else "hold"
        if current is None:
            return "reparse" if complete else "hold"
        if self.blank:
            if indent >= current.indent:
                return "reparse" if complete else "hold"  # a second block in the item
            return "end" if complete else "hold"
        if indent < current.indent and _HEADING_LINE.match(line):
            return "end" if complete else "hold"  # a heading interrupts it (no lazy line)
        inside = line[current.indent :] if indent >= current.indent else line
        if plain_start(inside):
            return "continue"
        return "reparse" if complete else "hold"

    def feed(self, text: str) -> Verdict:
        while (newline := text.find("\n", self.lines_end)) >= 0:
            start = self.lines_end
            verdict = self._judge(text, start, newline, complete=True)
            if verdict == "blank":
                self.blank = True
            elif verdict == "continue":
                self.item_end = newline
            elif verdict == "item":
                self._start_item(text, start, newline)
                self.item_end = newline
                self.blank = False
            elif verdict == "end":
                return End(start)
            else:
                return REPARSE
            self.lines_end = newline + 1
        self.shown_end = self.item_end
        self.partial_item = None
        if self.lines_end < len(text):
            verdict = self._judge(text, self.lines_end, len(text), complete=False)
            if verdict == "continue":
                self.shown_end = len(text)
            elif verdict == "item":
                item = self._item_at(text, self.lines_end, len(text))
                if text[item.text_start :].strip():  # (a bullet alone: shown with its text)
                    self.partial_item = item
        old = len(self.lines)
        first = self._update(text, self.shown_end, self.partial_item)
        return Grow(first, old)

    def _item_at(self, text: str, start: int, end: int) -> _Item:
        line = text[start:end]
        match = _MARKER.match(line)
        assert match is not None
        number = self.first_number + len(self.items)
        return _Item(start, start + match.end(), match.end(), number)

    def _start_item(self, text: str, start: int, end: int) -> None:
        self.items.append(self._item_at(text, start, end))

    # -- drawing ----------------------------------------------------------------------------------

    def _symbol(self, item: _Item) -> str:
        if not self.ordered:
            return Markdown.BULLETS[0]
        return f"{item.number}. ".rjust(self._symbol_width + 1)

    def _widest(self, count: int) -> int:
        if not self.ordered:
            return 0
        return len(f"{self.first_number + count - 1}. ")

    def _item_lines(self, item: _Item, layout: GrowingParagraph) -> list[Strip]:
        context = self.context
        symbol = self._symbol(item)
        bullet_width = cell_len(symbol)
        bullet = context.to_strips(
            Content(symbol), bullet_width, context.style("live-tail--bullet")
        )
        blank = context.padding(bullet_width)
        text_lines = layout.lines or [Strip([])]
        return [
            Strip.join([bullet[0] if y == 0 else blank, line]) for y, line in enumerate(text_lines)
        ]

    def _new_layout(self, item: _Item) -> GrowingParagraph:
        context = self.context
        bullet_width = cell_len(self._symbol(item))
        return GrowingParagraph(
            context.parser,
            context.to_content,
            lambda content, width: context.to_strips(content, width),
            self.width - bullet_width,
            context.counters,
        )

    def _update(self, text: str, shown_end: int, partial: _Item | None) -> int:
        """Lay out the items that changed; returns the first line that changed."""
        if not self.width:
            return 0
        count = len(self.items) + (partial is not None)
        widest = self._widest(count)
        if widest != self._symbol_width:
            # More digits in the numbers: every bullet moves (as in Textual's list).
            self._symbol_width = widest
            self._redraw(text)
        first_changed = self._done
        if self._layout_item is None and self.items:
            # Drawn before any item was complete (the first one being written, or none): the
            # items that came since start with the first.
            self._layout_item = self.items[0]
        # Items finished since the last update: their lines are final.
        while self._layout_item is not None and self._layout_item is not self.items[-1]:
            index = self.items.index(self._layout_item)
            item = self._layout_item
            following = self.items[index + 1]
            if self._layout is None:
                self._layout = self._new_layout(item)
            self._layout.update(text, item.text_start, max(item.text_start, following.start - 1))
            lines = self._item_lines(item, self._layout)
            self.lines[self._done :] = lines
            self._done += len(lines)
            self._layout_item = following
            self._layout = self._new_layout(following)
        current = self.items[-1] if self.items else None
        tail: list[Strip] = []
        if current is not None:
            if self._layout_item is not current or self._layout is None:
                self._layout_item, self._layout = current, self._new_layout(current)
            self._layout.update(text, current.text_start, max(current.text_start, shown_end))
            tail = self._item_lines(current, self._layout)
        if partial is not None:
            layout = self._new_layout(partial)
            layout.update(text, partial.text_start, len(text))
            tail += self._item_lines(partial, layout)
        old = self.lines[self._done :]
        for a, b in zip(old, tail, strict=False):
            if a != b:
                break
            first_changed += 1
        self.lines[self._done :] = tail
        return first_changed

    def _redraw(self, text: str) -> None:
        self.lines = []
        self._done = 0
        self._layout = None
        self._layout_item = self.items[0] if self.items else None

    def close(self, text: str) -> None:
        """The list has ended (its lines are all taken in)."""
        self.shown_end, self.partial_item = self.item_end, None
        self._update(text, self.shown_end, None)

    def draw(self, text: str, width: int) -> list[Strip]:
        self.width = width
        self._symbol_width = -1
        self._redraw(text)
        self._update(text, self.shown_end, self.partial_item)
        return self.lines
