"""Long work is marked where its worker starts (`long_work`), and the app counts it as busy:
the live strip does not rest over SSH while a reply, a pull, a load, a bench… runs."""

from __future__ import annotations

import asyncio

from textual import work
from textual.app import App

from pislm_tui.long_work import is_long, long_work, mark_long
from tests.fake_ollama import FakeOllama
from tests.helpers import patient, screen_text
from tests.test_models_tab import MakeApp, app_for, open_models, select

wait_for = patient(30.0)


class Jobs(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()

    @long_work(group="jobs-long", exclusive=True)
    async def long_job(self) -> str:
        await self.go.wait()
        return "long"

    @work(group="jobs-short")
    async def short_job(self) -> str:
        await self.go.wait()
        return "short"


async def test_workers_started_through_long_work_are_long() -> None:
    app = Jobs()
    async with app.run_test() as pilot:
        long_one, short_one = app.long_job(), app.short_job()
        manual = mark_long(app.run_worker(app.go.wait(), group="by-hand"))
        assert is_long(long_one) and is_long(manual) and not is_long(short_one)
        assert long_one.group == "jobs-long"  # still Textual's worker, with its group
        app.go.set()
        await wait_for(lambda: long_one.is_finished and short_one.is_finished, pilot=pilot)
        assert long_one.result == "long" and short_one.result == "short"


async def test_a_model_load_keeps_the_app_busy(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    """A load can take minutes on a Pi: over SSH the strip must not rest meanwhile."""
    fake_ollama.load_delay = 60
    app = app_for(make_app, ssh=True, monitor={"show_strip": False, "strip_rest_after": 30})
    async with app.run_test(size=(100, 30)) as pilot:
        tab = await open_models(app, pilot)
        tab.memory_probe = lambda: 64_000_000_000
        await select(tab, pilot, "llama3.2:1b")
        assert not app.busy()
        await pilot.press("l")
        await wait_for(lambda: "Loading llama3.2:1b" in screen_text(app), pilot=pilot)
        assert app.busy()
        app.last_input -= 31
        assert app.monitor.ssh and not app.monitor.should_rest()
        await pilot.press("escape")
        await wait_for(lambda: not app.busy(), pilot=pilot, what="the load stopped")
        app.last_input -= 31  # (Esc was a key)
        assert app.monitor.should_rest()
