"""The Models tab's bench on every host: two test servers as `[hosts.pi5]` and `[hosts.jetson]`
and one host that is down. The same model and prompt run on each host, one after the other, and
one table shows a row per host; the host that is down says so and the others are measured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Checkbox

from pislm_tui.app import PislmApp
from pislm_tui.config import load_settings
from pislm_tui.widgets.bench_panel import BenchPanel
from tests.fake_ollama import FakeOllama
from tests.helpers import screen_text, wait_for
from tests.test_models_tab import show_models


@pytest.fixture
def second_ollama() -> Iterator[FakeOllama]:
    with FakeOllama().start() as server:
        yield server


def hosts_app(hosts: dict[str, Any]) -> PislmApp:
    loaded = load_settings(
        overrides={
            "host": "pi5",
            "hosts": hosts,
            "monitor": {"show_strip": False},
            "models": {"bench_runs": 1},
        }
    )
    return PislmApp(loaded)


def chats(server: FakeOllama) -> list[Any]:
    return [r for r in server.requests_to("/api/chat") if r.json.get("messages")]


async def open_bench(app: PislmApp, pilot: Any) -> BenchPanel:
    await wait_for(lambda: app.connection.connected and app.current_model, pilot=pilot)
    tab = await wait_for(lambda: show_models(app), pilot=pilot, timeout=20)
    await wait_for(lambda: tab.table.row_count == len(app.models), pilot=pilot)
    await pilot.press("b")
    panel = app.query_one(BenchPanel)
    await wait_for(lambda: panel.query_one("#bench-models").selected, pilot=pilot)
    return panel


async def test_one_host_has_no_every_host_box(fake_ollama: FakeOllama) -> None:
    app = hosts_app({"pi5": {"url": fake_ollama.url}})
    async with app.run_test(size=(100, 30)) as pilot:
        panel = await open_bench(app, pilot)
        assert not panel.query_one("#bench-hosts-row").display
        assert "on every host" not in screen_text(app)


async def test_the_same_model_on_every_host_in_one_table(
    fake_ollama: FakeOllama, second_ollama: FakeOllama
) -> None:
    hosts = {
        "pi5": {"url": fake_ollama.url},
        "jetson": {"url": second_ollama.url},
        "far": {"url": "http://127.0.0.1:9"},  # nothing listens there: down
    }
    app = hosts_app(hosts)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_bench(app, pilot)
        box = panel.query_one("#bench-hosts", Checkbox)
        assert panel.query_one("#bench-hosts-row").display
        assert str(box.label) == "on every host (3)"
        box.value = True
        await pilot.press("ctrl+r")
        await wait_for(
            lambda: panel.host_benches is not None and len(panel.host_benches) == 3,
            pilot=pilot,
            what="the bench on every host",
        )
        await wait_for(lambda: not panel.running, pilot=pilot, timeout=60, what="the bench end")

        # One host after the other: each server got its own warm-up and run.
        assert len(chats(fake_ollama)) == len(chats(second_ollama)) == 2
        rows = [row[0] for row in panel.host_table_rows()]
        assert rows == ["pi5 · llama3.2:1b", "jetson · llama3.2:1b", "far · —"]  # config order
        text = screen_text(app)
        assert "jetson · llama3.2:1b" in text and "pi5 · llama3.2:1b" in text
        assert "down" in text  # the host that is down has its row, and says so
        assert "Finished with errors — far:" in text
        # Each measured host's results are saved, and whose machine gave the conditions.
        assert "jetson: conditions" in text and "pi5: conditions" in text
        assert text.count("saved bench-") == 2
        assert app.is_running

        # Unticked, the bench is this host's alone again.
        box.value = False
        await pilot.press("ctrl+r")
        await wait_for(lambda: panel.host_benches is None, pilot=pilot)
        await wait_for(lambda: not panel.running, pilot=pilot, timeout=60)
        assert len(chats(fake_ollama)) == 4 and len(chats(second_ollama)) == 2
        assert "jetson · llama3.2:1b" not in screen_text(app)
