"""Streaming replies of every shape (short paragraphs, one long paragraph, a long code block, a
list, a table, a mix): the final frame is what Textual's Markdown draws for the whole text at
once, in the Chat tab (against the same chat opened again from the store) and in the RAG answer;
what is drawn while a reply streams never shows a block twice nor raw fence lines; and the work
of a flush (characters parsed and wrapped, lines highlighted and drawn) does not grow with the
length of the block being written."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content

from pislm_tui.app import PislmApp
from pislm_tui.chat.conversation import ChatMessage
from pislm_tui.tabs.chat import ChatTab
from pislm_tui.widgets.chat_log import ChatLog
from pislm_tui.widgets.live_tail import LiveTail
from pislm_tui.widgets.message_view import AssistantMessage
from pislm_tui.widgets.rag_answer import RagAnswer
from pislm_tui.widgets.reply_end import DEFER_LONG_LISTS, DEFERRED_WIDGETS, widgets_estimate
from pislm_tui.widgets.reply_markdown import FAST_STREAMING, ReplyMarkdown
from tests.chat_helpers import chat_ready, reply_ended, send, wait_for
from tests.fake_ollama import FakeOllama, Reply, tokenize
from tests.fake_ollama.shapes import SHAPES, shaped_tokens

Cells = list[list[tuple[str, str]]]


def cells(app: App[Any], widget: Any = None) -> Cells:
    """What the screen shows, cell by cell (character and style), in `widget`'s region."""
    strips = app.screen._compositor.render_strips()
    region = widget.region if widget is not None else app.screen.region
    rows = []
    for y in range(region.y, region.bottom):
        row: list[tuple[str, str]] = []
        for segment in strips[y]:
            row += [(char, str(segment.style)) for char in segment.text]
        rows.append(row[region.x : region.right])
    return rows


def text_of(rows: Cells) -> list[str]:
    return ["".join(char for char, _ in row).rstrip() for row in rows]


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


# -- the Chat tab ----------------------------------------------------------------------------------


def shape_app(server: FakeOllama) -> PislmApp:
    from pislm_tui.config import load_settings

    settings = load_settings(
        overrides={
            "host": server.url,
            "monitor": {"show_strip": False},
            "chat": {"flush_hz": 30},  # many flushes: the streaming path, not one big append
        }
    )
    return PislmApp(settings)


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_streamed_reply_ends_as_the_same_chat_opened_again(
    fake_ollama: FakeOllama, shape: str
) -> None:
    fake_ollama.script(Reply(n_tokens=600, shape=shape, rate=400))
    app = shape_app(fake_ollama)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await send(pilot, f"Write {shape}.")
        reply = await reply_ended(app, pilot)
        await wait_for(lambda: reply.message.stats is not None, pilot=pilot)
        await settle(pilot)
        text = "".join(shaped_tokens(shape, 600))
        assert reply.markdown.source == text
        # a long list or table (while DEFER_LONG_LISTS is on)
        deferred = DEFER_LONG_LISTS and widgets_estimate(text) > DEFERRED_WIDGETS
        assert reply.markdown.deferred == deferred
        assert bool(reply.query(LiveTail)) == deferred
        streamed = cells(app, app.query_one(ChatLog))
        if deferred:
            # The mouse comes over the reply: Textual's widgets, the same frame.
            await pilot.hover(ChatLog, offset=(10, 3))
            await wait_for(lambda: not reply.query(LiveTail), pilot=pilot, what="widgets")
            await settle(pilot)
            assert not reply.markdown.deferred
            built = cells(app, app.query_one(ChatLog))
    again = shape_app(fake_ollama)  # resume_last: the chat comes back from the store
    async with again.run_test(size=(80, 24)) as pilot:
        chat = again.query_one(ChatTab)
        await chat_ready(again, pilot)
        await wait_for(lambda: len(again.query(AssistantMessage)) == 1, pilot=pilot)
        await settle(pilot)
        assert not chat.streaming
        opened = cells(again, again.query_one(ChatLog))
    assert text_of(streamed) == text_of(opened)
    assert streamed == opened
    if deferred:
        assert built == opened


# -- the RAG answer --------------------------------------------------------------------------------


class Answer(App[None]):
    CSS = "VerticalScroll { height: 1fr; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield RagAnswer(hz=30)


