"""The block of a streaming reply that is still being written, followed at a cost that does not
grow with it: a paragraph, a fenced code block, a list or a table (`live_table`).

Each kind looks only at what arrived since the last flush: the new lines (is the block still
going on? a new list item?) and the end of the text (laid out by `live_text` for prose,
highlighted a few lines at a time for code). When a line does not fit what the block expects,
it says so (`REPARSE`) and the reply parses the whole open block again, as Textual would.
A block that has ended is drawn by Textual's own widgets from then on.

Decisions about where a block ends are taken on complete lines only: the last line, still being
written, can change meaning (`- ` becomes `---`), so it is shown when it clearly continues the
block and held back otherwise."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.content import Content
from textual.strip import Strip

from pislm_tui.widgets.live_text import Counters, GrowingParagraph

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from textual.visual import VisualStyle


@dataclass
class Grow:
    """The block goes on; its lines changed from `first_changed` on."""

    first_changed: int
    old_count: int


@dataclass
class End:
    """The block ended just before `offset` (the start of the line that ended it)."""

    offset: int


REPARSE = "reparse"  # the new text does not fit what the block expected: parse it again
Verdict = Grow | End | str


class Context(Protocol):
    """What a block needs from the reply it is part of."""

    parser: MarkdownIt
    counters: Counters

    def to_content(self, source: str) -> Content: ...
    def content_of(self, inline: Token) -> Content: ...
    def to_strips(
        self, content: Content, width: int, style: VisualStyle | None = None, pad: bool = False
    ) -> list[Strip]: ...
    def style(self, component: str) -> VisualStyle: ...
    def padding(self, width: int) -> Strip: ...
    def highlight(self, code: str, language: str) -> Content: ...
    def guess_language(self, code: str) -> str: ...
    @property
    def ansi(self) -> bool: ...


def top_blocks(tokens: list[Token]) -> list[tuple[int, int]]:
    """(first, end) token indices of each top-level block."""
    blocks = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.nesting == 1:
            end = index + 1
            while not (tokens[end].level == token.level and tokens[end].nesting == -1):
                end += 1
            blocks.append((index, end + 1))
            index = end + 1
        else:
            blocks.append((index, index + 1))
            index += 1
    return blocks


# The first character of a line that can only continue a paragraph (a letter, most punctuation):
# anything else (`-`, `#`, `>`, `|`, a digit, a backtick, `<`, ...) may start another block and
# is checked by parsing the line after the one before it.
_PLAIN_START = re.compile(r"[^\W\d_]|[\"'(),.;!?/$%&@{}\[\]^]", re.UNICODE)
_ORDERED_START = re.compile(r"\d{1,9}[.)]")


def plain_start(line: str) -> bool:
    """A line that cannot start a block inside a paragraph (and cannot end one)."""
    stripped = line.lstrip(" ")
    if not stripped:
        return False
    if len(line) - len(stripped) >= 4:
        return True  # indented: a paragraph's continuation, never a block of its own
    first = stripped[0]
    if first.isdigit():
        return _ORDERED_START.match(stripped) is None
    return _PLAIN_START.match(first) is not None


def background(style: VisualStyle) -> RichStyle:
    """Blank cells in this style, as Textual pads lines (the background colour only)."""
    return RichStyle(bgcolor=style.rich_style.bgcolor)


def blank_strip(width: int, style: VisualStyle) -> Strip:
    return Strip.blank(width, background(style))


def fit(strip: Strip, width: int, style: VisualStyle) -> Strip:
    """Exactly `width` cells: cropped, or padded with the background of `style`."""
    return strip.crop(0, width).extend_cell_length(width, background(style))


class ParagraphBlock:
    """A paragraph: its lines are accepted one by one; the text is laid out by
    `GrowingParagraph`."""

    kind = "paragraph"

    def __init__(self, context: Context, start: int) -> None:
        self.context = context
        self.start = start
        self.lines_end = start  # just after the last complete line taken in
        self.prev: tuple[int, int] | None = None  # that line (start, end without "\n")
        self.shown_end = start
        self.width = 0
        self.layout: GrowingParagraph | None = None

    def feed(self, text: str) -> Verdict:
        while (newline := text.find("\n", self.lines_end)) >= 0:
            verdict = self._judge(text, self.lines_end, newline, complete=True)
            if verdict == "blank":
                return End(self.lines_end)
            if verdict == "interrupt":
                return End(self.lines_end)
            if verdict != "continue":
                return REPARSE
            self.prev = (self.lines_end, newline)
            self.lines_end = newline + 1
        end = self.lines_end - 1 if self.lines_end > self.start else self.start
        if self.lines_end < len(text):
            verdict = self._judge(text, self.lines_end, len(text), complete=False)
            if verdict == "continue":
                end = len(text)
        end = max(end, self.start)
        if end < self.shown_end and self.layout is not None:
            # The line being written was shown and now reads as the start of another block:
            # lay the paragraph out again without it.
            old = len(self.layout.lines)
            self.shown_end = end
            self.draw(text, self.width)
            return Grow(0, old)
        self.shown_end = end
        return self._lay_out(text)

    def _judge(self, text: str, start: int, end: int, complete: bool) -> str:
        line = text[start:end]
        if self.prev is None and start == self.start:
            return "continue"  # the first line: the reply's parse said it starts a paragraph
        if not line.strip():
            return "blank" if complete else "hold"
        if plain_start(line):
            return "continue"
        assert self.prev is not None
        window = text[self.prev[0] : self.prev[1]] + "\n" + line + ("\n" if complete else "")
        tokens = self.context.parser.parse(window)
        self.context.counters.reparsed += len(window)
        blocks = top_blocks(tokens)
        first = tokens[blocks[0][0]] if blocks else None
        if first is None or first.type != "paragraph_open" or first.map is None:
            return "reparse" if complete else "hold"
        if len(blocks) == 1 and first.map[1] >= 2:
            return "continue"
        if first.map[1] == 1 and len(blocks) > 1:
            second = tokens[blocks[1][0]]
            if second.map is not None and second.map[0] == 1:
                return "interrupt" if complete else "hold"
        return "reparse" if complete else "hold"

    def _lay_out(self, text: str) -> Verdict:
        layout = self.layout
        if layout is None:
            return Grow(0, 0)
        old = len(layout.lines)
        first = layout.update(text, self.start, self.shown_end)
        return Grow(first, old)

    def close(self, text: str) -> None:
        """The paragraph has ended (its lines are all taken in)."""
        self.shown_end = max(self.start, self.lines_end - 1)
        if self.layout is not None:
            self.layout.update(text, self.start, self.shown_end)

    def draw(self, text: str, width: int) -> list[Strip]:
        context = self.context
        self.width = width
        self.layout = GrowingParagraph(
            context.parser,
            context.to_content,
            lambda content, w: context.to_strips(content, w),
            width,
            context.counters,
        )
        self.layout.update(text, self.start, self.shown_end)
        return self.layout.lines

    @property
    def lines(self) -> list[Strip]:
        return self.layout.lines if self.layout is not None else []


_FENCE_OPEN = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")
_FENCE_MAYBE_CLOSE = re.compile(r" {0,3}(`+|~+)[ \t]*")
# Lines highlighted again before the new ones, so the lexer knows where it is (a string or a
# comment that opened further up is coloured right once the block has ended).
HIGHLIGHT_CONTEXT = 4


class FenceBlock:
    """A fenced code block: code lines are added as they come, highlighted a few at a time."""

    kind = "fence"

    def __init__(self, context: Context, start: int) -> None:
        self.context = context
        self.start = start
        self.opened = False  # the opening line is complete
        self.marker = ""
        self.indent = 0
        self.language = ""
        self.lines_end = start
        self.code: list[str] = []  # complete lines, indentation removed
        self.partial = ""  # the line being written, shown unless it may close the block
        self.width = 0
        self.lines: list[Strip] = []
        self._final = 0  # code lines whose strips never change
        self.closed = False

    def feed(self, text: str) -> Verdict:
        while (newline := text.find("\n", self.lines_end)) >= 0:
            line = text[self.lines_end : newline]
            if not self.opened:
                match = _FENCE_OPEN.fullmatch(line)
                if match is None or (match[2][0] == "`" and "`" in match[3]):
                    return REPARSE
                self.indent, self.marker = len(match[1]), match[2]
                self.language = match[3].strip()
                self.opened = True
            elif self._closes(line):
                return End(newline + 1)
            else:
                self.code.append(self._dedent(line))
            self.lines_end = newline + 1
        partial = text[self.lines_end :] if self.opened else ""
        if partial and _FENCE_MAYBE_CLOSE.fullmatch(partial):
            partial = ""  # perhaps the closing fence: not shown as code
        self.partial = self._dedent(partial)
        if not self.width:
            return Grow(0, 0)
        old = len(self.lines)
        first = self._update()
        return Grow(first, old)

    def _closes(self, line: str) -> bool:
        match = _FENCE_MAYBE_CLOSE.fullmatch(line)
        return (
            match is not None
            and match[1][0] == self.marker[0]
            and len(match[1]) >= len(self.marker)
        )

    def _dedent(self, line: str) -> str:
        removed = 0
        while removed < self.indent and line[removed : removed + 1] == " ":
            removed += 1
        return line[removed:]

    def _source_lines(self) -> list[str]:
        return [*self.code, self.partial] if self.partial else list(self.code)

    def _update(self, everything: bool = False) -> int:
        """Highlight the lines that are not final (with some lines before them for context, or
        all of them) and rebuild their strips. Returns the first line of `lines` that changed."""
        source = self._source_lines()
        first = 0 if everything else min(self._final, len(source))
        begin = 0 if everything else max(0, first - HIGHLIGHT_CONTEXT)
        changed = self._code_lines(source, begin, first)
        style = self.context.style("live-tail--fence")
        if not self.lines:
            self.lines = [blank_strip(self.width, style)]
        old = self.lines[1 + first : -1] if len(self.lines) > 1 else []
        first_changed = first
        for a, b in zip(old, changed, strict=False):
            if a != b:
                break
            first_changed += 1
        # Padding above and below the code, as Textual draws a code block.
        self.lines[1 + first :] = [*changed, blank_strip(self.width, style)]
        self._final = len(self.code)
        return 1 + first_changed

    def _code_lines(self, source: list[str], begin: int, first: int) -> list[Strip]:
        """Strips for source[first:], highlighted from source[begin:]."""
        if first >= len(source):
            return []
        context = self.context
        if not self.language and self.code:
            self.language = context.guess_language("\n".join(self.code[:40]))
        window = "\n".join(source[begin:])
        context.counters.highlighted += len(source) - begin
        highlighted = context.highlight(window, self.language)
        lines = highlighted.split("\n", allow_blank=True)[first - begin :]
        lines = lines[: len(source) - first]
        width = self.width
        pad = 0 if context.ansi else 2
        style = context.style("live-tail--fence")
        strips = []
        for line in lines:
            # As wide as the line: never wrapped (Textual crops code, it does not wrap it).
            rendered = context.to_strips(line, max(line.cell_length, 1), style)
            strip = rendered[0] if rendered else Strip([])
            if pad:
                strip = Strip.join([Strip([Segment(" " * pad, background(style))]), strip])
            strips.append(fit(strip, width, style))
        context.counters.rendered += len(strips)
        return strips

    def close(self, text: str) -> None:
        """The block has ended: highlight it as a whole, as Textual does."""
        self.closed = True
        self.partial = ""
        if self.width:
            self._update(everything=True)

    def draw(self, text: str, width: int) -> list[Strip]:
        self.width = width
        self.lines = []
        self._final = 0
        self._update(everything=self.closed)
        return self.lines


class OpenBlock(Protocol):
    kind: str
    start: int
    width: int  # the width its lines were drawn at (0: not drawn yet)
    lines: list[Strip]

    def feed(self, text: str) -> Verdict: ...
    def draw(self, text: str, width: int) -> list[Strip]: ...
    def close(self, text: str) -> None: ...


BlockFactory = Callable[[Context, int], OpenBlock]
