"""Snapshots of the Models tab at 80x24 and 120x40: the list with details (and a model in memory
with its time left), a pull in progress (bars per layer), and a finished bench with its chart.
Everything time-dependent is pinned: the tab's clock, the pull's clock, the fake's figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pislm_tui.tabs.models import ModelsTab
from pislm_tui.widgets.bench_panel import BenchPanel
from pislm_tui.widgets.pull_progress import PullPanel
from tests.fake_ollama import FakeOllama
from tests.fake_ollama import native as fake_native
from tests.fake_ollama.models import find
from tests.fake_ollama.server import NDJSON_TYPE, ClientGone, Exchange
from tests.fixtures.monitor.driving import monitor_app
from tests.fixtures.monitor.recording import Machine
from tests.helpers import tab_underlines_placed
from tests.test_models_tab import chat_settled, show_models, wait_for

SIZES = [(80, 24), (120, 40)]
EXPIRES = 4_102_444_800.0  # 2100-01-01 UTC: the fake never expires it before the snapshot
NOW = datetime.fromtimestamp(EXPIRES - 272, UTC)  # "4 minutes left"
BENCH_AT = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


async def open_tab(pilot: Any) -> ModelsTab:
    app = pilot.app
    await wait_for(lambda: app.models and chat_settled(app), pilot=pilot)
    tab: ModelsTab = await wait_for(lambda: show_models(app), pilot=pilot)
    tab.clock = lambda: NOW
    tab.refresh_loaded()
    await wait_for(lambda: tab.table.row_count == len(app.models), pilot=pilot)
    return tab


async def settle(pilot: Any) -> None:
    pilot.app.clear_notifications()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await wait_for(lambda: tab_underlines_placed(pilot.app), pilot=pilot, what="tab underlines")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_list_with_details(
    snap_compare: Any, snapshot_ollama: FakeOllama, tmp_path: Path, size: tuple[int, int]
) -> None:
    snapshot_ollama.loaded["llama3.2:1b"] = EXPIRES
    machine = Machine.copy("pi5_cool", tmp_path)  # the memory the fit verdict compares with

    async def run_before(pilot: Any) -> None:
        tab = await open_tab(pilot)
        tab.table.move_cursor(row=tab.table.get_row_index("llama3.2:3b"))
        await wait_for(lambda: "4 minutes left" in _text(pilot), pilot=pilot)
        await wait_for(
            lambda: "Capabilities" in _text(pilot) and "3.2B" in _text(pilot), pilot=pilot
        )
        await wait_for(lambda: "2025-05-03 09:12" in _text(pilot), pilot=pilot)
        await wait_for(lambda: "fits: ~" in _text(pilot), pilot=pilot)
        await settle(pilot)

    app = monitor_app(snapshot_ollama.url, machine, show_strip=False)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def _text(pilot: Any) -> str:
    from tests.helpers import screen_text

    return screen_text(pilot.app)


# -- a pull held half-way ------------------------------------------------------------------------


def held_pull(x: Exchange) -> None:
    """`/api/pull` that streams a fixed, realistic sequence for a 3-layer model (all layers
    announced, the weights half done, the small layers done) and then holds until the client
    goes away — a pull frozen mid-way, for a picture."""
    req = x.json_object("api.PullRequest")
    src = find(x.fake.registry, req.get("model") or "")
    assert src is not None
    (weights, w_size), (lic, l_size), (params, p_size) = src.layers()
    lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
    for digest, size in ((weights, w_size), (lic, l_size), (params, p_size)):
        lines.append({"status": f"pulling {digest[7:19]}", "digest": digest, "total": size})
    for k in range(1, 6):
        lines.append(
            {"status": f"pulling {weights[7:19]}", "digest": weights, "total": w_size,
             "completed": w_size * k // 8}
        )  # fmt: skip
        if k == 2:
            lines.append(
                {
                    "status": f"pulling {lic[7:19]}",
                    "digest": lic,
                    "total": l_size,
                    "completed": l_size,
                }
            )
    x.open_stream(NDJSON_TYPE)
    for line in lines:
        x.write_chunk(json.dumps(line).encode() + b"\n")
    while not x.peer_closed():
        x.sleep(0.02)
    raise ClientGone


class StepClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pull_in_progress(
    snap_compare: Any,
    snapshot_ollama: FakeOllama,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    monkeypatch.setitem(fake_native.ROUTES["/api/pull"], "POST", held_pull)
    machine = Machine.copy("pi5_cool", tmp_path)  # the memory the fit verdict compares with

    async def run_before(pilot: Any) -> None:
        tab = await open_tab(pilot)
        await wait_for(lambda: "Capabilities" in _text(pilot), pilot=pilot)
        tab.pull_clock = StepClock()
        await pilot.press("p")
        await wait_for(lambda: pilot.app.screen.id != "_default", pilot=pilot)
        await pilot.press(*"qwen2.5:0.5b", "enter")
        panel: PullPanel = await wait_for(
            lambda: next(iter(pilot.app.query(PullPanel)), None), pilot=pilot
        )
        await wait_for(lambda: panel.tracker.lines == 10, pilot=pilot)
        percent = panel.tracker.summary().split(" · ")[0]
        assert percent == "63%"
        await wait_for(lambda: percent in _text(pilot), pilot=pilot)
        await settle(pilot)

    app = monitor_app(snapshot_ollama.url, machine, show_strip=False)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- a finished bench ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_finished_bench(
    snap_compare: Any,
    snapshot_ollama: FakeOllama,
    isolated_home: Path,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    # The Pi: the recorded hot Pi 5 (throttled), read through the app's own sampler, so the
    # conditions columns (peak °C, lowest MHz, throttled runs marked, J/token) are the same on
    # every run.
    machine = Machine.copy("pi5_hot", tmp_path)

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        tab = await open_tab(pilot)
        await wait_for(lambda: "Capabilities" in _text(pilot), pilot=pilot)
        tab.table.move_cursor(row=tab.table.get_row_index("llama3.2:3b"))
        await wait_for(lambda: tab.selected() == "llama3.2:3b", pilot=pilot)
        await pilot.press("b")
        panel = app.query_one(BenchPanel)
        panel.clock = lambda: BENCH_AT
        panel.pick("phi3.5:latest")
        await wait_for(lambda: len(panel.query_one("#bench-models").selected) == 3, pilot=pilot)
        await pilot.press("ctrl+r")
        await wait_for(lambda: panel.export is not None, pilot=pilot)
        await wait_for(lambda: "Saved ~/" in _text(pilot), pilot=pilot)
        await settle(pilot)

    app = monitor_app(snapshot_ollama.url, machine, show_strip=False)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
