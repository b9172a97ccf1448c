"""Pilot tests of the Monitor tab and the live strip, on recorded machines played through the
real sampler, against the fake server for Ollama's part."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pislm_tui.widgets.core_bars import CoreBars
from pislm_tui.widgets.live_strip import LiveStrip
from pislm_tui.widgets.process_table import ProcessTable
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.driving import monitor_app, open_monitor, play
from tests.fixtures.monitor.recording import (
    RUNNER_PID,
    Machine,
    cool_busy,
    cool_processes,
    hot_busy,
    hot_processes,
)
from tests.helpers import screen_text, wait_for


@pytest.fixture
def hot(tmp_path: Path) -> Machine:
    return Machine.copy("pi5_hot", tmp_path)


def strip_text(app) -> str:
    return app.query_one(LiveStrip).content.plain


async def test_hot_pi5_on_the_monitor_tab(fake_ollama: FakeOllama, hot: Machine) -> None:
    fake_ollama.loaded["llama3.2:3b"] = math.inf
    app = monitor_app(fake_ollama.url, hot)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_monitor(app, pilot)
        await play(app, pilot, hot, hot_busy, hot_processes, seconds=12)
        await wait_for(lambda: "llama3.2:3b" in screen_text(app), pilot=pilot)
        text = screen_text(app)
        for expected in (
            "pi5 · 4 cores · load 3.97 3.42 2.05",
            "83.2 °C",
            "Arm throttling",
            "7931 rpm · 98 %",
            "1.50 GHz of 2.40 GHz",
            "NOW: Arm frequency capped, throttled",
            "since boot: under-voltage, Arm frequency capped, throttled",
            "ollama runner",
            "ollama serve",
            "3.3G/7.9G",
            "100% CPU · ctx 4096 · forever",
        ):
            assert expected in text, expected
        bars = app.query_one(CoreBars).plain.splitlines()
        assert len(bars) == 5  # four cores and "all"
        assert [line.split()[0] for line in bars] == ["0", "1", "2", "3", "all"]
        last = hot_busy(11)
        assert [int(line.split("%")[0].split()[-1]) for line in bars[:4]] == [
            round(v) for v in last
        ]
        assert "\x1b" not in text and "evil)x" in text  # a process name cannot drive the terminal


async def test_history_fills_from_the_right(fake_ollama: FakeOllama, hot: Machine) -> None:
    app = monitor_app(fake_ollama.url, hot)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_monitor(app, pilot)
        await play(app, pilot, hot, lambda s: [100, 0, 50, 100], lambda s: {}, seconds=10)
        rows = app.query_one(CoreBars).plain.splitlines()
        history = [row[-60:] for row in rows]
        assert all(len(h) == 60 for h in history)
        assert history[0].endswith("█" * 9) and history[0].startswith(" " * 40)
        assert history[1].endswith("▁" * 9)  # idle still shows a baseline


async def test_sort_and_pause_keys(fake_ollama: FakeOllama, hot: Machine) -> None:
    app = monitor_app(fake_ollama.url, hot)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_monitor(app, pilot)
        await play(app, pilot, hot, hot_busy, hot_processes, seconds=3)
        table = app.query_one(ProcessTable)

        def names() -> list[str]:
            return [line.split()[1] for line in table.plain.splitlines()[2:]]

        assert "Processes by CPU" in table.plain
        assert names()[:3] == ["ollama", "pislm", "ollama"]  # runner 3xx %, app 2 %, serve 1 %
        await pilot.press("s")
        assert "Processes by memory" in table.plain
        assert names()[:3] == ["ollama", "chromium", "pislm"]  # 2.5G, 452M, 64M
        await pilot.press("s")
        assert "Processes by CPU" in table.plain

        await pilot.press("p")
        await wait_for(lambda: "PAUSED" in screen_text(app), pilot=pilot)
        frozen = app.query_one(CoreBars).plain
        hot.tick([5, 5, 5, 5])
        await app.monitor.sample_now()
        await pilot.pause()
        assert app.query_one(CoreBars).plain == frozen
        assert "5%" in strip_tip(app)  # the strip keeps going
        await pilot.press("p")
        await wait_for(lambda: "PAUSED" not in screen_text(app), pilot=pilot)
        assert app.query_one(CoreBars).plain != frozen


def strip_tip(app) -> str:
    return str(app.query_one(LiveStrip).tooltip)


async def test_machine_without_sensors_says_why(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    machine = Machine.copy("no_sensors", tmp_path)
    app = monitor_app(fake_ollama.url, machine)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_monitor(app, pilot)
        await play(app, pilot, machine, lambda s: [10, 20], lambda s: {}, seconds=2)
        text = screen_text(app)
        assert "Temp n/a — no thermal zones or hwmon sensors" in text
        assert "Fan  n/a — no fan" in text
        assert "Freq n/a — no cpufreq" in text
        assert "Throttling n/a — vcgencmd cannot open the firmware device" in text
        assert "Swp none" in text
        sensors = app.query_one("#mon-sensors")
        assert "usermod -aG video" in str(sensors.tooltip)  # the whole reason, on hover
        assert " n/a " in f" {strip_text(app)} "
        assert app.is_running


async def test_live_strip_fits_80_columns_and_repaints_only_on_change(
    fake_ollama: FakeOllama, hot: Machine
) -> None:
    app = monitor_app(fake_ollama.url, hot)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=30)
        strip = app.query_one(LiveStrip)
        assert strip.content.plain == "cpu · °C · ram"  # headless: idle until fed
        sampler = app.monitor.sampler
        sampler.prime()
        hot.tick([96, 97, 98, 99])
        await app.monitor.sample_now()
        await pilot.pause()
        assert strip.content.plain == "████ 83°C 3.3G/7.9G"
        first_line = screen_text(app).splitlines()[0]
        assert "████ 83°C 3.3G/7.9G" in first_line and "llama3.2:1b" in first_line
        assert strip.region.width <= 21
        shown = strip.content
        # Small moves (a core 96 -> 98 %, the sensor 83.15 -> 83.5 °C) leave the picture alone.
        hot.write("sys/class/thermal/thermal_zone0/temp", "83500\n")
        hot.tick([98, 97, 97, 99])
        await app.monitor.sample_now()
        await pilot.pause()
        assert strip.content is shown
        # A real change does repaint.
        hot.write("sys/class/thermal/thermal_zone0/temp", "86000\n")
        hot.tick([10, 97, 97, 99])
        await app.monitor.sample_now()
        await pilot.pause()
        assert strip.content.plain == "▁███ 86°C 3.3G/7.9G"


async def test_cool_strip_and_colours_follow_the_pi5_steps(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    app = monitor_app(fake_ollama.url, machine)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_monitor(app, pilot)
        await play(app, pilot, machine, cool_busy, cool_processes, seconds=2)
        assert strip_text(app) == "▁▁▁▁ 45°C 1.1G/7.9G"
        spans = {str(span.style) for span in app.query_one(LiveStrip).content.spans}
        assert "$success" in spans  # below 50 °C: fan off, "ok" colour
        assert "cool, fan off" in screen_text(app)
        assert "no model in memory" in screen_text(app)


async def test_rates_follow_the_visible_tab(fake_ollama: FakeOllama, hot: Machine) -> None:
    app = monitor_app(fake_ollama.url, hot, interval=0.5)
    app.monitor.manual = False
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=30)
        assert not app.monitor.running  # headless: nothing runs until asked
        app.monitor.start_strip(force=True)
        assert app.monitor.interval == 1.0 and app.monitor.running  # the strip: 1 Hz
        await open_monitor(app, pilot, connected=False)
        assert app.monitor.interval == 0.5  # the tab: monitor.interval
        before = app.monitor_sample
        await wait_for(
            lambda: app.monitor_sample is not before, pilot=pilot, what="a timed reading"
        )
        app.show_tab("chat")
        await wait_for(lambda: not app.monitor.monitor_visible, pilot=pilot)
        assert app.monitor.interval == 1.0
        await wait_for(
            lambda: app.monitor_sample is not None and not app.monitor_sample.detail, pilot=pilot
        )


async def test_strip_is_slower_over_ssh_and_off_when_disabled(
    fake_ollama: FakeOllama, hot: Machine
) -> None:
    app = monitor_app(fake_ollama.url, hot, ssh=True)
    async with app.run_test(size=(80, 24)) as pilot:
        app.monitor.start_strip(force=True)
        assert app.monitor.interval == 2.0
    app = monitor_app(fake_ollama.url, hot, show_strip=False)
    app.monitor.manual = False
    async with app.run_test(size=(80, 24)) as pilot:
        app.monitor.start_strip(force=True)
        assert app.monitor.interval is None and not app.monitor.running
        assert not app.query_one(LiveStrip).display
        await open_monitor(app, pilot)
        assert app.monitor.running  # the tab still samples while shown
        app.show_tab("chat")
        await wait_for(lambda: not app.monitor.running, pilot=pilot)


async def test_ollama_on_another_machine_is_pointed_out(tmp_path: Path) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    app = monitor_app("http://pi.invalid:11434", machine)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_monitor(app, pilot, connected=False)
        await play(app, pilot, machine, cool_busy, cool_processes, seconds=1)
        text = screen_text(app)
        assert "Ollama runs on pi.invalid: these figures are this machine's" in text
        await wait_for(lambda: "cannot reach Ollama" in screen_text(app), pilot=pilot, timeout=20)


async def test_runner_is_marked(fake_ollama: FakeOllama, hot: Machine) -> None:
    app = monitor_app(fake_ollama.url, hot)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_monitor(app, pilot)
        await play(app, pilot, hot, hot_busy, hot_processes, seconds=2)
        table = app.query_one(ProcessTable)
        runner_line = next(line for line in table.lines if line[0][0].strip() == str(RUNNER_PID))
        assert runner_line[1][0].strip() == "ollama runner" and runner_line[1][1] == "accent-bold"


async def test_readings_stop_while_the_tab_is_hidden_and_resume_when_back(
    fake_ollama: FakeOllama, hot: Machine
) -> None:
    """The tab follows the app's active tab (Show/Hide events do not always arrive): hidden, its
    timer stops and the sampler takes no reading; shown again, readings go on at the tab's rate."""
    interval = 0.2
    app = monitor_app(fake_ollama.url, hot, interval=interval, show_strip=False)
    app.monitor.manual = False
    readings: list[object] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.watch(app, "monitor_sample", lambda sample: readings.append(sample), init=False)
        await open_monitor(app, pilot)
        assert app.monitor.running
        start = len(readings)
        await wait_for(lambda: len(readings) >= start + 3, pilot=pilot, what="timed readings")

        app.show_tab("chat")
        await wait_for(lambda: not app.monitor.running, pilot=pilot, what="the timer stopped")
        assert not app.monitor.monitor_visible
        hidden = len(readings)
        # Let five of the tab's intervals go by (a timer of the app's own is the condition).
        elapsed: list[bool] = []
        app.set_timer(5 * interval, lambda: elapsed.append(True))
        await wait_for(lambda: elapsed, pilot=pilot, what="five intervals")
        assert len(readings) == hidden

        app.show_tab("monitor")
        await wait_for(lambda: app.monitor.running, pilot=pilot, what="the timer again")
        await wait_for(lambda: len(readings) >= hidden + 3, pilot=pilot, what="readings again")
        assert app.monitor.monitor_visible


