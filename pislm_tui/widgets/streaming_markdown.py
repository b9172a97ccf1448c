"""Markdown that arrives a few words at a time, at a cost that does not grow with the reply.

Textual's `Markdown.append` re-parses and re-lays-out the last block on every call; each layout
walks the whole screen. Here finished blocks (a paragraph, a list, a closed code fence) go to a
`Markdown` widget once, and the block still being written is plain wrapped text in a small
line-based widget that repaints only the lines that changed and asks for a layout only when it
gains or loses a line. When the reply ends, the rest goes to the Markdown and the live part goes
away, so the final frame is ordinary Markdown."""

from __future__ import annotations

import re

from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Markdown

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def split_finished_blocks(text: str, in_fence: bool) -> tuple[str, str, bool]:
    """Split `text` (which continues a document whose fence state is `in_fence`) into the part
    made of finished blocks — up to the last blank line outside a code fence — and the rest.
    Returns (finished, rest, fence state at the end of `finished`)."""
    cut = 0
    fence = in_fence
    fence_at_cut = in_fence
    position = 0
    lines = text.split("\n")
    # The last element has no newline after it yet: it can't end a block.
    for line in lines[:-1]:
        position += len(line) + 1
        if _FENCE.match(line):
            fence = not fence
        elif not fence and not line.strip():
            cut = position
            fence_at_cut = fence
    return text[:cut], text[cut:], fence_at_cut


_BLOCK_START = re.compile(r"^ {0,3}([-*+] |\d{1,9}[.)] |#{1,6}( |$)|>|\||`{3,}|~{3,})")


def display_lines(text: str) -> list[str]:
    """The lines Markdown will show for `text`, before wrapping: inside a paragraph a single
    newline is a soft break (a space), so the live text wraps the way the finished Markdown will
    and the switch from one to the other changes (almost) nothing on screen."""
    lines: list[str] = []
    fence = False
    joinable = False  # may the next line continue the previous one?
    for line in text.split("\n"):
        if _FENCE.match(line):
            fence = not fence
            lines.append(line)
            joinable = False
        elif fence or not line.strip() or _BLOCK_START.match(line):
            lines.append(line)
            joinable = not fence and bool(line.strip()) and not line.lstrip().startswith(("#", "|"))
        elif joinable and lines:
            previous = lines[-1]
            hard_break = previous.endswith(("  ", "\\"))
            if hard_break:
                lines.append(line.lstrip())
            else:
                lines[-1] = f"{previous.rstrip()} {line.lstrip()}"
        else:
            lines.append(line)
            joinable = True
    return lines


class LiveBlock(Widget):
    """The block being written, as wrapped plain text, drawn line by line."""

    DEFAULT_CSS = """
    LiveBlock {
        height: auto;
        padding: 0 2;
    }
    """

    # Height grows in steps of this many lines: each change of height costs a layout of the
    # whole screen, while a new line of text costs only a repaint of that line.
    HEIGHT_STEP = 4

    def __init__(self) -> None:
        super().__init__()
        self._text = ""
        self._height = 0
        self._lines: list[Strip] = []
        self._wrapped: dict[str, list[Strip]] = {}  # logical line -> its wrapped strips
        self._wrap_width = 0

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        old = self._lines
        self._text = text
        new = self._wrap(self.content_size.width)
        self._lines = new
        if self._reserved(len(new)) != self._height:
            self.refresh(layout=True)
            return
        top = self.styles.padding.top
        width = self.size.width
        for y in range(max(len(old), len(new))):
            a = old[y].text if y < len(old) else None
            b = new[y].text if y < len(new) else None
            if a != b:
                self.refresh(Region(0, top + y, width, 1))

    def _wrap(self, width: int) -> list[Strip]:
        if width <= 0:
            return []
        if width != self._wrap_width:
            self._wrap_width = width
            self._wrapped = {}
        console = self.app.console
        style = self.rich_style
        cache, self._wrapped = self._wrapped, {}
        strips: list[Strip] = []
        for line in display_lines(self._text) if self._text else ():
            wrapped = cache.get(line)
            if wrapped is None:
                if line:
                    parts = Text(line, end="").wrap(console, width)
                    wrapped = [Strip([Segment(part.plain, style)]) for part in parts]
                else:
                    wrapped = [Strip.blank(0)]
            self._wrapped[line] = wrapped
            strips.extend(wrapped)
        return strips

    def _reserved(self, lines: int) -> int:
        if self._height - self.HEIGHT_STEP < lines <= self._height:
            return self._height
        return -(-lines // self.HEIGHT_STEP) * self.HEIGHT_STEP

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._lines = self._wrap(width)
        self._height = self._reserved(len(self._lines))
        return self._height

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        style = self.rich_style
        if y < len(self._lines):
            return self._lines[y].extend_cell_length(width, style).crop(0, width)
        return Strip.blank(width, style)


class StreamingMarkdown(Vertical):
    """`append()` text as it arrives (a few times a second), `finish()` at the end."""

    DEFAULT_CSS = """
    StreamingMarkdown {
        height: auto;
        & > Markdown { margin: 0; }
    }
    """

    def __init__(
        self, markdown: str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._initial = markdown
        self._in_fence = False
        self._finished = False

    def compose(self) -> ComposeResult:
        yield Markdown(self._initial)
        yield LiveBlock()

    @property
    def markdown(self) -> Markdown:
        return self.query_one(Markdown)

    @property
    def source(self) -> str:
        """Everything appended so far."""
        live = "" if self._finished else self.query_one(LiveBlock).text
        return self.markdown.source + live

    async def append(self, fragment: str) -> None:
        if not fragment:
            return
        live = self.query_one(LiveBlock)
        finished, rest, self._in_fence = split_finished_blocks(live.text + fragment, self._in_fence)
        if finished:
            await self.markdown.append(finished)
        live.set_text(rest)

    async def finish(self) -> None:
        """The reply is complete: render what is left as Markdown and drop the live block."""
        if self._finished:
            return
        self._finished = True
        live = self.query_one(LiveBlock)
        rest = live.text
        if rest:
            await self.markdown.append(rest)
        await live.remove()
