"""Issue #12, the silent exit: a RAG answer that ends while its flush timer is re-laying out a
Markdown list. Stopping the timer cancelled the flush half-way through Textual's removal of the
old list; that cancelled the removed widgets' own tasks, and the app's message loop then ended
(exit code 0, nothing printed). Here the end of the answer is placed at every point of such a
flush in turn, in the real app's RAG tab; the app must keep running and show the whole answer.

The answer's `ReplyMarkdown` keeps a plain list in its live tail while it streams; a list in a
quote is parsed again on every flush (a block of another kind), so each flush removes the
quote's widgets and mounts new ones: the removal the end of the answer must not cut."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.content import Content
from textual.widgets import TabbedContent
from textual.widgets._markdown import MarkdownBullet, MarkdownBulletList

from pislm_tui.app import PislmApp
from pislm_tui.tabs.rag import RagTab
from pislm_tui.widgets.rag_answer import RagAnswer
from pislm_tui.widgets.reply_markdown import ReplyMarkdown
from tests.helpers import wait_for

MakeApp = Callable[..., PislmApp]

ITEMS = 8
LIST = "".join(f">   * **Point {n}:** the next meeting is on Thursday [1].\n" for n in range(ITEMS))


def rag_tab(app: PislmApp) -> RagTab | None:
    if app.query_one("#tabs", TabbedContent).active != "rag":
        app.show_tab("rag")
        return None
    return next(iter(app.query(RagTab)), None)


async def next_turn_when(condition: Callable[[], bool]) -> None:
    """Wait turn by turn of the event loop (a timed poll would skip through the flush)."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never came")


async def test_an_answer_ending_at_any_point_of_a_flush_keeps_the_app_and_the_answer(
    make_app: MakeApp,
) -> None:
    app = make_app(monitor={"show_strip": False})
    async with app.run_test(size=(80, 24)) as pilot:
        tab: RagTab = await wait_for(lambda: rag_tab(app), pilot=pilot, what="the RAG tab")
        answer = tab.query_one(RagAnswer)
        answer.hz = 1000.0  # the timer ticks at once: its flush is the one in progress
        for steps in range(14):  # loop turns between the flush starting and the answer ending
            await answer.start("llama3.2:1b")
            answer.feed(f"Intro.\n\n{LIST}\n")
            markdown = answer.query_one(ReplyMarkdown)
            await wait_for(
                lambda m=markdown: m.query(MarkdownBulletList) and not m.lock.is_locked,
                pilot=pilot,
                what="the list shown, that flush over",
            )
            # More of the quote: the next flush lays the list out again (a removal).
            answer.feed(">\n> After the list.\n\n")
            await next_turn_when(lambda m=markdown: m.lock.is_locked)  # a flush has begun
            for _ in range(steps):
                await asyncio.sleep(0)
            await answer.finish(Content("done"))
            await pilot.pause()
            assert app.is_running, f"the app ended when the answer ended {steps} turns in"
            shown: Any = answer.query_one(ReplyMarkdown)
            await wait_for(lambda s=shown: len(s.query(MarkdownBullet)) == ITEMS, pilot=pilot)
            assert shown.source.endswith("After the list.\n\n")
            assert len(shown.query(MarkdownBulletList)) == 1
        guard = getattr(app, "error_guard", None)
        assert guard is not None and guard.survived == 0  # no crash even caught and survived
        assert not (app.paths.data_dir / "crash.log").exists()
