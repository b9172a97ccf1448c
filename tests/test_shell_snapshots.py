"""Snapshots of the app shell at 80x24 and 120x40, in the default theme and in `pislm-16` (the
16-colour one): the status line (name, connection, live strip, model), the tabs, the footer, and
the connection banner in two states: connected with models (no banner) and the server
unreachable (banner with what to do). The live strip is fed from a recorded Pi 5 played forward
by the test, so its bars, temperature and RAM are the same on every run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.tabs.chat import ChatTab
from pislm_tui.widgets.live_strip import PLACEHOLDER, LiveStrip
from pislm_tui.widgets.prompt_input import PromptInput
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.driving import SLOW_START, monitor_app
from tests.fixtures.monitor.recording import (
    Machine,
    cool_busy,
    cool_processes,
    hot_busy,
    hot_processes,
)
from tests.helpers import screen_text, wait_for

SIZES = [(80, 24), (120, 40)]
THEMES = ["pislm-dark", "pislm-16"]
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there

parametrize = pytest.mark.parametrize


def flat(text: str) -> str:
    return " ".join(text.split())


async def feed_strip(app: PislmApp, pilot: Any, machine: Machine, busy: Any, procs: Any) -> None:
    """Start the live strip (headless runs leave it idle) and play ten seconds of the machine."""
    app.monitor.start_strip(force=True)
    for second in range(10):
        machine.tick(busy(second), procs(second))
        await app.monitor.sample_now()
    strip = app.query_one(LiveStrip)
    await wait_for(lambda: strip.content is not PLACEHOLDER, pilot=pilot, what="live strip")


async def chat_ready(app: PislmApp, pilot: Any) -> None:
    chat = app.query_one(ChatTab)
    await wait_for(lambda: chat.conversation is not None, pilot=pilot, timeout=SLOW_START)
    prompt = app.query_one(PromptInput)
    await wait_for(lambda: app.focused is prompt, pilot=pilot, timeout=SLOW_START)
    prompt.cursor_blink = False


async def settle(pilot: Any) -> None:
    pilot.app.clear_notifications()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@parametrize("theme", THEMES)
@parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_connected_with_models(
    snap_compare: Any,
    snapshot_ollama: FakeOllama,
    tmp_path: Path,
    size: tuple[int, int],
    theme: str,
) -> None:
    machine = Machine.copy("pi5_hot", tmp_path)

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=SLOW_START)
        await chat_ready(app, pilot)
        chat = app.query_one(ChatTab)
        await wait_for(
            lambda: len(chat.pislm.model_details.known) >= 6, pilot=pilot, what="model capabilities"
        )
        await feed_strip(app, pilot, machine, hot_busy, hot_processes)
        await wait_for(lambda: "7 models" in screen_text(app), pilot=pilot)
        assert "cannot reach" not in screen_text(app)
        await settle(pilot)

    app = monitor_app(snapshot_ollama.url, machine, show_strip=True)
    app.set_theme(theme)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@parametrize("theme", THEMES)
@parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_server_unreachable(
    snap_compare: Any, tmp_path: Path, size: tuple[int, int], theme: str
) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(
            lambda: app.connection.status == "unreachable", pilot=pilot, timeout=SLOW_START
        )
        await chat_ready(app, pilot)
        await feed_strip(app, pilot, machine, cool_busy, cool_processes)
        await wait_for(lambda: "Retrying automatically." in flat(screen_text(app)), pilot=pilot)
        await settle(pilot)

    app = monitor_app(UNREACHABLE, machine, show_strip=True)
    app.set_theme(theme)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_keys_panel(
    snap_compare: Any, snapshot_ollama: FakeOllama, tmp_path: Path, size: tuple[int, int]
) -> None:
    """F1 on the Chat tab: the chat's own keys first, then the app's, the editing keys last."""
    machine = Machine.copy("pi5_cool", tmp_path)

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=SLOW_START)
        await chat_ready(app, pilot)
        await feed_strip(app, pilot, machine, cool_busy, cool_processes)
        await wait_for(lambda: "7 models" in screen_text(app), pilot=pilot)
        await pilot.press("f1")
        await wait_for(lambda: "Export to" in screen_text(app), pilot=pilot)
        await settle(pilot)

    app = monitor_app(snapshot_ollama.url, machine, show_strip=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
