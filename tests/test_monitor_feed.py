"""MonitorFeed on its own: it runs on any Textual app (its `FeedHost`) and talks to the rest
through the callables it is given, so it can be driven without PislmApp: a recorded machine in,
readings, rest and wake out."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App

from pislm_tui.config import MonitorSettings
from pislm_tui.monitor import Sample
from pislm_tui.monitor_feed import MonitorFeed
from tests.fixtures.monitor.recording import Machine
from tests.helpers import wait_for


@pytest.fixture
def hot(tmp_path: Path) -> Machine:
    return Machine.copy("pi5_hot", tmp_path)


async def test_the_feed_runs_on_any_app_with_callables(hot: Machine) -> None:
    published: list[Sample] = []
    rests: list[bool] = []
    reports: list[BaseException] = []
    quiet = {"for": 0.0}
    host: App[None] = App()
    async with host.run_test() as pilot:
        feed = MonitorFeed(
            host,
            MonitorSettings(strip_rest_after=30),
            loaded=None,
            publish=published.append,
            rest=rests.append,
            report=reports.append,
            quiet_for=lambda: quiet["for"],
            ssh=True,
        )
        feed.use_sampler(hot.sampler(vcgencmd=None))
        feed.start_strip()
        assert not feed.running  # a headless app: the strip waits to be asked
        feed.start_strip(force=True)
        assert feed.running and feed.interval == 2.0  # the strip over SSH
        await feed.tick()
        assert published and not published[-1].detail  # the strip's cheap reading
        feed.set_monitor_visible(True)
        assert feed.interval == feed.settings.interval
        await wait_for(lambda: published[-1].detail, pilot=pilot, what="a full reading")

        feed.set_monitor_visible(False)
        quiet["for"] = 31.0  # no key for 31 s and no long work
        count = len(published)
        await feed.tick()
        assert rests == [True] and len(published) == count  # resting: nothing read
        feed.wake()
        assert rests == [True, False]
        await wait_for(lambda: len(published) > count, pilot=pilot, what="a reading on wake")
        quiet["for"] = 0.0  # long work runs
        assert not feed.should_rest()
        await feed.aclose()
        assert not feed.running and reports == []
