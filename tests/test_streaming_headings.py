"""Headings stream in the live tail (live_heading.py): every frame while they are written is what
Textual's Markdown draws for the text so far, cell for cell, in the stock theme and in one that
gives each heading level its own background (H1 centred, H3 as wide as its text); and no heading
mounts a widget while the reply streams (each mount was a layout of the screen)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.theme import Theme

from pislm_tui.widgets.reply_markdown import FAST_STREAMING, ReplyMarkdown
from tests.fake_ollama import tokenize
from tests.test_streaming_shapes import cells, settle, text_of, trimmed

HEADINGS = """# A first-level title long enough to wrap at this width, centred

Some **bold** text under it.

## Second level with `code` in it
### Third *level* heading, long enough to wrap at sixty columns wide
#### Fourth
Text right after a heading.
##### Fifth
###### Sixth

#hashtag is a paragraph, not a heading

- a list item

## After a list
- an item
## Right after an item

## Closed heading ##
Last line.
"""

# Every level on a background of its own: where a heading's line ends, and how wide an H3 is,
# show in the cells.
BANDED = Theme(
    name="banded",
    primary="#0178D4",
    dark=True,
    variables={
        **{f"markdown-h{level}-background": f"#{level}0{level}030" for level in range(1, 7)},
        "markdown-h3-text-style": "bold underline",
    },
)


class Alone(App[None]):
    def __init__(self, markdown: ReplyMarkdown, theme: str) -> None:
        super().__init__()
        self.markdown = markdown
        self.register_theme(BANDED)
        self.theme = theme

    def compose(self) -> ComposeResult:
        yield self.markdown


async def drawn_at_once(text: str, size: tuple[int, int], theme: str) -> Any:
    app = Alone(ReplyMarkdown(text), theme)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        return trimmed(cells(app))


@pytest.mark.skipif(not FAST_STREAMING, reason="the stock path parses every heading anyway")
@pytest.mark.parametrize("theme", ["textual-dark", "banded"])
async def test_headings_stream_in_the_tail_as_markdown_draws_them(theme: str) -> None:
    size = (60, 50)
    markdown = ReplyMarkdown(streaming=True, page_lines=8)
    app = Alone(markdown, theme)
    checked = 0
    async with app.run_test(size=size) as pilot:
        sent = ""
        for token in tokenize(HEADINGS):
            sent += token
            await markdown.append_text(token)
            await pilot.pause()
            assert not markdown.query("MarkdownHeader"), (
                sent
            )  # drawn by the tail: no widget, no layout
            shown = trimmed(cells(app))
            if shown != await drawn_at_once(sent, size, theme):
                # The line being written may be held back until complete (a lone `#`).
                complete = sent[: sent.rfind("\n") + 1]
                assert shown == await drawn_at_once(complete, size, theme), sent
            checked += 1
        await markdown.finish()
        await settle(pilot)
        final = trimmed(cells(app))
    assert checked > 60
    assert final == await drawn_at_once(HEADINGS, size, theme)
    assert "After a list" in "\n".join(text_of(final))
