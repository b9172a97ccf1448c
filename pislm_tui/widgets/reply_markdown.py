"""`ReplyMarkdown`: Textual's `Markdown` for model replies, cheap to stream into, used by every
tab that streams Markdown (the Chat reply, the RAG answer).

`Markdown.append` parses the last block again on every call and lays the screen out again, so
a flush costs more the longer the block being written (a long paragraph, a whole script in one
code block, a long list or table). Here, while a reply streams:

- the block being written is followed by `live_blocks` (paragraph, code, list, table, heading),
  which look only at what arrived since the last flush, and drawn line by line by `LiveTail`;
  blocks of other kinds (quotes, rules, setext headings...) are short and parsed again on each
  flush, as Textual does;
- finished paragraphs, headings, lists and code stay in the tail (no layout of the screen per
  block) until a block of another kind comes; then they, and finished blocks of other kinds, are
  Textual's own widgets, built once from their source;
- `finish()` (reply_end.py) builds Textual's widgets for what is left, so the final frame is what `Markdown`
  draws for the whole text at once; for a reply with long lists or tables (hundreds of Textual's
  widgets) the live tails draw those same cells until the mouse comes over the reply.

Blocks are split where a parse of the whole text splits them (decided on complete lines only),
so the widgets are the same as for the whole text; a reply with link reference definitions
(which reach back to earlier blocks) is drawn again as a whole when it ends.

Building Textual's block widgets from parsed tokens is a private reach
(`textual_compat/markdown.py`, guard row "markdown.blocks"): where the guard says no
(`FAST_STREAMING` False), replies stream through the stock `Markdown.append`."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from markdown_it.token import Token
from textual.strip import Strip
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock

from pislm_tui.textual_compat import markdown as compat_markdown
from pislm_tui.widgets.live_blocks import (
    REPARSE,
    End,
    FenceBlock,
    Grow,
    OpenBlock,
    ParagraphBlock,
    top_blocks,
)
from pislm_tui.widgets.live_heading import HeadingBlock
from pislm_tui.widgets.live_lists import ListBlock, simple_list
from pislm_tui.widgets.live_table import TableBlock
from pislm_tui.widgets.live_tail import LiveTail, TailContext
from pislm_tui.widgets.live_text import Counters
from pislm_tui.widgets.reply_end import ReplyEnding

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from textual.await_complete import AwaitComplete

# Textual's block widgets from parsed tokens: a private reach, behind the textual_compat guard.
FAST_STREAMING = compat_markdown.usable()

# A block parsed on every flush (a quote, a rule) shows the line being written only once it
# is this long: each change of such a block is a layout of the screen.
GENERIC_PARTIAL = 60

# Line breaks for str.splitlines but not for markdown-it (U+2028 and U+2029 among them).
_LINE_BREAKS_OF_PYTHON = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

_parser: MarkdownIt | None = None


def _tail_drawn(token: Token) -> bool:
    """A finished block the live tail keeps drawing: a paragraph, an ATX heading."""
    return token.type == "paragraph_open" or (
        token.type == "heading_open" and token.markup.startswith("#")
    )


def _shared_parser() -> MarkdownIt:
    """One parser for every reply: building a MarkdownIt compiles its rules (~2 ms)."""
    global _parser
    if _parser is None:
        from markdown_it import MarkdownIt

        _parser = MarkdownIt("gfm-like")
    return _parser


class ReplyMarkdown(ReplyEnding, Markdown):
    """Markdown for model replies. Never opens links by itself (the text is not ours).

    `streaming=True`: `append_text()` as text arrives, `finish()` at the end. `page_lines`:
    blank lines kept below the text while it streams, so that new lines need no layout."""

    FAST = FAST_STREAMING

    def __init__(
        self,
        markdown: str | None = None,
        *,
        streaming: bool = False,
        page_lines: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(markdown, parser_factory=_shared_parser, open_links=False, **kwargs)
        self.streaming = streaming
        self.page_lines = page_lines
        self.parser = _shared_parser()
        self.counters = Counters()
        self._text = markdown or ""
        # text[:_stock_end] is drawn by Textual's widgets and closed tails (`_closed_tails`: tail,
        # start, line of start, end); text[_stock_end:_open_start] by finished blocks kept in
        # the live tail (`_frozen`); the rest is the open block.
        self._stock_end = self._stock_line = 0
        self._open_start = self._open_line = 0  # (offsets and line numbers)
        self._frozen: list[OpenBlock] = []
        self._closed_tails: list[tuple[LiveTail, int, int, int]] = []
        self._block: OpenBlock | None = None
        # A block of another kind (a quote, a rule...): parsed on every flush, drawn by
        # Textual's widgets.
        self._generic_mode = False
        self._generic: list[MarkdownBlock] = []
        self._generic_tokens: list[Token] | None = None
        self._shown_generic = -1  # end of the text its widgets show
        self._tail: LiveTail | None = None
        self._draw_context = TailContext(self, self.parser, self.counters)
        # Finished, still drawn by its tails: Textual's widgets come when the mouse does.
        self.deferred = False

    # -- the text --------------------------------------------------------------------------------

    @property
    def source(self) -> str:
        return self._text

    def update(self, markdown: str) -> AwaitComplete:
        for child in self.children:
            if isinstance(child, LiveTail):
                # Removed with the others below, maybe after a layout: drawn as it is until
                # then (its blocks are dropped here).
                child.redraw = None
        self._text = markdown
        self.deferred = False
        self._block = None
        self._frozen = []
        self._closed_tails = []
        self._generic_mode = False
        self._generic = []
        self._tail = None  # (a MarkdownBlock: removed with the others)
        self._stock_end = self._open_start = len(markdown)
        self._stock_line = self._open_line = markdown.count("\n")
        return super().update(markdown)

    def append(self, markdown: str) -> AwaitComplete:
        result = super().append(markdown)  # reads `source` before it changes
        self._text += markdown
        return result

    async def append_text(self, text: str) -> None:
        """Append streamed text (see the module docstring). The caller may be cancelled (a
        flush timer stopped when the reply ends): the text is taken in all the same, whole."""
        if not text:
            return
        if not (self.streaming and self.FAST):
            if _LINE_BREAKS_OF_PYTHON.search(self._text + text):
                # Markdown.append counts lines with str.splitlines, which also breaks at these
                # (markdown-it does not): it would show blocks twice. Parse it all instead.
                self._text += text
                await asyncio.shield(self.update(self._text))
                return
            await asyncio.shield(self.append(text))
            return
        await asyncio.shield(self._append_text(text))

    async def _append_text(self, text: str) -> None:
        async with self.lock:
            self._text += text
            await self._advance()

    # -- following the open block ------------------------------------------------------------------

    async def _advance(self) -> None:
        mount: list[MarkdownBlock] = []  # Textual's widgets for blocks that have ended
        changed = False  # which blocks the tail shows has changed
        reparsed = False
        verdict: Any = None
        while True:
            if self._block is None and not self._generic_mode:
                changed = True
                if not self._start_block(mount):
                    break  # nothing open (blank lines)
            block = self._block
            if block is None:  # a block parsed again on every flush
                if self._feed_generic(mount):
                    continue  # it has ended: what follows may be of another kind
                break
            verdict = block.feed(self._text)
            if isinstance(verdict, End):
                block.close(self._text)
                self._move_open(verdict.offset)
                self._block = None
                self._frozen.append(block)
                reparsed = False
                continue
            if verdict == REPARSE:
                # The new lines are not what the block expected: parse the open part again
                # (as Textual would). If that does not help either, parse it on every flush.
                self._block = None
                self._generic_mode = reparsed
                reparsed = True
                continue
            break
        await self._show(mount, changed, verdict)

    def _move_open(self, offset: int) -> None:
        self._open_line += self._text.count("\n", self._open_start, offset)
        self._open_start = offset

    def _close_tail(self) -> None:
        """Textual's widgets for a block of another kind go after what the tail shows: the tail
        keeps its finished blocks and stays where it is (closed); a new one will follow. Its
        blocks become Textual's widgets when the reply ends (one layout, not one per block)."""
        tail = self._tail
        if self._frozen and tail is not None:
            blocks = self._frozen
            tail.redraw = lambda width: tail.lay_out_blocks(
                blocks, False, self._text, width, True, self._margin_above(tail)
            )
            width = tail.size.width
            if width > 0:
                # The last block may have ended in this very flush, its last line completed
                # since the tail last showed it: show the blocks as they are now.
                tail.lines = tail.lay_out_blocks(
                    blocks, False, self._text, width, False, self._margin_above(tail)
                )
            tail.close_below(blocks[-1].kind)
            tail.trim()
            self._closed_tails.append((tail, self._stock_end, self._stock_line, self._open_start))
            self._tail = None
        self._frozen = []
        self._stock_end, self._stock_line = self._open_start, self._open_line

    def _margin_above(self, widget: MarkdownBlock) -> int | None:
        children = list(self.children)
        index = children.index(widget)
        return children[index - 1].styles.margin.bottom if index else None

    def _end_blocks(self, mount: list[MarkdownBlock]) -> bool:
        """Blocks of the open part followed by another block (on complete lines) have ended:
        Textual's widgets for them. Returns whether any had."""
        text = self._text
        start = self._open_start
        complete_end = text.rfind("\n", start) + 1
        if complete_end <= start:
            return False
        tokens = self.parser.parse(text[start:complete_end])
        self.counters.reparsed += complete_end - start
        blocks = top_blocks(tokens)
        if not blocks:
            return False
        last = tokens[blocks[-1][0]]
        assert last.map is not None
        if last.type in ("heading_open", "hr"):
            # Nothing can be added to a heading or a rule once its line is complete.
            cut = len(tokens)
            lines = last.map[1]
        elif len(blocks) >= 2:
            cut = blocks[-1][0]
            lines = last.map[0]
        else:
            return False
        ended = [tokens[i] for i, _ in blocks if i < cut]
        if self._freeze_ended(ended):
            return True
        self._close_tail()
        mount += self._widgets(tokens[:cut], self._open_line)
        offset = self._open_start
        for _ in range(lines):
            offset = text.index("\n", offset) + 1
        self._move_open(offset)
        self._stock_end, self._stock_line = self._open_start, self._open_line
        return True

    def _freeze_ended(self, ended: list[Token]) -> bool:
        """Paragraphs and headings that ended within one flush (a fast reply) join the live
        tail's finished blocks, as ones followed line by line do, instead of becoming a widget
        each: a long reply of many paragraphs stays a few widgets. Only when every ended block
        is one of those."""
        if not all(_tail_drawn(token) for token in ended):
            return False  # blocks of other kinds keep their order as Textual's widgets
        text, frozen = self._text, 0
        for token in ended:
            while (newline := text.find("\n", self._open_start)) >= 0 and not text[
                self._open_start : newline
            ].strip():
                self._move_open(newline + 1)  # blank lines before it are no part of it
            block: OpenBlock = (
                ParagraphBlock(self._draw_context, self._open_start)
                if token.type == "paragraph_open"
                else HeadingBlock(self._draw_context, self._open_start, token.tag)
            )
            verdict = block.feed(text)
            if not isinstance(verdict, End):
                break
            block.close(text)
            self._move_open(verdict.offset)
            self._frozen.append(block)
            frozen += 1
        return frozen > 0

    def _start_block(self, mount: list[MarkdownBlock]) -> bool:
        """Parse the open part: what has ended goes to `mount`; the block left open is
        followed by the class of its kind, or parsed on every flush. False: nothing is open."""
        self._end_blocks(mount)
        text = self._text
        while True:  # blank lines before the block are no part of it
            newline = text.find("\n", self._open_start)
            if newline < 0 or text[self._open_start : newline].strip():
                break
            self._move_open(newline + 1)
        region = text[self._open_start :]
        if not region.strip():
            return False
        tokens = self.parser.parse(region)
        self.counters.reparsed += len(region)
        kind = tokens[0].type if tokens else ""
        start = self._open_start
        block: OpenBlock | None = None
        if kind == "paragraph_open":
            block = ParagraphBlock(self._draw_context, start)
        elif kind == "fence" and region.lstrip(" ")[:1] in "`~":
            block = FenceBlock(self._draw_context, start)
        elif kind in ("bullet_list_open", "ordered_list_open") and simple_list(tokens):
            block = ListBlock(self._draw_context, start, tokens)
        elif kind == "table_open":
            block = TableBlock(self._draw_context, start)
        elif kind == "heading_open" and _tail_drawn(tokens[0]):
            block = HeadingBlock(self._draw_context, start, tokens[0].tag)
        self._block = block
        self._generic_mode = block is None
        self._shown_generic = -1
        return True

    def _feed_generic(self, mount: list[MarkdownBlock]) -> bool:
        """A block of a kind parsed again on every flush (short ones: quotes, rules...).
        True when it has ended."""
        if self._end_blocks(mount):
            self._generic_mode = False
            self._generic_tokens = None
            return True
        text = self._text
        end = len(text)
        complete_end = max(text.rfind("\n", self._open_start) + 1, self._open_start)
        if end - complete_end < GENERIC_PARTIAL:
            end = max(complete_end, self._open_start)  # a short line: shown once complete
        if end == self._shown_generic:
            return False  # nothing new to show
        self._shown_generic = end
        region = text[self._open_start : end]
        self._generic_tokens = self.parser.parse(region) if region.strip() else []
        if self._generic_tokens:
            self._close_tail()  # Textual's widgets for it go after the finished blocks
        self.counters.reparsed += len(region)
        return False

    def _widgets(self, tokens: list[Token], first_line: int) -> list[MarkdownBlock]:
        blocks = list(compat_markdown.blocks_of(self, tokens))
        for block in blocks:
            start, end = block.source_range
            block.source_range = (start + first_line, end + first_line)
        return blocks

    def _stock(self, start: int, line: int, end: int) -> list[MarkdownBlock]:
        """Textual's widgets for text[start:end] (whole blocks; `line`: the line of `start`)."""
        source = self._text[start:end]
        if not source.strip():
            return []
        tokens = self.parser.parse(source)
        self.counters.reparsed += len(source)
        return self._widgets(tokens, line)

    async def _show(self, mount: list[MarkdownBlock], changed: bool, verdict: Any) -> None:
        tail = self._tail
        if tail is None:
            tail = self._tail = LiveTail(self, Token("paragraph_open", "p", 1), self.page_lines)
            tail.redraw = self._draw_tail
            self._draw_context.tail = tail
            await self.mount(tail)
        generic: list[MarkdownBlock] = []
        tokens, self._generic_tokens = self._generic_tokens, None
        if tokens:
            generic = self._widgets(tokens, self._open_line)
        with self.app.batch_update():
            if self._generic and (tokens is not None or mount):
                for widget in self._generic:
                    await widget.remove()
                self._generic = []
            if mount or generic:
                await self.mount_all([*mount, *generic], before=tail)
                self._generic = generic
            block = self._block
            width = tail.size.width
            if mount:
                moved = tail.text_lines
                tail.carry(self._draw_tail(width, redraw=False) if width > 0 else [], moved)
            elif changed or not isinstance(verdict, Grow) or block is None:
                # From the block that was open: it may have changed as it ended.
                old, first = tail.text_lines, tail.open_at
                lines = self._draw_tail(width, redraw=False) if width > 0 else []
                tail.show(lines, min(first, old), old)
            else:
                lines = tail.lines
                first = verdict.first_changed
                lines[tail.open_at + first :] = block.lines[first:]
                tail.show(lines, tail.open_at + first, tail.open_at + verdict.old_count)
        self.counters.snapshot()

    def _draw_tail(self, width: int, redraw: bool = True) -> list[Strip]:
        """The tail's lines for the blocks it shows; `redraw`: lay them all out again."""
        children = self.children
        above = children[-2].styles.margin.bottom if len(children) >= 2 else None
        assert self._tail is not None
        return self._tail.lay_out_blocks(
            [*self._frozen, *([self._block] if self._block is not None else [])],
            self._block is not None,
            self._text,
            width,
            redraw,
            above,
        )

    # -- reserved space (the chat view follows the end of the text) ----------------------------

    def reserve_more(self) -> None:
        """The last block is not drawn by the live tail (a quote, a rule) and has reached the
        end of the reserved space: reserve another page."""
        if self.streaming and self.page_lines:
            self.styles.min_height = self.outer_size.height + self.page_lines

    def text_bottom(self) -> int:
        """Screen row just below the text (reserved space not counted)."""
        tail = self._tail
        if tail is not None and tail.is_mounted and tail.text_lines:
            return tail.content_region.y + tail.text_lines
        children = self.children
        blocks = children[:-1] if tail is not None and children else children
        if not blocks:
            return self.content_region.y
        return blocks[-1].region.bottom
