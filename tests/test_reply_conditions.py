"""A Chat reply's figures carry the machine's conditions: the recorded Pi 5 (cool, idle power)
starts throttling while the test server streams the reply, and the reply's figures say so.
The readings come from the app's own sampler (manual feed on the recorded machine), as the
Monitor tab's do; snapshots of the expanded figures at 80x24 and 120x40."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.tabs.chat import ChatTab
from pislm_tui.widgets.prompt_input import PromptInput
from pislm_tui.widgets.stats_line import StatsLine
from tests.fake_ollama import FakeOllama, Reply
from tests.fixtures.monitor.driving import SLOW_START, monitor_app
from tests.fixtures.monitor.recording import FIXTURES, Machine, cool_busy
from tests.helpers import screen_text, wait_for

SIZES = [(80, 24), (120, 40)]
ANSWER = "Paris is the capital of France, on the Seine, with about two million people."


def throttled_app(server: FakeOllama, tmp_path: Path) -> tuple[PislmApp, Machine]:
    machine = Machine.copy("pi5_cool", tmp_path)
    server.script(Reply(text=ANSWER, rate=6))  # ~2.5 s of streaming
    app = monitor_app(server.url, machine, show_strip=False)
    return app, machine


async def reply_while_throttling_starts(pilot: Any, machine: Machine) -> ChatTab:
    app = pilot.app
    chat = app.query_one(ChatTab)
    await wait_for(lambda: app.current_model and chat.conversation, pilot=pilot, timeout=SLOW_START)
    prompt = app.query_one(PromptInput)
    await wait_for(lambda: app.focused is prompt, pilot=pilot)
    prompt.cursor_blink = False
    prompt.set_text("Where is Paris?")
    await pilot.press("enter")
    sampler = app.monitor.sampler
    # The reply's first reading (cool, 0x0) is in; the reply still streams.
    await wait_for(lambda: sampler.recorders and sampler.last is not None, pilot=pilot)
    assert chat.streaming
    hot = FIXTURES / "pi5_hot" / "vcgencmd.out"
    machine.write("vcgencmd.out/get_throttled", "throttled=0x60006\n")
    machine.write("vcgencmd.out/measure_clock_arm", (hot / "measure_clock_arm").read_text())
    machine.tick(cool_busy(0), seconds=3)
    await sampler.sample(detail=False, wait_slow=True)  # the app's timer, once
    await wait_for(lambda: not chat.streaming and app.query(StatsLine), pilot=pilot)
    return chat


async def test_the_reply_figures_show_throttling_that_began_mid_reply(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    app, machine = throttled_app(fake_ollama, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await reply_while_throttling_starts(pilot, machine)
        reply = chat.conversation.messages[-1]
        run = reply.conditions
        assert run is not None and run.began_throttling
        assert run.start.throttle is not None and run.start.throttle.raw == 0
        assert run.end.arm_mhz == pytest.approx(1500.004352)  # the hot recording's clock
        figures = app.query_one(StatsLine)
        assert "⚠ throttled" in str(figures.title)
        figures.collapsed = False
        await wait_for(lambda: "not comparable" in screen_text(app), pilot=pilot)
        text = screen_text(app)
        assert "0x0 → 0x60006 (arm_freq_capped, throttled)" in text
        assert "energy:" in text and "J/token" in text
        assert not app.monitor.sampler.recorders  # the recording ended with the reply


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_expanded_figures_with_conditions(
    snap_compare: Any, snapshot_ollama: FakeOllama, tmp_path: Path, size: tuple[int, int]
) -> None:
    app, machine = throttled_app(snapshot_ollama, tmp_path)

    async def run_before(pilot: Any) -> None:
        await reply_while_throttling_starts(pilot, machine)
        figures = pilot.app.query_one(StatsLine)
        figures.collapsed = False
        await wait_for(lambda: "not comparable" in screen_text(pilot.app), pilot=pilot)
        await wait_for(lambda: "/4,096 (" in screen_text(pilot.app), pilot=pilot)  # from `ps`
        pilot.app.clear_notifications()
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