async def stream_answer(pilot: Any, text: str, per_feed: int = 3) -> RagAnswer:
    answer = pilot.app.query_one(RagAnswer)
    await answer.start("llama3.2:1b")
    tokens = tokenize(text)
    for start in range(0, len(tokens), per_feed):
        answer.feed("".join(tokens[start : start + per_feed]))
        await pilot.pause(0.01)
    await answer.finish(Content("done"))
    await settle(pilot)
    return answer


async def answer_at_once(text: str, size: tuple[int, int]) -> Cells:
    """The same answer, its Markdown drawn by Textual at once (`Markdown.update`)."""
    app = Answer()
    async with app.run_test(size=size) as pilot:
        answer = app.query_one(RagAnswer)
        await answer.start("llama3.2:1b")
        answer.feed(text)
        await answer.finish(Content("done"))
        await answer.query_one(ReplyMarkdown).update(text)
        app.query_one(VerticalScroll).scroll_end(animate=False)
        await settle(pilot)
        return cells(app)


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_streamed_rag_answer_ends_as_markdown_draws_it(shape: str) -> None:
    text = "".join(shaped_tokens(shape, 250))
    size = (80, 150)  # all of it on the screen: no scrolling involved
    app = Answer()
    async with app.run_test(size=size) as pilot:
        await stream_answer(pilot, text)
        assert app.query_one(RagAnswer).outer_size.height < size[1]
        streamed = cells(app)
    assert streamed == await answer_at_once(text, size)


# -- while it streams: what Markdown draws for the text so far ------------------------------------


class Alone(App[None]):
    def __init__(self, markdown: ReplyMarkdown) -> None:
        super().__init__()
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        yield self.markdown


async def stream_whole(markdown: ReplyMarkdown, text: str, pilot: Any) -> None:
    """`text` into `markdown` token by token, then its end, drawn."""
    for token in tokenize(text):
        await markdown.append_text(token)
    await markdown.finish()
    await settle(pilot)


def trimmed(rows: Cells) -> Cells:
    while rows and all(char == " " for char, _ in rows[-1]):
        rows = rows[:-1]
    return rows


async def drawn_at_once(text: str, size: tuple[int, int]) -> Cells:
    app = Alone(ReplyMarkdown(text))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        return trimmed(cells(app))


@pytest.mark.parametrize("shape", SHAPES)
async def test_while_it_streams_each_frame_is_what_markdown_draws(shape: str) -> None:
    """Cell for cell (characters and colours): the text so far as Markdown draws it, or the text
    up to its last complete line (a line being written that may start another block, a heading
    or a code fence, is shown once complete)."""
    size = (60, 60)
    # (The mixed reply: past its second heading, drawn in the live tail after a table.)
    tokens = shaped_tokens(shape, 200 if shape == "mixed" else 100)
    markdown = ReplyMarkdown(streaming=True, page_lines=8)
    app = Alone(markdown)
    async with app.run_test(size=size) as pilot:
        sent = ""
        for start in range(0, len(tokens), 2):
            piece = "".join(tokens[start : start + 2])
            sent += piece
            await markdown.append_text(piece)
            await pilot.pause()
            if start % 6:
                continue
            shown = trimmed(cells(app))
            if shown != await drawn_at_once(sent, size):
                complete = sent[: sent.rfind("\n") + 1]
                assert shown == await drawn_at_once(complete, size), sent


# -- while it streams: no block twice, no raw fence lines (#12) ------------------------------------

FENCED_ANSWER = """The next meeting is on Monday [1]. To add it to a calendar:

```python
import calendar_tool

calendar_tool.add("Team meeting", day="Monday", hour=10)
```

Then check the room booking [2].
"""


async def test_a_streamed_code_block_is_never_shown_twice_nor_as_raw_fences() -> None:
    seen: list[list[str]] = []
    app = Answer()
    async with app.run_test(size=(80, 30)) as pilot:
        answer = app.query_one(RagAnswer)
        await answer.start("llama3.2:1b")
        tokens = tokenize(FENCED_ANSWER)
        for token in tokens:
            answer.feed(token)
            await pilot.pause(0.04)  # more than a flush (30 Hz): every state is drawn
            seen.append(text_of(cells(app)))
        await answer.finish(Content("done"))
        await settle(pilot)
        final = cells(app)
    for rows in seen:
        assert not [row for row in rows if row.strip().startswith(("```", "``"))], rows
        code = [row for row in rows if "calendar_tool.add(" in row]
        assert len(code) <= 1, rows
        assert sum("import calendar_tool" in row for row in rows) <= 1, rows
    assert final == await answer_at_once(FENCED_ANSWER, (80, 30))


