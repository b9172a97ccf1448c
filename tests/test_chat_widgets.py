"""The streaming Markdown widget: what it draws while a reply streams in small pieces is what
Textual's own Markdown draws for the same text, it repaints only the lines that changed, and the
prompt box and image chips behave. (Each shape of reply, and the work per flush:
tests/test_streaming_shapes.py.)"""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Markdown

from pislm_tui.chat.images import ImageAttachment
from pislm_tui.widgets.image_chips import ImageChip, ImageChips
from pislm_tui.widgets.live_tail import LiveTail
from pislm_tui.widgets.reply_markdown import ReplyMarkdown
from tests.fake_ollama.reply import tokenize
from tests.helpers import screen_text, wait_for

TEXT = (
    "The capital of France is **Paris**, a city of `2.1 million` people.\n"
    "It sits on the *Seine* and has many bridges and museums and gardens and cafes.\n\n"
    "A second paragraph, long enough to wrap over more than one line of this narrow screen, "
    "with a [link](https://example.org) in it.\n\n"
    "- a list item\n- another item\n\n"
    "A paragraph after the list, then a heading:\n\n"
    "## Heading\n\n"
    "Last words here, with [bold red]markup[/bold red] shown as typed."
)


class One(App[None]):
    def __init__(self, widget: Markdown) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def lines(app: App[Any]) -> list[str]:
    return [line.rstrip() for line in screen_text(app).splitlines()]


def trimmed(rows: list[str]) -> list[str]:
    while rows and not rows[-1]:
        rows = rows[:-1]
    return rows


async def reference(text: str, size: tuple[int, int]) -> list[str]:
    app = One(Markdown(text))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        return trimmed(lines(app))


async def test_streamed_reply_draws_what_markdown_draws() -> None:
    size = (60, 60)
    widget = ReplyMarkdown(streaming=True, page_lines=8)
    app = One(widget)
    tokens = tokenize(TEXT)
    async with app.run_test(size=size) as pilot:
        sent = ""
        for start in range(0, len(tokens), 3):  # a few tokens per flush, like the timer does
            piece = "".join(tokens[start : start + 3])
            sent += piece
            await widget.append_text(piece)
            await pilot.pause()
            if start % 15 == 0:  # midway: the text so far, as Markdown would show it (a line
                # being written that may start another block is shown once complete)
                shown = trimmed(lines(app))
                complete = sent[: sent.rfind("\n") + 1]
                assert shown in (await reference(sent, size), await reference(complete, size))
        assert widget.source == TEXT
        assert widget.query_children(LiveTail)
        await widget.finish()
        await pilot.pause()
        assert trimmed(lines(app)) == await reference(TEXT, size)
        assert not widget.query(LiveTail)
        assert "[bold red]markup[/bold red]" in screen_text(app)


async def repaints_of(widget: ReplyMarkdown, pilot: Any, text: str, lines: int) -> list:
    """Once the live tail shows `lines` lines: append `text` and return the tail's refreshes
    that followed, as (regions, keywords)."""
    tail = widget.query_one(LiveTail)
    await wait_for(lambda: tail.text_lines == lines, pilot=pilot)
    repaints: list[tuple[Any, ...]] = []
    original = tail.refresh

    def spy(*regions: Any, **kw: Any) -> Any:
        repaints.append((regions, kw))
        return original(*regions, **kw)

    tail.refresh = spy  # type: ignore[method-assign]
    await widget.append_text(text)
    await pilot.pause()
    return repaints


async def test_a_streaming_reply_repaints_only_what_changed() -> None:
    widget = ReplyMarkdown(streaming=True, page_lines=10)
    app = One(widget)
    async with app.run_test(size=(40, 20)) as pilot:
        await widget.append_text("Hello there, this is")
        await pilot.pause()
        repaints = await repaints_of(widget, pilot, " a test", lines=1)
        assert repaints[0][1].get("layout") is not True
        (region,) = repaints[0][0]
        assert (region.y, region.height) == (0, 1)  # the line that changed, nothing else
        # a page reserved: new lines need no layout
        assert widget.query_one(LiveTail).outer_size.height == 9


async def test_a_table_row_that_ends_repaints_from_its_rule_down() -> None:
    """The row being written was drawn at the last flush; when its line ends, the same lines
    stay, and the repaint starts at the rule below it (the old bottom border)."""
    widget = ReplyMarkdown(streaming=True, page_lines=10)
    app = One(widget)
    async with app.run_test(size=(40, 20)) as pilot:
        await widget.append_text("| a | b |\n|---|---|\n| one | two |")
        await pilot.pause()
        # top border, header, rule, the row being written, bottom border
        ((regions, _),) = await repaints_of(widget, pilot, "\n| six | ten |", lines=5)
        (region,) = regions
        # a rule where the bottom border was, the new row, the bottom border below it
        assert (region.y, region.height) == (4, 3)
        assert widget.query_one(LiveTail).text_lines == 7


async def test_image_chips_are_removed_with_enter_or_delete() -> None:
    class Chips(App[None]):
        def compose(self) -> ComposeResult:
            yield ImageChips()

    app = Chips()
    async with app.run_test(size=(80, 5)) as pilot:
        chips = app.query_one(ImageChips)
        for name in ("a.png", "b.png"):
            from pathlib import Path

            await chips.add(ImageAttachment(Path(name), b"\x89PNG\r\n\x1a\n", "PNG"))
        await chips.add(ImageAttachment(Path("a.png"), b"\x89PNG\r\n\x1a\n", "PNG"))  # no twice
        assert [i.name for i in chips.images] == ["a.png", "b.png"]
        await wait_for(lambda: "a.png · 8 B ✕" in screen_text(app), pilot=pilot)
        app.query(ImageChip).first().focus()
        await pilot.press("delete")
        await wait_for(lambda: [i.name for i in chips.images] == ["b.png"], pilot=pilot)
        assert isinstance(app.focused, ImageChip)  # the next chip takes the focus
        await pilot.press("enter")
        await wait_for(lambda: not chips.images and not chips.has_class("-has-images"), pilot=pilot)
