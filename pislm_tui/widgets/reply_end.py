"""The end of a streamed reply (a mixin of `ReplyMarkdown`): `finish()` turns what the live tails
drew into Textual's own Markdown widgets, so the final frame is what `Markdown` draws for the
whole text at once. Two kinds of reply stay drawn by their tails instead (cell for cell the same):
a very long one (thousands of blocks would be thousands of widgets), and one with long lists or
tables (hundreds of widgets that every later layout walks), whose widgets come when the mouse
does (text selection, tooltips). A reply with link reference definitions is parsed again whole."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from pislm_tui.widgets.live_blocks import Grow

if TYPE_CHECKING:
    from pislm_tui.widgets.reply_markdown import ReplyMarkdown

# A link reference definition: `[label]: url` at the start of a line.
_REFERENCE = re.compile(r"^ {0,3}\[[^\]\n]+\]:", re.MULTILINE)

# Past about this many blocks, a finished reply keeps its live tails instead of becoming one of
# Textual's widgets per block (tests/faults: a 100,000-token reply, widgets bounded).
MAX_FINISHED_BLOCKS = 300

# Textual's widgets for a list are four per item, for a table one per cell: a long list or table
# is hundreds of them, and each layout of the screen afterwards walks them all (a 300-item list:
# about a second of CPU when the reply ends). Past this many, a finished reply stays drawn by its
# live tails (cell for cell what Textual draws) until the mouse comes over it: Textual's widgets
# are built then, for text selection and tooltips.
DEFERRED_WIDGETS = 120
# (A switch for tests and for finding faults: with it off, every reply ends as Textual's widgets,
# which hide a tail drawn wrong; tests/test_streaming_shapes.py compares both ends cell for cell.)
DEFER_LONG_LISTS = True
_LIST_ITEM = re.compile(r"^ *(?:[-*+]|\d{1,9}[.)])[ \t]", re.MULTILINE)
_TABLE_ROW = re.compile(r"^ *\|.*$", re.MULTILINE)


def widgets_estimate(text: str) -> int:
    """About how many widgets Textual's Markdown makes for the lists and tables of `text`."""
    cells = sum(max(row.count("|") - 1, 1) for row in _TABLE_ROW.findall(text))
    return 4 * len(_LIST_ITEM.findall(text)) + cells


class ReplyEnding:
    async def finish(self: ReplyMarkdown) -> None:
        """The reply has ended: Textual's widgets for all of it, no reserved space."""
        await asyncio.shield(self._finish())

    async def _finish(self: ReplyMarkdown) -> None:
        if not self.streaming:
            return
        self.streaming = False
        self.styles.min_height = None
        if not self.FAST:
            return
        if self._text.count("\n\n") > MAX_FINISHED_BLOCKS:
            # A very long reply stays drawn by its tails (as it looked while it streamed, cell
            # for cell): Textual's widgets would be one per block, thousands of them.
            async with self.lock:
                for tail in (self._tail, *(closed for closed, *_ in self._closed_tails)):
                    if tail is not None:
                        tail.trim()
            return
        if _REFERENCE.search(self._text):
            # A definition may turn `[label]` anywhere above into a link: draw it all again.
            await self.update(self._text)
            return
        if DEFER_LONG_LISTS and widgets_estimate(self._text) > DEFERRED_WIDGETS:
            async with self.lock:
                if await self._end_in_tail():
                    self.deferred = True
                    return
        await self._build_widgets()

    async def _end_in_tail(self: ReplyMarkdown) -> bool:
        """Show the end of the reply in the live tail, its open block drawn as ended, and keep
        it. False when the tail cannot show it as Textual would (the last block is not one the
        tail follows); nothing has changed then."""
        block = self._block
        last = block if block is not None else self._frozen[-1] if self._frozen else None
        if self._generic_mode or self._tail is None or last is None or last.kind == "fence":
            return False  # (a code block's margins differ in ANSI colours)
        if block is None and self._text[self._open_start :].strip():
            # The last line began no block yet (it came without its newline after a block
            # ended): the tail shows it only as it was while it streamed. Textual's widgets.
            return False
        if block is not None:
            # The last line has no newline: the block takes it in as a complete line.
            complete = self._text if self._text.endswith("\n") else self._text + "\n"
            if not isinstance(block.feed(complete), Grow):
                return False  # (the block object is dropped: Textual's widgets will be built)
            block.close(complete)
            self._frozen.append(block)
            self._block = None
        await self._show([], True, None)
        for tail in (self._tail, *(closed for closed, *_ in self._closed_tails)):
            tail.trim()
        self._tail.add_class("-ended")
        return True

    async def on_enter(self: ReplyMarkdown) -> None:
        """The mouse is over the reply: Textual's widgets for it (selection, tooltips)."""
        if self.deferred:
            self.deferred = False
            await self._build_widgets()

    async def _build_widgets(self: ReplyMarkdown) -> None:
        async with self.lock:
            blocks = self._stock(self._stock_end, self._stock_line, len(self._text))
            tail = self._tail
            with self.app.batch_update():
                for closed, start, line, end in self._closed_tails:
                    await self.mount_all(self._stock(start, line, end), before=closed)
                    await closed.remove()
                for widget in self._generic:
                    await widget.remove()
                if blocks:
                    await self.mount_all(blocks, before=tail)
                if tail is not None:
                    await tail.remove()
                    if self.children:
                        # It is the last child now (`:last-child` styles, as in the RAG answer).
                        self.children[-1].update_node_styles(animate=False)
                        self.refresh(layout=True)
            self._tail = None
            self._block = None
            self._frozen = []
            self._closed_tails = []
            self._generic = []
            self._generic_mode = False
