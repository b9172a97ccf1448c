"""The RAG answer keeps its end in view while the reader is there (issue #12 leftover): one flush
that adds more than a screen, then the end, must leave the figures line on screen; a reader who
scrolled up is left where they are."""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import VerticalScroll
from textual.widgets import Static

from pislm_tui.app import PislmApp
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text, wait_for
from tests.test_rag_tab import app_for, load_demo

MakeApp = Callable[..., PislmApp]

LONG = "".join(f"Line {n} of a long answer about bees and their dances.\n\n" for n in range(40))


async def test_one_flush_of_more_than_a_screen_keeps_the_end_and_figures_in_view(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await load_demo(app, pilot)
        results = app.query_one("#rag-results", VerticalScroll)
        fake_ollama.script(Reply(tokens=["Bees dance.\n\n", LONG, "The end [1]."], rate=4))
        await pilot.press("enter")
        figures = app.query_one("#rag-answer-figures", Static)
        await wait_for(lambda: "tok/s" in str(figures.content), pilot=pilot, what="the end")
        await wait_for(lambda: "tok/s" in screen_text(app), pilot=pilot, what="figures shown")
        assert "The end [1]." in screen_text(app)
        assert results.max_scroll_y > 0 and results.scroll_y == results.max_scroll_y


async def test_a_reader_who_scrolled_up_is_left_there(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await load_demo(app, pilot)
        results = app.query_one("#rag-results", VerticalScroll)
        lines = [f"Line {n} of a long answer about bees.\n\n" for n in range(60)]
        fake_ollama.script(Reply(tokens=lines, rate=30))
        await pilot.press("enter")
        await wait_for(
            lambda: results.max_scroll_y > 5 and results.scroll_y == results.max_scroll_y,
            pilot=pilot,
            what="the answer followed past a screen",
        )
        results.scroll_home(animate=False)  # what the mouse wheel or the scroll bar does
        figures = app.query_one("#rag-answer-figures", Static)
        await wait_for(lambda: "tok/s" in str(figures.content), pilot=pilot, what="the end")
        await pilot.pause()
        assert results.scroll_y == 0 and results.max_scroll_y > 20
        assert "tok/s" not in screen_text(app)
