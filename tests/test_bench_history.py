"""The bench with the machine's conditions (a recorded Pi 5 through the real sampler, the test
server answering) and the bench history in SQLite: comparisons with earlier runs, throttled
runs left out, the fastest model picked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.models.bench import BenchRunner
from pislm_tui.models.bench_history import (
    AsyncBenchHistory,
    BenchHistory,
    PastRun,
    compare,
    pick_fastest,
)
from pislm_tui.models.bench_results import SUMMARY_HEADER, csv_rows, summary_rows
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.recording import Machine


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = OllamaBackend(fake_ollama.url, read_timeout=10)
    yield b
    await b.aclose()


def at(day: int) -> datetime:
    return datetime(2026, 12, 1, 9, tzinfo=UTC) + timedelta(days=day)


async def bench(backend: OllamaBackend, machine: Machine, *, day: int = 0, runs: int = 2):
    async with machine.sampler() as sampler:
        runner = BenchRunner(
            backend, ["llama3.2:1b"], "hi", runs, sampler=sampler, now=lambda: at(day)
        )
        return await runner.run()


async def test_a_cool_pi_bench_has_its_conditions(backend: OllamaBackend, tmp_path: Path) -> None:
    result = await bench(backend, Machine.copy("pi5_cool", tmp_path))
    m = result.models[0]
    assert len(m.conditions) == len(m.runs) == 2
    assert m.throttled_runs == 0
    assert m.peak_temp_c is not None and m.peak_temp_c < 60
    assert m.min_arm_mhz == pytest.approx(1500.00128)
    row = dict(zip(SUMMARY_HEADER, summary_rows(result)[0], strict=True))
    assert row["Throttled"] == "no" and not row["Eval t/s"].endswith("!")
    assert row["Low MHz"] == "1500"
    # The recorded machine's clock does not move during a run: no energy figure, and why
    assert m.joules_per_token is None
    assert m.energy_why == "no time passed between the start and the end"
    assert csv_rows(result)[0]["throttled_runs"] == 0


async def test_a_throttled_bench_is_marked(backend: OllamaBackend, tmp_path: Path) -> None:
    result = await bench(backend, Machine.copy("pi5_hot", tmp_path))
    m = result.models[0]
    assert m.throttled_runs == 2
    row = dict(zip(SUMMARY_HEADER, summary_rows(result)[0], strict=True))
    assert row["Throttled"] == "YES 2/2" and row["Eval t/s"].endswith("!")
    assert row["Peak °C"] == "83"
    data = m.to_json()
    assert data["throttled_runs"] == 2
    assert data["run_conditions"][0]["throttled"] is True


async def test_no_pi_no_conditions_but_a_reason(backend: OllamaBackend, tmp_path: Path) -> None:
    result = await bench(backend, Machine.copy("no_sensors", tmp_path), runs=1)
    m = result.models[0]
    row = dict(zip(SUMMARY_HEADER, summary_rows(result)[0], strict=True))
    assert (row["Peak °C"], row["Throttled"], row["J/tok"]) == ("n/a", "n/a", "n/a")
    assert m.energy_why is not None and "video" in m.energy_why


def test_comparison_text() -> None:
    past = [PastRun("m", "x", r, False) for r in (9.1, 8.8, 9.0, 9.4, 8.7)]
    past.append(PastRun("m", "y", 4.0, True))
    c = compare("llama3.2:1b", 8.94, False, past)
    assert c.text() == (
        "llama3.2:1b: 8.9 tok/s today, 9.0 median of 5 earlier runs (1 throttled left out)"
    )
    assert compare("m", 5.0, True, []).text() == (
        "m: 5.0 tok/s today (throttled: not comparable), no earlier run to compare with"
    )


async def test_history_in_sqlite(backend: OllamaBackend, tmp_path: Path) -> None:
    path = tmp_path / "data" / "bench.db"
    history = AsyncBenchHistory(path)
    cool = Machine.copy("pi5_cool", tmp_path)
    first = await history.record(await bench(backend, cool, day=0))
    assert first[0].earlier_runs == 0
    await history.record(await bench(backend, Machine.copy("pi5_hot", tmp_path), day=1))
    third = await history.record(await bench(backend, cool, day=2))
    assert third[0].earlier_runs == 1 and third[0].left_out == 1
    medians = await history.medians(backend.url)
    await history.close()
    assert set(medians) == {"llama3.2:1b"}
    # another process (the CLI) reads the same file
    again = BenchHistory(path)
    rows = again.db.execute("SELECT COUNT(*), SUM(throttled_runs > 0) FROM bench_runs").fetchone()
    again.close()
    assert rows == (3, 1)


def test_pick_fastest() -> None:
    medians = {"a": 9.0, "b": 12.5, "c": 20.0}
    assert pick_fastest(medians, ["a", "b", "d"]) == "b"  # c does not fit: not a candidate
    assert pick_fastest(medians, ["d"]) is None


async def test_the_bench_view_marks_a_throttled_run(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    from textual.widgets import DataTable, Input

    from pislm_tui.widgets.bench_panel import BenchPanel
    from tests.fixtures.monitor.driving import SLOW_START, monitor_app
    from tests.helpers import screen_text, wait_for
    from tests.test_models_tab import show_models

    machine = Machine.copy("pi5_hot", tmp_path)  # throttled now: 0x60006
    app = monitor_app(fake_ollama.url, machine, show_strip=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=SLOW_START)
        tab = await wait_for(lambda: show_models(app), pilot=pilot)
        await wait_for(lambda: tab.table.row_count == len(app.models), pilot=pilot)
        await pilot.press("b")
        panel = app.query_one(BenchPanel)
        await wait_for(lambda: len(panel.query_one("#bench-models").selected) == 1, pilot=pilot)
        panel.query_one("#bench-runs", Input).value = "1"
        await pilot.press("ctrl+r")
        await wait_for(lambda: panel.export is not None, pilot=pilot, timeout=30)
        table = panel.query_one("#bench-table", DataTable)
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[0] == "llama3.2:1b"
        assert row[3].endswith("!")  # the eval rate, marked: not comparable
        assert row[-2:] == ["YES 1/1", "n/a"]  # throttled runs; J/token (no time passed)
        assert row[-4] == "83"  # peak °C of the recorded hot Pi
        text = screen_text(app)
        assert "the Pi throttled during a run: that speed is not comparable" in text
        assert "llama3.2:1b: " in text and "(throttled: not comparable)" in text
