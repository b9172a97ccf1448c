"""The Monitor tab's fleet view at 80x24 and 120x40: three named hosts — the Pi the app talks to
(the recorded cool Pi 5 as its machine), an OpenAI-compatible server on the same machine (no
version, no ps: it says so), and a Jetson that is down with no ssh."""

from __future__ import annotations

from pathlib import Path

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.config import load_settings
from pislm_tui.widgets.fleet_rows import FleetRows
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.driving import SLOW_START, open_monitor, play
from tests.fixtures.monitor.recording import Machine, cool_busy, cool_processes
from tests.helpers import screen_text, wait_for, without_animations

SIZES = [(80, 24), (120, 40)]


def fleet_app(url: str, machine: Machine) -> PislmApp:
    loaded = load_settings(
        overrides={
            "host": "pi5",
            "hosts": {
                "pi5": {"url": url},
                "gpu": {"url": f"{url}/v1", "api": "openai"},
                "jetson": {"url": "http://jetson.invalid:11434"},
            },
            "monitor": machine.settings(),
        }
    )
    app = without_animations(PislmApp(loaded))
    app.monitor.manual = True  # no timers: the test takes every reading (the fleet's too)
    app.monitor.use_sampler(machine.sampler(loaded=app.backend.loaded, top=8))
    return app


async def show_fleet(pilot, machine: Machine) -> None:
    app = pilot.app
    await open_monitor(app, pilot)
    await play(app, pilot, machine, cool_busy, cool_processes, seconds=20)
    await wait_for(lambda: "Processes by CPU" in screen_text(app), pilot=pilot, timeout=SLOW_START)
    rows = app.query_one(FleetRows)
    await app.query_one("MonitorTab").refresh_fleet().wait()  # type: ignore[attr-defined]
    await wait_for(lambda: len(rows.rows) == 3, pilot=pilot, timeout=SLOW_START)
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_fleet_view(snap_compare, snapshot_ollama: FakeOllama, tmp_path: Path, size) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    app = fleet_app(snapshot_ollama.url, machine)

    async def run_before(pilot) -> None:
        await show_fleet(pilot, machine)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_fleet_rows_say_why(snapshot_ollama: FakeOllama, tmp_path: Path) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    app = fleet_app(snapshot_ollama.url, machine)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_monitor(app, pilot)
        rows = app.query_one(FleetRows)
        await wait_for(lambda: len(rows.rows) == 3, pilot=pilot, timeout=SLOW_START)
        text = screen_text(app)
        assert "no ps (OpenAI)" in text and "no ssh" in text and "down" in text
        assert "jetson load: no ssh: the server runs on jetson.invalid" in (rows.tooltip or "")
        app.show_tab("chat")  # the fleet stops being asked while the tab is hidden
        await wait_for(lambda: app.active_tab == "chat", pilot=pilot)
