"""Snapshots of the Tools tab at 80x24 and 120x40: each pane with a result, and the location
dialog. Elapsed times come from a stepping clock, so the pictures never change."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from pislm_tui.app import PislmApp
from pislm_tui.config import load_settings
from pislm_tui.screens.tools_location import LocationScreen
from pislm_tui.widgets.tools_calls import ToolCallsPane
from pislm_tui.widgets.tools_image import ImagePane
from pislm_tui.widgets.tools_scoreboard import ScoreboardPane
from pislm_tui.widgets.tools_where import WherePane
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text, wait_for, without_animations
from tests.test_tools_core import write_png
from tests.test_tools_tab import card_text, open_tools, submit

SIZES = [(80, 24), (120, 40)]


class StepClock:
    """Each reading is 1.25 s after the previous one."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.25
        return self.now


def snapshot_app(server: FakeOllama) -> PislmApp:
    # The live CPU/RAM strip shows this machine's figures: off for pictures.
    loaded = load_settings(overrides={"host": server.url, "monitor": {"show_strip": False}})
    return without_animations(PislmApp(loaded))


async def prepare(app: PislmApp, pilot, pane: str) -> None:
    await open_tools(app, pilot, pane)
    app.clear_notifications()  # another tab's start-up toast would sit under a dialog
    for widget in (*app.query(WherePane), *app.query(ImagePane), *app.query(ToolCallsPane)):
        widget.clock = StepClock()


async def steady(app: PislmApp, pilot) -> None:
    """No blinking cursor, no toasts from other tabs: the same picture every run."""
    app.clear_notifications()
    for box in app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause()


async def idle(app: PislmApp, pilot) -> None:
    """Wait until nothing runs (the footer's Stop key is gone), then steady the screen."""
    await wait_for(
        lambda: not any(w.is_running for w in app.workers if w.group.startswith("tools-")),
        pilot=pilot,
    )
    await pilot.pause()
    await wait_for(lambda: "esc Stop" not in screen_text(app), pilot=pilot)
    await steady(app, pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_where_with_a_result(snap_compare, snapshot_ollama: FakeOllama, size) -> None:
    async def run_before(pilot) -> None:
        app = pilot.app
        await prepare(app, pilot, "f7")
        snapshot_ollama.script(Reply(text="not json"))
        await submit(app, pilot, "#where-country", "Japan")
        await wait_for(lambda: "Tokyo" in card_text(app, "#where-card"), pilot=pilot, timeout=30)
        await submit(app, pilot, "#where-country", "France")
        await wait_for(lambda: "Paris" in card_text(app, "#where-card"), pilot=pilot, timeout=30)
        await idle(app, pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_image_with_a_result(
    snap_compare, snapshot_ollama: FakeOllama, size, tmp_path: Path
) -> None:
    photo = write_png(tmp_path / "machu_picchu.png")

    async def run_before(pilot) -> None:
        app = pilot.app
        await prepare(app, pilot, "f8")
        await submit(app, pilot, "#image-path", str(photo))
        await wait_for(lambda: "Cusco" in card_text(app, "#image-card"), pilot=pilot, timeout=30)
        app.query_one("#image-path").value = "~/photos/machu_picchu.png"  # no tmp path on screen
        await idle(app, pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_tool_calling_with_a_transcript(snap_compare, snapshot_ollama: FakeOllama, size) -> None:
    async def run_before(pilot) -> None:
        app = pilot.app
        await prepare(app, pilot, "f9")
        snapshot_ollama.script(
            Reply(tool_calls=[
                {"name": "distance", "arguments": {"lat1": -33.33, "lon1": -70.51, "lat2": 35.6762, "lon2": 139.6503}},
                {"name": "weather", "arguments": {"city": "Tokyo"}},
            ]),
            Reply(text="Tokyo is about 17,250 km from Santiago de Chile."),
        )  # fmt: skip
        await submit(app, pilot, "#calls-prompt", "How far is Tokyo from here?")
        await wait_for(lambda: "2 rounds" in screen_text(app), pilot=pilot)
        await idle(app, pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_location_dialog(snap_compare, snapshot_ollama: FakeOllama, size) -> None:
    async def run_before(pilot) -> None:
        app = pilot.app
        await prepare(app, pilot, "f7")
        await pilot.press("ctrl+g")
        await wait_for(lambda: isinstance(app.screen, LocationScreen), pilot=pilot)
        app.screen.query_one("#location-lat").value = "123"
        await pilot.press("ctrl+s")
        await wait_for(lambda: "Latitude:" in screen_text(app), pilot=pilot)
        await steady(app, pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_where_waiting_on_a_retry(snap_compare, snapshot_ollama: FakeOllama, size) -> None:
    """The waiting card: what is asked, for how long, which retry and why (a clock that jumps
    12 s once the question starts)."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await prepare(app, pilot, "f7")
        pane = app.query_one(WherePane)
        pane.wait.clock = lambda: 1000.0 + (12.0 if pane.wait.started is not None else 0.0)
        snapshot_ollama.script(Reply(text="not json"), Reply(text="{}", first_byte_delay=60))
        await submit(app, pilot, "#where-country", "Japan")
        await wait_for(lambda: "12 s" in card_text(app, "#where-card"), pilot=pilot, timeout=30)
        await steady(app, pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_scoreboard_with_a_recommendation(snap_compare, snapshot_ollama: FakeOllama, size) -> None:
    """Three models of different behaviour (test_tools_scoreboard.py), one run each."""
    from datetime import datetime

    from tests.test_tools_scoreboard import scoreboard_models

    for model in scoreboard_models()[:3]:
        snapshot_ollama.add_model(model)

    async def run_before(pilot) -> None:
        app = pilot.app
        await prepare(app, pilot, "f10")
        pane = app.query_one(ScoreboardPane)
        pane.clock = StepClock()
        pane.now = lambda: datetime(2026, 12, 6, 20, 0, 0).astimezone()
        app.settings.tools.max_retries = 3
        app.query_one("#score-runs", Input).value = "1"
        await submit(app, pilot, "#score-models", "broken:1b,retry:1b,good:1b")
        await wait_for(lambda: "Saved tools-bench-" in screen_text(app), pilot=pilot)
        await idle(app, pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mcp_call_waiting_for_approval(snap_compare, snapshot_ollama: FakeOllama, size) -> None:
    """An MCP server's tool call (test_tools_mcp.py's demo server, over stdio) asks first."""
    from pislm_tui.screens.dialog import ConfirmScreen
    from tests.test_tools_mcp import START, stdio_server

    async def run_before(pilot) -> None:
        app = pilot.app
        await prepare(app, pilot, "f9")
        question = 'Shout #tool=demo.shout{"text": "hello from the pi"}'
        await steady(app, pilot)  # the prompt's cursor, under the dialog, must not blink
        await submit(app, pilot, "#calls-prompt", question)
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen) and "Run demo.shout?"
                       in screen_text(app), pilot=pilot, timeout=START)  # fmt: skip
        await steady(app, pilot)

    loaded = load_settings(
        overrides={
            "host": snapshot_ollama.url,
            "monitor": {"show_strip": False},
            "mcp": {"servers": {"demo": stdio_server(Path("/dev/null"))}},
        }
    )
    app = without_animations(PislmApp(loaded))
    assert snap_compare(app, terminal_size=size, run_before=run_before)
