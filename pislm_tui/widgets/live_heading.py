"""A heading being written (`## Title`): one line, drawn in the live tail the way Textual's
`MarkdownH1`…`MarkdownH6` draw it, so that it costs a repaint like a paragraph, not the layouts
of closing the tail, mounting Textual's widget and opening a new tail after it.

Only ATX headings (`#` to `######`): a setext heading (`Title` over `===`) starts as a paragraph
and is parsed again when its second line comes. The looks are the tail's component classes
`live-tail--h1`…`live-tail--h6`, copied from Textual's heading CSS (live_tail.py); the layout
rules are copied here: H1 centred, H3 never wrapped (`width: auto`)."""

from __future__ import annotations

import re

from textual.content import Content
from textual.strip import Strip
from textual.style import Style

from pislm_tui.widgets.live_blocks import REPARSE, Context, End, Grow, Verdict, fit

# The start of an ATX heading with some text after its marker (a lone `#` may yet become a
# `#hashtag` paragraph: it is drawn once its text starts).
_HEADING_TEXT = re.compile(r" {0,3}#{1,6}[ \t]+\S")


class HeadingBlock:
    """An ATX heading; its `kind` ("h1"…"h6", from the parse) gives its looks and margins."""

    def __init__(self, context: Context, start: int, kind: str) -> None:
        self.context = context
        self.start = start
        self.kind = kind
        self.width = 0
        self.lines: list[Strip] = []
        self._content: Content | None = None  # None: nothing to draw yet
        self._source: tuple[str, bool] = ("", False)  # the line it was made of, and complete?

    def feed(self, text: str) -> Verdict:
        newline = text.find("\n", self.start)
        complete = newline >= 0
        line = text[self.start : newline if complete else len(text)]
        if (line, complete) == self._source:
            return End(newline + 1) if complete else Grow(len(self.lines), len(self.lines))
        tokens = self.context.parser.parse(line)
        self.context.counters.reparsed += len(line)
        if not tokens or tokens[0].type != "heading_open" or tokens[0].tag != self.kind:
            return REPARSE  # `#` became `#hashtag`, or `##`: not this heading (any more)
        self._source = (line, complete)
        shown = complete or _HEADING_TEXT.match(line) is not None
        self._content = self.context.content_of(tokens[1]) if shown else None
        old = len(self.lines)
        if self.width:
            self.draw(text, self.width)
        return End(newline + 1) if complete else Grow(0, old)

    def close(self, text: str) -> None:
        """Its line is complete (`feed` has taken it in)."""

    def draw(self, text: str, width: int) -> list[Strip]:
        self.width = width
        content = self._content
        if content is None or width <= 0:
            self.lines = []
            return self.lines
        context = self.context
        style = context.style(f"live-tail--{self.kind}")
        # H3 is `width: auto` in Textual's CSS: as wide as its text, yet never narrower than
        # the line (the block expands), so a long one is cropped, not wrapped.
        inner = max(content.cell_length, width) if self.kind == "h3" else width
        strips = context.to_strips(content, inner, style)
        if self.kind == "h1":
            # `content-align: center middle`, padded as Textual's `Visual.to_strips` aligns.
            pad_style = (style + Style(reverse=False)).rich_style
            strips = list(Strip.align(strips, pad_style, width, len(strips), "center", "top"))
        self.lines = [fit(strip, width, style) for strip in strips]
        return self.lines