@pytest.mark.parametrize(
    "text",
    [
        # An HTML block has no widget: Markdown.append used to overwrite the block before it.
        "Para\n\n<details>\n<summary>x</summary>\n\n```\ncode\n```\n\n</details>\n\nAfter html\n",
        # U+2028 is a line break for str.splitlines() but not for the Markdown parser:
        # Markdown.append used to parse again from the wrong line, and drew a code block twice.
        "A\u2028B\u2028C\n\nPara one\n\n```\nx = 1\n```\nPara two\n\nPara three\n\n",
        # Fences inside fences, and a list item with code in it.
        "~~~\n```\nnested\n\n```\n~~~\n\n- item\n\n  ```\n  in item\n\n  more\n  ```\n- three\n",
    ],
    ids=["html-block", "u2028", "nested-fences"],
)
async def test_awkward_answers_end_as_markdown_draws_them(text: str) -> None:
    app = Answer()
    async with app.run_test(size=(60, 30)) as pilot:
        await stream_answer(pilot, text, per_feed=2)
        streamed = cells(app)
    assert streamed == await answer_at_once(text, (60, 30))


# -- the work of a flush -----------------------------------------------------------------------------


def per_flush(markdown: ReplyMarkdown) -> list[tuple[int, ...]]:
    history = markdown.counters.history
    return [
        tuple(b - a for a, b in zip(before, after, strict=True))
        for before, after in itertools.pairwise(history)
    ]


def assert_flat(work: list[tuple[int, ...]]) -> None:
    """The work of the last flushes is about that of the first ones (the same amount of new text
    each time; where a line breaks makes it vary a little). Work that grew with the block would
    be ten to a hundred times more by then."""
    assert len(work) > 200
    early, late = work[10:60], work[-50:]
    names = ("parsed", "wrapped", "highlighted", "rendered", "reparsed")
    for index, name in enumerate(names):
        most_early = max(w[index] for w in early)
        most_late = max(w[index] for w in late)
        assert most_late <= 2 * most_early + 16, (name, most_early, most_late)


def code_lines(count: int) -> list[str]:
    return [
        f"    total_{n} = compute(value_{n}, {n % 7})  # step {n}\n" if n % 10 else "\n"
        for n in range(count)
    ]


async def test_chat_reply_work_per_flush_does_not_grow_with_a_long_code_block() -> None:
    class Chat(App[None]):
        def compose(self) -> ComposeResult:
            yield ChatLog()

    assert FAST_STREAMING  # the pinned Textual is one the fast path knows
    app = Chat()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(ChatLog)
        view = AssistantMessage(ChatMessage("assistant"), streaming=True, page_lines=12)
        await log.messages.mount(view)
        await view.add("Here is the script:\n\n```python\n", "")
        for line in code_lines(2000):  # 2,000 lines, one flush each
            await view.add(line, "")
            log.follow(view)
        work = per_flush(view.markdown)
        await view.add("```\n", "")  # (the block is highlighted as a whole once it ends)
        await view.finish(ChatMessage("assistant", content=view.markdown.source))
        await settle(pilot)
        assert view.markdown.source.count("\n") == 2004
    assert_flat(work)
    assert max(w[2] for w in work[-50:]) <= 8  # lines highlighted by a flush


async def test_rag_answer_work_per_flush_does_not_grow_with_a_long_code_block() -> None:
    app = Answer()
    async with app.run_test(size=(80, 24)) as pilot:
        answer = app.query_one(RagAnswer)
        await answer.start("llama3.2:1b")
        answer.pause()  # flushes are driven below, one per line
        markdown = answer.query_one(ReplyMarkdown)
        for index, piece in enumerate(["Here is the script:\n\n```python\n", *code_lines(2000)]):
            answer.feed(piece)
            await answer._flush()
            if index == 5:
                await first_drawn(markdown, pilot)
        work = per_flush(markdown)
        answer.feed("```\n")
        await answer.finish(Content("done"))
        await settle(pilot)
        assert answer.text.count("\n") == 2004
    assert_flat(work)


