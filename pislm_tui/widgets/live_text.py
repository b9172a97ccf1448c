"""A paragraph that grows at its end, laid out at a cost that does not grow with it.

Two things make a paragraph expensive to redraw as it grows: its inline Markdown (emphasis,
code spans, links) is parsed again, and its lines are wrapped again. Neither needs to be:

- **Inline.** The paragraph is cut at a space after which nothing can change what came before:
  every emphasis, code span and link before the cut is closed. The part before the cut is parsed
  once; only the part after it (a few dozen characters) is parsed on each update.
- **Wrapping.** Lines are wrapped greedily, so a line is final as soon as the line after it has
  started inside the finished part of the text. Only the last line and what follows are wrapped
  again.

The lines are exactly those of Textual's paragraph for the whole text (same parser, same
`Content`, same wrapping); `tests/test_streaming_shapes.py` checks it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.content import Content
from textual.strip import Strip

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# A cut: one space or newline between two characters that are not spaces (a hard break, two
# spaces or a backslash before the newline, is not a cut).
_CUT = re.compile(r"(?<=[^\s\\])[ \n](?=\S)")
# Parse the unfinished part again only when it is this long: cutting costs a parse.
CUT_EVERY = 48
# Inline HTML that may still be open (`<span class="a b">`): its `<` stays literal until closed.
_OPEN_TAG = re.compile(r"<[A-Za-z/!?]")

_SPACE = Content(" ")


def closed_inline(parser: MarkdownIt, source: str) -> bool:
    """True when nothing in `source` can be changed by text written after it: no emphasis or
    strikethrough opener without its closer, no `[` of a link not yet closed, no code span or
    HTML tag not yet closed."""
    from markdown_it.rules_inline import StateInline

    tokens: list = []
    state = StateInline(source, parser, {}, tokens)
    parser.inline.tokenize(state)
    for rule in parser.inline.ruler2.getRules(""):
        rule(state)
    if any(d.open and d.end < 0 for d in state.delimiters):
        return False
    for token in tokens:
        if token.type == "text" and (
            "[" in token.content or "`" in token.content or _OPEN_TAG.search(token.content)
        ):
            return False
    return True


@dataclass
class Counters:
    """Work done, for tests that check it does not grow with the text (characters, not time)."""

    parsed: int = 0  # characters of inline Markdown parsed
    wrapped: int = 0  # characters wrapped into lines
    highlighted: int = 0  # lines of code highlighted
    rendered: int = 0  # lines turned into strips
    reparsed: int = 0  # characters of the open block parsed again from its start
    built: int = 0  # inline contents made (build_from_token)
    history: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)

    def snapshot(self) -> None:
        self.history.append(
            (self.parsed, self.wrapped, self.highlighted, self.rendered, self.reparsed, self.built)
        )


# (inline source) -> Content, and (Content, width) -> strips
ToContent = Callable[[str], Content]
ToStrips = Callable[[Content, int], list[Strip]]


class GrowingParagraph:
    """The lines of one paragraph at one width, for a source that only grows at its end.

    `update(text, start, end)` takes the paragraph's inline source as `text[start:end]` (the whole
    reply and offsets, so nothing is copied) and returns the index of the first line that
    changed. `lines` are the strips, final lines first."""

    def __init__(
        self,
        parser: MarkdownIt,
        to_content: ToContent,
        to_strips: ToStrips,
        width: int,
        counters: Counters,
    ) -> None:
        self.parser = parser
        self.to_content = to_content
        self.to_strips = to_strips
        self.width = max(1, width)
        self.counters = counters
        self.lines: list[Strip] = []
        self._final = 0  # lines[:_final] never change
        self._cut: int | None = None  # text[start:_cut] is parsed and closed
        self._open = Content("")  # closed content not yet in a final line
        self._tried = 0  # end offset when a cut was last tried

    def update(self, text: str, start: int, end: int) -> int:
        if self._cut is None:
            self._cut = start
            while self._cut < end and text[self._cut].isspace():
                self._cut += 1
        self._try_cut(text, end)
        tail_source = text[self._cut : end].rstrip()
        tail = self._content(tail_source) if tail_source else Content("")
        whole = self._open + _SPACE + tail if self._open and tail else self._open or tail
        return self._lay_out(whole)

    def _content(self, source: str) -> Content:
        self.counters.parsed += len(source)
        return self.to_content(source)

    def _try_cut(self, text: str, end: int) -> None:
        """Move the cut forward to the last space before `end` if all before it is closed."""
        assert self._cut is not None
        if end - self._cut < 2 * CUT_EVERY or end - self._tried < CUT_EVERY:
            return
        self._tried = end
        last = None
        for last in _CUT.finditer(text, self._cut, end):  # noqa: B007 (the last one is wanted)
            pass
        if last is None or last.start() - self._cut < CUT_EVERY:
            return
        source = text[self._cut : last.start()]
        self.counters.parsed += len(source)
        if not closed_inline(self.parser, source):
            return
        closed = self._content(source)
        self._open = self._open + _SPACE + closed if self._open else closed
        self._cut = last.end()

    def _lay_out(self, whole: Content) -> int:
        """Wrap `whole` (the text from the first line that is not final) and keep as final the
        lines that lie inside the closed part."""
        width = self.width
        self.counters.wrapped += len(whole.plain)
        strips = self.to_strips(whole, width) if whole else []
        self.counters.rendered += len(strips)
        first_changed = self._final
        old = self.lines[self._final :]
        for y, (a, b) in enumerate(zip(old, strips, strict=False)):
            if a != b:
                first_changed = self._final + y
                break
        else:
            first_changed = self._final + min(len(old), len(strips))
        self.lines[self._final :] = strips
        # Lines that end inside the closed part are final: find where each line starts.
        closed = len(self._open.plain)
        if closed and len(strips) > 1:
            starts = line_starts(whole, width)
            keep = 0
            for index in range(1, len(starts)):
                # The word that starts the line must lie in the closed part, whole: one that
                # starts after it may still change (and fit on the line above).
                if starts[index] < closed:
                    keep = index
            if keep:
                self._final += keep
                self._open = self._open[starts[keep] :]
        return first_changed


def line_starts(content: Content, width: int) -> list[int]:
    """Offsets in `content.plain` where each wrapped line starts (Textual's wrapping)."""
    plain = content.plain
    starts = []
    position = 0
    lines = content.wrap(width)
    for index, line in enumerate(lines):
        text = line.plain
        if not plain.startswith(text, position):
            # Not the expected layout (should not happen): no line is final.
            return [0]
        starts.append(position)
        position += len(text)
        if index < len(lines) - 1:
            while position < len(plain) and plain[position] == " ":
                position += 1
    return starts