async def test_live_strip_rests_over_ssh_while_idle_and_any_key_wakes_it(
    fake_ollama: FakeOllama, hot: Machine
) -> None:
    """Over SSH an idle app reads nothing and sends nothing: the strip keeps its figures,
    dimmed; a key brings it back; a running reply keeps it awake."""
    app = monitor_app(fake_ollama.url, hot, ssh=True, strip_rest_after=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=30)
        strip = app.query_one(LiveStrip)
        app.monitor.sampler.prime()
        hot.tick([96, 97, 98, 99])
        await app.monitor.tick()  # the user has just started: a reading
        assert strip.content.plain == "████ 83°C 3.3G/7.9G"
        assert not strip.has_class("-resting")

        app.last_input -= 31  # half a minute without a key
        hot.tick([10, 10, 10, 10])
        await app.monitor.tick()
        await pilot.pause()
        assert app.strip_resting and strip.has_class("-resting")
        assert strip.content.plain == "████ 83°C 3.3G/7.9G"  # held: nothing was read
        assert app.watcher is not None and app.watcher.interval == 60  # the server less often

        await pilot.press("x")  # any key
        await wait_for(lambda: not strip.has_class("-resting"), pilot=pilot)
        assert not app.strip_resting
        assert app.watcher.interval == app.settings.health_interval
        await app.monitor.tick()  # (with a timer, the key itself asks for a reading)
        await pilot.pause()
        assert strip.content.plain.startswith("▁▁▁▁")


async def test_live_strip_stays_awake_while_a_reply_streams_and_off_ssh(
    fake_ollama: FakeOllama, hot: Machine
) -> None:
    from tests.fake_ollama import Reply

    app = monitor_app(fake_ollama.url, hot, ssh=True, strip_rest_after=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=30)
        await wait_for(
            lambda: app.focused is not None and app.focused.id == "chat-prompt", pilot=pilot
        )
        fake_ollama.script(Reply(n_tokens=400, rate=50))
        await pilot.press(*"hello", "enter")
        await wait_for(app.busy, pilot=pilot)
        app.last_input -= 31
        assert not app.monitor.should_rest()  # a reply is streaming
        await pilot.press("escape")
        await wait_for(lambda: not app.busy(), pilot=pilot)
        app.last_input -= 31
        assert app.monitor.should_rest()
    local = monitor_app(fake_ollama.url, hot, ssh=False, strip_rest_after=30)
    async with local.run_test(size=(80, 24)) as pilot:
        local.last_input -= 31
        assert not local.monitor.should_rest()  # a local terminal: bytes cost nothing