async def test_work_per_flush_does_not_grow_with_a_long_table() -> None:
    """A table's rows are parsed with its header (so cells split as Markdown splits them), and
    the row being written on every flush: each cell's content is made once, not on each parse."""
    tokens = shaped_tokens("table", 2000)
    text, work = await answer_in_flushes(tokens)
    assert text == "".join(tokens)
    assert_flat(work)
    # A token adds to one cell, or starts one: at most the row's new cell and the one it ended.
    assert max(w[5] for w in work[10:]) <= 2
    assert sum(w[5] for w in work[10:]) < len(work)


async def answer_in_flushes(tokens: list[str]) -> tuple[str, list[tuple[int, ...]]]:
    """Stream `tokens` into a RAG answer, one flush each: (the answer's text, work per flush
    from the tail's first layout on)."""
    app = Answer()
    async with app.run_test(size=(80, 24)) as pilot:
        answer = app.query_one(RagAnswer)
        await answer.start("llama3.2:1b")
        answer.pause()  # flushes are driven below, one per token
        markdown = answer.query_one(ReplyMarkdown)
        for index, token in enumerate(tokens):
            answer.feed(token)
            await answer._flush()
            if index == 5:
                await first_drawn(markdown, pilot)
        work = per_flush(markdown)
        text = answer.text
        await answer.finish(Content("done"))
        await settle(pilot)
    return text, work


async def first_drawn(markdown: ReplyMarkdown, pilot: Any) -> None:
    """Until the live tail has laid out the open block, flushes only keep the text, and the
    first layout does all of it so far: measured flushes come after it, whenever the machine
    lets the layout come (under load it came late once, and the early flushes measured
    nothing)."""
    await wait_for(
        lambda: any(tail.size.width > 0 and tail.text_lines for tail in markdown.query(LiveTail)),
        pilot=pilot,
    )


async def test_work_per_flush_does_not_grow_with_one_long_paragraph() -> None:
    _, work = await answer_in_flushes(shaped_tokens("one-paragraph", 2000))
    assert_flat(work)


# -- the private API it relies on ------------------------------------------------------------------


async def test_streaming_without_the_fast_path_ends_the_same() -> None:
    """On a Textual the fast path does not know (`FAST` off), replies stream through the stock
    `Markdown.append` and end the same."""

    class Stock(ReplyMarkdown):
        FAST = False

    text = "".join(shaped_tokens("mixed", 300))

    class One(App[None]):
        def __init__(self, markdown: ReplyMarkdown) -> None:
            super().__init__()
            self.markdown = markdown

        def compose(self) -> ComposeResult:
            yield self.markdown

    stock = Stock(streaming=True)
    app = One(stock)
    async with app.run_test(size=(80, 200)) as pilot:
        await stream_whole(stock, text, pilot)
        assert not stock.query(LiveTail)
        streamed = cells(app)
    reference = One(ReplyMarkdown(text))
    async with reference.run_test(size=(80, 200)) as pilot:
        await settle(pilot)
        assert streamed == cells(reference)


def test_the_fast_path_follows_the_textual_compat_guard() -> None:
    """The one private reach (Markdown._parse_markdown) is used only where the guard allows it,
    and the guard allows it on the Textual these tests run (the fast path is what they test)."""
    from pislm_tui.textual_compat import guard
    from pislm_tui.textual_compat import markdown as compat_markdown
    from pislm_tui.widgets import reply_markdown

    assert guard.usable(compat_markdown.KEY) == reply_markdown.FAST_STREAMING
    assert guard.verdict().verified and reply_markdown.FAST_STREAMING


# -- line breaks that Python's str.splitlines knows and markdown-it does not -----------------------

SEPARATED = (
    "First paragraph,\u2028the same\u2028paragraph after\u2028line separators.\n\nSecond.\n\n"
    "- an item\u2029still the item\n- another item\n\n"
    "```\ncode\u2028line\n```\n\nThe end.\n"
)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "stock"])
async def test_a_reply_with_line_separators_ends_as_markdown_draws_it(fast: bool) -> None:
    """Textual's Markdown.append splits lines with str.splitlines (U+2028, U+2029...) unlike
    markdown-it, which showed blocks twice: streamed, the reply ends as drawn at once."""

    class Streamed(ReplyMarkdown):
        FAST = fast

    markdown = Streamed(streaming=True, page_lines=4)
    app = Alone(markdown)
    async with app.run_test(size=(60, 30)) as pilot:
        tokens = tokenize(SEPARATED)
        for start in range(0, len(tokens), 6):  # several tokens per flush, as the tabs do
            await markdown.append_text("".join(tokens[start : start + 6]))
            await pilot.pause()
        await markdown.finish()
        await settle(pilot)
        assert markdown.source == SEPARATED
        assert trimmed(cells(app)) == await drawn_at_once(SEPARATED, (60, 30))


