"""`LiveTail`: the block of a streaming reply that is still being written, drawn line by line.

The open block's lines come from `live_blocks` (a paragraph, a code block, a list or a table that
grows at its end); this widget only draws them. It keeps blank lines below the text (`page` of
them), so a new line of text does not change its height, nor the height of anything around it,
and costs a repaint of that line, not a layout of the screen. When the text reaches the end of
that space, it grows by another page at once.

It is a `MarkdownBlock`, so Textual's Markdown CSS for inline styles (`.em`, `.strong`,
`.code_inline`...) applies to it as to a paragraph. The looks of the other blocks it draws
(bullets, code, table lines, headings) are component classes below, copied from Textual's own
CSS for those widgets; they matter only while a block streams: a finished block is Textual's
own."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from markdown_it.token import Token as _Token
from rich.style import Style as RichStyle
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets.markdown import MarkdownBlock, MarkdownFence

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from textual.visual import VisualStyle
    from textual.widgets import Markdown

    from pislm_tui.widgets.live_blocks import OpenBlock
    from pislm_tui.widgets.live_text import Counters

# Headings (live_heading.py) as Textual's MarkdownH1 to MarkdownH6 colour them.
_HEADINGS_CSS = "\n".join(
    f"& > .live-tail--h{level} {{ color: $markdown-h{level}-color; "
    f"background: $markdown-h{level}-background; text-style: $markdown-h{level}-text-style; }}"
    for level in range(1, 7)
)

# Inline sources whose Content is kept (table cells, headings): more than a screen of cells.
CONTENTS_KEPT = 1024
# Blank lines kept below the text when no page size is given.
SLACK_LINES = 4
# A blank line: Textual pads it as it pads the end of a line of text (same cells on screen, so
# nothing is sent again when text appears on it).
_BLANK = Strip([])


def margins(kind: str, ansi: bool) -> tuple[int, int]:
    """(top, bottom) margins of a block of this kind in Textual's Markdown CSS: code blocks 1 0
    (0 in ANSI colours), headings 2 0 1 0 (H1, H2) and 1 0 (H3 to H6), paragraphs, lists and
    tables 0 0 1 0."""
    if kind == "fence":
        return (0, 0) if ansi else (1, 1)
    if kind in ("h1", "h2"):
        return (2, 1)
    if kind in ("h3", "h4", "h5", "h6"):
        return (1, 1)
    return (0, 1)


class LiveTail(MarkdownBlock):
    COMPONENT_CLASSES = MarkdownBlock.COMPONENT_CLASSES | {
        "live-tail--bullet",
        "live-tail--fence",
        "live-tail--table",
        "live-tail--table-header",
        "live-tail--keyline",
        *(f"live-tail--h{level}" for level in range(1, 7)),
    }
    DEFAULT_CSS = """
    LiveTail {
        height: auto;
        margin: 0;
        & > .live-tail--bullet { color: $text-primary; }
        &:light > .live-tail--bullet { color: $text-secondary; }
        & > .live-tail--fence { color: rgb(210,210,210); background: black 10%; }
        &:light > .live-tail--fence { background: white 30%; }
        &:ansi > .live-tail--fence { background: transparent; }
        & > .live-tail--table-header { color: $primary; }
        & > .live-tail--keyline { color: $foreground 20%; }
        HEADINGS
        /* The reply has ended and its last block (not a code block) is drawn here: the margin
           below it, as Textual's CSS gives a paragraph, a list or a table. */
        &.-ended { margin-bottom: 1; }
    }
    """.replace("HEADINGS", _HEADINGS_CSS)

    def __init__(self, markdown: Markdown, token: Token, page: int) -> None:
        super().__init__(markdown, token)
        self.lines: list[Strip] = []
        self.open_at = 0  # where the open block's lines start
        self.page = page
        self._reserved = max(page - 1, 1) if page else 0
        self._width = -1
        self._trimmed = False
        # Called with the width when the lines must be drawn again from scratch (first layout,
        # a resize, a new theme); returns the new lines.
        self.redraw: Callable[[int], list[Strip]] | None = None

    @property
    def text_lines(self) -> int:
        return len(self.lines)

    def show(self, lines: list[Strip], first_changed: int, old_count: int) -> None:
        """New lines from `first_changed` on (the list may be the same object, changed in
        place); `old_count`: how many lines there were. Repaints only what changed."""
        self.lines = lines
        width = self.size.width
        if not self.is_mounted or width <= 0 or width != self._width:
            self._width = -1
            self.refresh(layout=True)
            return
        if len(lines) > self._reserved:
            self._grow(len(lines))
            self.refresh(layout=True)
            return
        end = max(old_count, len(lines))
        if end > first_changed:
            self.refresh(Region(0, first_changed, width, end - first_changed))

    def carry(self, lines: list[Strip], moved: int) -> None:
        """The block shown so far has ended and is drawn above by Textual (`moved` lines of it
        are gone from here); show the next block's `lines`. The reserved space shrinks by as
        much, so the reply keeps its height."""
        self._reserved = max(self._reserved - moved, len(lines), 1 if self.page else 0)
        self.lines = lines
        self._width = -1
        self.refresh(layout=True)

    def lay_out_blocks(
        self,
        blocks: list[OpenBlock],
        open_last: bool,
        text: str,
        width: int,
        redraw: bool,
        above: int | None,
    ) -> list[Strip]:
        """Lines for `blocks` (finished ones, then the open one if `open_last`), with the blank
        lines Textual puts between blocks (margins collapse); `above`: the bottom margin of the
        widget above the tail. `redraw`: lay every block out again (new width, new colours)."""
        lines: list[Strip] = []
        bottom = above
        ansi = self.app.native_ansi_color
        for index, block in enumerate(blocks):
            top, below = margins(block.kind, ansi)
            gap = (
                top if bottom is None else max(top - bottom, 0) if index == 0 else max(top, bottom)
            )
            if width > 0:
                lines += [_BLANK] * gap
            if open_last and index == len(blocks) - 1:
                self.open_at = len(lines)
            if redraw or block.width != width or not block.lines:
                lines += block.draw(text, width)
            else:
                lines += block.lines
            bottom = below
        if not open_last:
            self.open_at = len(lines)
        return lines

    def _grow(self, lines: int) -> None:
        self._reserved = lines + (0 if self._trimmed else self.page or SLACK_LINES)

    def close_below(self, last_kind: str) -> None:
        """Widgets follow the tail now: the margin Textual's CSS gives its last block below it
        (margins collapse, so the gap to the next widget is as between Textual's own)."""
        self.styles.margin = (0, 0, margins(last_kind, self.app.native_ansi_color)[1], 0)

    def trim(self) -> None:
        """No more reserved space: the text only (also when drawn again later)."""
        self._reserved = 0
        self.page = 0
        self._trimmed = True
        self.refresh(layout=True)

    def _redraw(self, width: int) -> None:
        if self.redraw is not None:
            self.lines = self.redraw(width)
        self._width = width
        if len(self.lines) > self._reserved:
            self._grow(len(self.lines))

    def notify_style_update(self) -> None:
        self._width = -1  # new colours: draw again
        super().notify_style_update()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width != self._width:
            self._redraw(width)
        return max(self._reserved, len(self.lines))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._width:
            self._redraw(width)
        if y < len(self.lines):
            return self.lines[y]
        return _BLANK  # padded by Textual as it pads the end of a line of text


class TailContext:
    """What the open blocks (`live_blocks.Context`) need to draw themselves in the tail: inline
    Markdown as Textual's paragraph makes it, strips as Textual renders them, the tail's
    styles, code highlighting as `MarkdownFence` does it. Public Textual API only."""

    def __init__(self, markdown: Markdown, parser: MarkdownIt, counters: Counters) -> None:
        self.markdown = markdown
        self.parser = parser
        self.counters = counters
        self.tail: LiveTail | None = None
        self._scratch: MarkdownBlock | None = None
        # Inline source -> Content: a table parses its header row again with each row, and the
        # row being written with each flush; their finished cells are made once. (Only sources
        # without `[`: a link may depend on a reference defined elsewhere in the reply.)
        self._contents: dict[str, Content] = {}

    @property
    def ansi(self) -> bool:
        return self.markdown.app.native_ansi_color

    def to_content(self, source: str) -> Content:
        # (Growing text, a paragraph's or an item's: a new source each time, none kept.)
        return self._build(self.parser.parseInline(source)[0])

    def content_of(self, inline: Token) -> Content:
        """The `Content` a Markdown block makes of an inline token (`build_from_token`)."""
        source = inline.content
        content = self._contents.get(source)
        if content is None:
            content = self._build(inline)
            if "[" not in source:
                if len(self._contents) >= CONTENTS_KEPT:
                    self._contents.clear()
                self._contents[source] = content
        return content

    def _build(self, inline: Token) -> Content:
        if self._scratch is None:
            self._scratch = MarkdownBlock(self.markdown, _Token("paragraph_open", "p", 1))
        self._scratch.build_from_token(inline)
        self.counters.built += 1
        content = self._scratch.content
        assert isinstance(content, Content)
        return content

    def to_strips(
        self, content: Content, width: int, style: VisualStyle | None = None, pad: bool = False
    ) -> list[Strip]:
        tail = self.tail
        assert tail is not None
        if style is None:
            style = tail.visual_style
        return Visual.to_strips(tail, content, width, None, style, pad=pad)

    def style(self, component: str) -> VisualStyle:
        tail = self.tail
        assert tail is not None
        return tail.get_visual_style(component) if component else tail.visual_style

    def padding(self, width: int) -> Strip:
        """Blank cells as Textual pads a line of the tail (its background only)."""
        tail = self.tail
        assert tail is not None
        return Strip.blank(width, RichStyle(bgcolor=tail.visual_style.rich_style.bgcolor))

    def highlight(self, code: str, language: str) -> Content:
        app = self.markdown.app
        return MarkdownFence.highlight(
            code, language, ansi=app.native_ansi_color, dark=app.current_theme.dark
        )

    def guess_language(self, code: str) -> str:
        from textual.highlight import guess_language

        return guess_language(code, None)
