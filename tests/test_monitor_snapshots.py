"""Snapshots of the Monitor tab at 80x24 and 120x40, from recorded Pi 5 machines: one hot and
throttled while a model answers, one cool and idle. The recording is played forward a second at
a time through the real sampler (manual feed, the machine's own clock), so 60 s of history and
every figure are the same on every run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pislm_tui.app import PislmApp
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.driving import SLOW_START, monitor_app, open_monitor, play
from tests.fixtures.monitor.recording import (
    Machine,
    cool_busy,
    cool_processes,
    hot_busy,
    hot_processes,
)
from tests.helpers import screen_text, wait_for

SIZES = [(80, 24), (120, 40)]


async def settle(app: PislmApp, pilot) -> None:
    await wait_for(lambda: "Processes by CPU" in screen_text(app), pilot=pilot, timeout=SLOW_START)
    app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_hot_throttled_pi5(snap_compare, snapshot_ollama: FakeOllama, tmp_path: Path, size) -> None:
    machine = Machine.copy("pi5_hot", tmp_path)
    snapshot_ollama.loaded["llama3.2:3b"] = math.inf  # keep_alive -1: "kept forever"

    async def run_before(pilot) -> None:
        await open_monitor(pilot.app, pilot)
        await play(pilot.app, pilot, machine, hot_busy, hot_processes)
        await settle(pilot.app, pilot)
        await wait_for(
            lambda: "llama3.2:3b" in screen_text(pilot.app), pilot=pilot, timeout=SLOW_START
        )
        await wait_for(
            lambda: "Arm throttling" in screen_text(pilot.app), pilot=pilot, timeout=SLOW_START
        )

    app = monitor_app(snapshot_ollama.url, machine)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_cool_idle_pi5(snap_compare, snapshot_ollama: FakeOllama, tmp_path: Path, size) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)

    async def run_before(pilot) -> None:
        await open_monitor(pilot.app, pilot)
        await play(pilot.app, pilot, machine, cool_busy, cool_processes)
        await settle(pilot.app, pilot)
        await wait_for(
            lambda: "no model in memory" in screen_text(pilot.app), pilot=pilot, timeout=SLOW_START
        )

    app = monitor_app(snapshot_ollama.url, machine)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