async def test_many_appends_at_once_keep_the_text_in_order() -> None:
    """Flushes that overlap (a timer tick while the reply ends) are taken one after the other."""

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield ReplyMarkdown(streaming=True)

    text = "".join(shaped_tokens("mixed", 300))
    app = One()
    async with app.run_test(size=(80, 100)) as pilot:
        markdown = app.query_one(ReplyMarkdown)
        pieces = tokenize(text)
        await asyncio.gather(*(markdown.append_text(piece) for piece in pieces))
        await markdown.finish()
        await settle(pilot)
        assert markdown.source == text


# -- a live tail closed in the flush where its last paragraph ends ---------------------------------


async def test_a_tail_closed_as_its_paragraph_ends_shows_the_whole_paragraph() -> None:
    """One flush shows a paragraph's line being written ("That is all it"); the next brings the
    rest of it and a quote, which closes the live tail. The closed tail (drawn until the reply
    ends, or for good in a very long reply) shows the whole line, as Markdown draws it: it used
    to keep the line as the earlier flush had drawn it."""
    start = "| a | b |\n|---|---|\n| 1 | 2 |\n\nThat is all it"
    rest = " takes.\n\n> Next\n\nMore\n"
    markdown = ReplyMarkdown(streaming=True, page_lines=8)
    app = Alone(markdown)
    async with app.run_test(size=(60, 30)) as pilot:
        await markdown.append_text(start)
        await settle(pilot)
        assert "That is all it" in "\n".join(text_of(trimmed(cells(app))))
        await markdown.append_text(rest)
        await settle(pilot)
        assert markdown._closed_tails  # the case at hand: the quote closed the tail
        shown = trimmed(cells(app))
        assert "That is all it takes." in "\n".join(text_of(shown))
    assert shown == await drawn_at_once(start + rest, (60, 30))


@pytest.mark.parametrize("seed", [0, 1, 3])
async def test_a_reply_in_flushes_of_any_size_ends_as_markdown_draws_it(seed: int) -> None:
    """The mixed reply in flushes of 1 to 30 tokens, some drawn and some not before the next (as
    a timer and a fast model make them), ends cell for cell as Markdown draws it at once; it has
    long lists and tables, so it ends drawn by its live tails. Seen wrong before: a list first
    drawn while its first item was being written lost that item; a tail closed by a widget
    after it (an ordered list after a bulleted one) had no margin below it."""
    import random

    chance = random.Random(seed)
    text = "".join(shaped_tokens("mixed", 600))
    assert widgets_estimate(text) > DEFERRED_WIDGETS
    size = (80, 400)  # all of it on the screen
    markdown = ReplyMarkdown(streaming=True, page_lines=12)
    app = Alone(markdown)
    async with app.run_test(size=size) as pilot:
        tokens = tokenize(text)
        sent = 0
        while sent < len(tokens):
            count = chance.choice([1, 1, 2, 3, 5, 8, 13, 30])
            await markdown.append_text("".join(tokens[sent : sent + count]))
            sent += count
            if chance.random() < 0.5:
                await pilot.pause()
        await markdown.finish()
        await settle(pilot)
        assert markdown.deferred == DEFER_LONG_LISTS
        streamed = trimmed(cells(app))
    assert streamed == await drawn_at_once(text, size)


async def test_a_reply_kept_in_its_tails_can_be_updated_whole() -> None:
    """`update()` on a reply that ended drawn by its live tails (long lists): a layout that comes
    before the old widgets are gone finds the tail drawn as it was (it used to fail, the reply's
    tail already dropped: seen under load in the RAG answer)."""
    from textual.geometry import Size

    text = "".join(shaped_tokens("list", 250))
    markdown = ReplyMarkdown(streaming=True, page_lines=8)
    app = Alone(markdown)
    async with app.run_test(size=(60, 30)) as pilot:
        await stream_whole(markdown, text, pilot)
        assert markdown.deferred
        tail = markdown.query_one(LiveTail)
        pending = markdown.update(text)
        tail.get_content_height(Size(50, 30), Size(50, 30), 50)  # a layout at another width
        await pending
        await settle(pilot)
        assert not markdown.query(LiveTail)
        assert trimmed(cells(app)) == await drawn_at_once(text, (60, 30))
