"""Textual's Markdown block widgets built from tokens already parsed (`widgets/reply_markdown.py`).

A streaming reply parses only the blocks that have ended, then needs the widgets Textual's
`Markdown` would make of them. Textual builds those in `Markdown._parse_markdown(tokens)`, a
private method (Textual 8.2: `textual/widgets/_markdown.py`); the public `Markdown.update` and
`Markdown.append` parse the text themselves (the whole text, or again the last block on every
call: the cost that grows with the block being written).

Guarded by the row "markdown.blocks" (guard.REACHES). Where the guard says no, `usable()` is
False and replies stream through Textual's own `Markdown.append` (the same final frame)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pislm_tui.textual_compat.guard import usable as _usable

if TYPE_CHECKING:
    from markdown_it.token import Token
    from textual.widgets import Markdown
    from textual.widgets.markdown import MarkdownBlock

KEY = "markdown.blocks"


def usable() -> bool:
    """Whether `blocks_of` may be used on this Textual."""
    return _usable(KEY)


def blocks_of(markdown: Markdown, tokens: list[Token]) -> Iterable[MarkdownBlock]:
    """The block widgets `markdown` makes of `tokens` (source ranges relative to their text).
    Only when `usable()`."""
    return markdown._parse_markdown(tokens)
