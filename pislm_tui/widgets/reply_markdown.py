"""`ReplyMarkdown`: Textual's `Markdown`, made cheap to stream into.

With `Markdown.append` every flush re-lays out the screen and repaints the whole paragraph
being written; every new line resizes every container above it and every new paragraph renumbers
its siblings, and either way the whole visible reply is sent to the terminal again. Over SSH
to a Pi that is most of the bytes and CPU of a streaming reply. So, while a reply streams:

- consecutive paragraphs are drawn by one widget (`ParagraphRun`), line by line from a cache:
  a flush renders only the paragraph being written and repaints only the cells that changed,
  and a new paragraph is just more lines, not a new widget;
- the run keeps blank lines below its text (`page_lines` of them, a page of the view), so a
  new line does not change its size, nor the size of anything around it; when the text
  reaches the end of that space the run grows by another page at once, and the chat view,
  anchored to its end, moves on by that page in the same frame.

Other blocks (lists, code, headings, tables) go through Textual's own block widgets. `finish()`
turns the runs back into ordinary paragraphs and drops the reservations (one final layout)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownBlock, MarkdownParagraph

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Blank lines a streaming run keeps below its text when no page size is known.
SLACK_LINES = 4

_parser: MarkdownIt | None = None
_BLANK = Content("")


def _shared_parser() -> MarkdownIt:
    """One parser for every reply: building a MarkdownIt compiles its rules (~2 ms)."""
    global _parser
    if _parser is None:
        from markdown_it import MarkdownIt

        _parser = MarkdownIt("gfm-like")
    return _parser


def first_difference(old: Strip, new: Strip) -> int:
    """The first cell where two rendered lines differ (style or text)."""
    x = 0
    for a, b in zip(old, new, strict=False):
        if a == b:
            x += cell_len(a.text)
            continue
        if a.style == b.style:
            same = 0
            for char_a, char_b in zip(a.text, b.text, strict=False):
                if char_a != char_b:
                    break
                same += 1
            x += cell_len(a.text[:same])
        return x
    return x


def changed_regions(old: list[Strip], new: list[Strip], width: int) -> list[Region]:
    """Regions (at most one per line) covering what differs between two renders. A region ends
    where the longer text ends, so trailing padding is not sent again; lines past the end of a
    render are blank."""
    regions = []
    for y in range(max(len(old), len(new))):
        a = old[y] if y < len(old) else None
        b = new[y] if y < len(new) else None
        if a is not None and b is not None and a == b:
            continue
        if a is None or b is None:
            end = cell_len(b.text.rstrip()) if b is not None else width
            if end:
                regions.append(Region(0, y, end, 1))
            continue
        x = first_difference(a, b)
        end = max(cell_len(a.text.rstrip()), cell_len(b.text.rstrip()))
        if end > x:
            regions.append(Region(x, y, end - x, 1))
        else:  # only styles or padding changed
            regions.append(Region(0, y, max(a.cell_length, b.cell_length, 1), 1))
    return regions


class ParagraphRun(MarkdownParagraph):
    """Consecutive paragraphs of a streaming reply in one widget: finished ones (`frozen`,
    rendered once) and the one being written (`live`). Looks exactly like the paragraphs it
    stands for (same CSS, same inline styles); becomes an ordinary paragraph when the stream
    ends."""

    def __init__(self, markdown: Markdown, token: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(markdown, token, *args, **kwargs)
        self.streaming = False
        self._frozen: list[Content] = []
        self._live: Content = _BLANK
        self._frozen_lines: list[Strip] = []
        self._live_lines: list[Strip] = []
        self._width = -1
        self._reserved = 0  # height including the blank space below the text
        self._page = 0

    # -- content -----------------------------------------------------------------------------------

    @property
    def joined(self) -> Content:
        return Content("\n\n").join([*self._frozen, self._live])

    @property
    def text_lines(self) -> int:
        return len(self._frozen_lines) + len(self._live_lines)

    def set_content(self, content: Content) -> None:
        """From the block machinery (parsing, `_update_from_block`)."""
        if self.streaming:
            self.extend(content, [])
        else:
            self._live = content
            super().set_content(content)

    def merge(self, content: Content) -> None:
        """Before mounting: take the next paragraph in (the current one is finished)."""
        self._frozen.append(self._live)
        self._live = content
        super().set_content(self.joined)

    def start_stream(self, page_lines: int) -> None:
        self.streaming = True
        self._width = -1
        self._page = page_lines
        self._reserved = max(page_lines - 1, 1)  # with its bottom margin: one page

    def _grow(self, lines: int) -> None:
        self._reserved = lines + (self._page or SLACK_LINES)

    def extend(self, live: Content, frozen: list[Content]) -> None:
        """`frozen`: paragraphs finished since the last call (the previous live one first);
        `live`: the paragraph being written. Repaints only what changed."""
        self._frozen.extend(frozen)
        self._live = live
        self._content = self.joined
        width = self.size.width
        if not self.streaming or not self.is_mounted or width <= 0 or width != self._width:
            self._width = -1
            self.refresh(layout=True)
            return
        old = self._frozen_lines + self._live_lines
        for paragraph in frozen:
            self._frozen_lines += self._lines_of(paragraph, width, gap=bool(self._frozen_lines))
        self._live_lines = self._lines_of(live, width, gap=bool(self._frozen))
        new = self._frozen_lines + self._live_lines
        if len(new) > self._reserved:
            self._grow(len(new))
            self.refresh(layout=True)
            return
        self.refresh(*changed_regions(old, new, width))

    def _lines_of(self, content: Content, width: int, gap: bool) -> list[Strip]:
        lines = Visual.to_strips(self, content, width, None, self.visual_style)
        return [Strip.blank(0), *lines] if gap else lines

    def _render_all(self, width: int) -> None:
        self._frozen_lines = []
        for paragraph in self._frozen:
            self._frozen_lines += self._lines_of(paragraph, width, gap=bool(self._frozen_lines))
        self._live_lines = self._lines_of(self._live, width, gap=bool(self._frozen))
        self._width = width
        if self.text_lines > self._reserved:
            self._grow(self.text_lines)

    # -- drawing (line by line from the cache while streaming) ---------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self.streaming:
            return super().get_content_height(container, viewport, width)
        if width != self._width:
            self._render_all(width)
        return self._reserved

    def render_line(self, y: int) -> Strip:
        if not self.streaming:
            return super().render_line(y)
        width = self.size.width
        if width != self._width:
            self._render_all(width)
        lines = self._frozen_lines
        if y < len(lines):
            return lines[y]
        y -= len(lines)
        if y < len(self._live_lines):
            return self._live_lines[y]
        return Strip.blank(width, self.visual_style.rich_style)

    def end_stream(self) -> None:
        """Back to an ordinary paragraph (all its text as one `Content`)."""
        if self.streaming:
            self.streaming = False
            self._reserved = 0
            super().set_content(self.joined)

    def trim(self) -> None:
        """No longer the last block: drop the blank space below the text."""
        if self.streaming and self._reserved > self.text_lines:
            self._reserved = self.text_lines
            self._page = 0
            self.refresh(layout=True)


class ReplyMarkdown(Markdown):
    """Markdown for model replies. Never opens links by itself (the text is not ours)."""

    BLOCKS = {**Markdown.BLOCKS, "paragraph_open": ParagraphRun}

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
        self._scratch: MarkdownBlock | None = None
        if streaming and page_lines:
            # Room for the first page of the reply before any of it has arrived.
            self.styles.min_height = page_lines

    async def append_text(self, text: str) -> None:
        """Append streamed text (see the module docstring)."""
        if not self.streaming:
            await self.append(text)
            return
        async with self.lock:
            self._markdown = self.source + text
            tail = "".join(self._markdown.splitlines(keepends=True)[self._last_parsed_line :])
            tokens = _shared_parser().parse(tail)
            start_line = self._last_parsed_line
            for token in reversed(tokens):
                if token.map is not None and token.level == 0:
                    self._last_parsed_line += token.map[0]
                    break
            paragraphs = self._paragraphs_only(tokens)
            last = self.children[-1] if self.children else None
            if paragraphs and isinstance(last, ParagraphRun) and last.streaming:
                # The common case (prose): no block widgets are built, the run takes the text.
                last.extend(paragraphs[-1], paragraphs[:-1])
                return
            new_blocks = list(self._parse_markdown(tokens))
            for block in new_blocks:
                start, end = block.source_range
                block.source_range = (start + start_line, end + start_line)
            await self._apply(new_blocks)

    def _paragraphs_only(self, tokens: list[Any]) -> list[Content] | None:
        """The inline content of each paragraph when the tokens are top-level paragraphs and
        nothing else; None otherwise."""
        if not tokens or len(tokens) % 3:
            return None
        contents = []
        for opening, inline, closing in zip(tokens[::3], tokens[1::3], tokens[2::3], strict=True):
            if (opening.type, inline.type, closing.type) != (
                "paragraph_open",
                "inline",
                "paragraph_close",
            ):
                return None
            contents.append(MarkdownBlock._token_to_content(self._converter(opening), inline))
        return contents

    def _converter(self, token: Any) -> MarkdownBlock:
        """A block that is never mounted, only used to turn inline tokens into `Content`."""
        if self._scratch is None:
            self._scratch = MarkdownParagraph(self, token)
        return self._scratch

    async def _apply(self, new_blocks: list[MarkdownBlock]) -> None:
        existing = [child for child in self.children if isinstance(child, MarkdownBlock)]
        last = existing[-1] if existing else None
        run = last if isinstance(last, ParagraphRun) and last.streaming else None
        frozen: list[Content] = []
        live: Content | None = None
        mount: list[MarkdownBlock] = []
        if new_blocks and last is not None:
            first = new_blocks.pop(0)
            if run is not None and isinstance(first, MarkdownParagraph):
                live = first._content
            elif run is not None and run._frozen:
                # The paragraph being written turned into something else (a heading
                # underlined with ---, a table): the finished paragraphs stay in the run.
                live = run._frozen.pop()
                run._width = -1  # its lines are drawn again from what is left
                mount.append(first)
            else:
                run = None
                await last._update_from_block(first)
        for block in new_blocks:
            if (
                not mount
                and run is not None
                and live is not None
                and isinstance(block, MarkdownParagraph)
            ):
                frozen.append(live)
                live = block._content
            elif (
                mount
                and isinstance(mount[-1], ParagraphRun)
                and isinstance(block, MarkdownParagraph)
            ):
                mount[-1].merge(block._content)
            else:
                mount.append(block)
        with self.app.batch_update():
            if run is not None and live is not None:
                run.extend(live, frozen)
            if mount:
                if run is not None:
                    run.trim()
                for block in self.query_children(ParagraphRun):
                    block.trim()
                await self.mount_all(mount)
                tail = mount[-1]
                if isinstance(tail, ParagraphRun):
                    tail.start_stream(self.page_lines)

    def reserve_more(self) -> None:
        """The last block is not a run (a list, some code) and has reached the end of the
        reserved space: reserve another page."""
        if self.streaming and self.page_lines:
            self.styles.min_height = self.outer_size.height + self.page_lines

    def text_bottom(self) -> int:
        """Screen row just below the text (reservations not counted)."""
        if not self.children:
            return self.content_region.y
        last = self.children[-1]
        if isinstance(last, ParagraphRun) and last.streaming:
            return last.content_region.y + last.text_lines
        return last.region.bottom

    def finish(self) -> None:
        """The reply has ended: ordinary paragraphs, no reservations (one final layout)."""
        self.streaming = False
        for block in self.query_children(ParagraphRun):
            block.end_stream()
        self.styles.min_height = None
