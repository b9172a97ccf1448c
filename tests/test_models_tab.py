"""The Models tab driven like a user (Textual pilot) against the fake server: list and details,
pull (success, failure, cancel), delete (confirm, missing model), load/unload with the memory
check, the bench (run, cancel, validation) and the reusable PullPanel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, SelectionList, TabbedContent

from pislm_tui.app import PislmApp
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.screens.dialog import ConfirmScreen
from pislm_tui.screens.models_pull import PullNameScreen
from pislm_tui.tabs.models import ModelsTab
from pislm_tui.widgets.bench_panel import BenchPanel
from pislm_tui.widgets.pull_progress import PullPanel
from tests.fake_ollama import FakeModel, FakeOllama, Reply
from tests.helpers import patient, screen_text

MakeApp = Callable[..., PislmApp]


wait_for = patient(30.0)


def app_for(make_app: MakeApp, **overrides: Any) -> PislmApp:
    overrides.setdefault("monitor", {"show_strip": False})
    return make_app(**overrides)


def show_models(app: PislmApp) -> ModelsTab | None:
    """Switch to the Models tab (again if needed: the Chat tab takes the focus, and with it the
    screen, when it finishes loading at start-up) and return it once it is mounted and shown."""
    if app.query_one("#tabs", TabbedContent).active != "models":
        app.show_tab("models")
        return None
    tab = next(iter(app.query(ModelsTab)), None)
    return tab if tab is not None and tab.built else None


def chat_settled(app: PislmApp) -> bool:
    """The Chat tab (shown at start) has finished mounting; it focuses its prompt at the end,
    which would switch the screen back to it."""
    chats = list(app.query("ChatTab"))
    return bool(chats) and all(w.is_mounted for w in chats)


async def open_models(app: PislmApp, pilot: Any) -> ModelsTab:
    await wait_for(lambda: app.models and chat_settled(app), pilot=pilot, what="the app's start")
    tab: ModelsTab = await wait_for(lambda: show_models(app), pilot=pilot, what="the Models tab")
    await wait_for(lambda: tab.table.row_count == len(app.models), pilot=pilot, what="rows")
    # The tab focuses its table once shown; until that focus has landed, switching away would
    # be undone by it.
    await wait_for(lambda: app.focused is tab.table, pilot=pilot, what="the table's focus")
    await pilot.pause()
    return tab


def notes(app: App) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def select(tab: ModelsTab, pilot: Any, name: str) -> None:
    tab.table.focus()
    tab.table.move_cursor(row=tab.table.get_row_index(name))
    await wait_for(lambda: tab.selected() == name, pilot=pilot)


# -- list and details ---------------------------------------------------------------------------


async def test_list_shows_installed_models_and_details(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        table = tab.table
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert names == [m.name for m in app.models]  # newest first, as the server lists them
        row = [str(c) for c in table.get_row("gemma2:2b")]
        assert row[1:] == ["gemma2:2b", "1.6 GB", "gemma2", "2.6B", "Q4_0", "2025-04-28"]
        await wait_for(lambda: "131,072 tokens" in screen_text(app), pilot=pilot)
        assert tab.selected() == "llama3.2:1b"
        await select(tab, pilot, "llava-phi3:3.8b")
        await wait_for(lambda: "4,096 tokens" in screen_text(app), pilot=pilot)
        text = screen_text(app)
        assert "vision" in text and "completion" in text
        shows = len(fake_ollama.requests_to("/api/show"))
        await select(tab, pilot, "llama3.2:1b")
        await wait_for(lambda: "131,072 tokens" in screen_text(app), pilot=pilot)
        await pilot.pause(0.2)
        assert len(fake_ollama.requests_to("/api/show")) == shows  # cached, not asked again


async def test_details_scroll_to_parameters_template_license(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        await select(tab, pilot, "gemma2:2b")
        pane = app.query_one("#models-details")
        # gemma2:2b's own details (the previous row's stay until the highlight arrives)
        await wait_for(
            lambda: "Gemma Terms" in str(pane.query_one("#details-body").render()), pilot=pilot
        )
        pane.focus()
        await wait_for(lambda: app.focused is pane, pilot=pilot, what="the details' focus")
        await pilot.press("end")
        await wait_for(lambda: "Gemma Terms of Use" in screen_text(app), pilot=pilot)
        assert "<start_of_turn>user" in screen_text(app)  # the template, as text


async def test_details_are_data_not_markup(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    fake_ollama.add_model(
        FakeModel(
            "evil:1b",
            1_000_000,
            license="[bold red]MIT[/] \x1b]0;pwned\x07\x1b[31mred",
            template="{{ .Prompt }} [link=x]y[/link]",
        )
    )
    app = app_for(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        tab = await open_models(app, pilot)
        await select(tab, pilot, "evil:1b")
        await wait_for(lambda: "[bold red]MIT[/]" in screen_text(app), pilot=pilot)
        text = screen_text(app)
        assert "pwned" not in text and "\x1b" not in text and "[link=x]y[/link]" in text


async def test_no_models_installed(make_app: MakeApp) -> None:
    with FakeOllama(models=[]).start() as empty:
        app = app_for(make_app, host=empty.url)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.connection.connected, pilot=pilot)
            await wait_for(lambda: show_models(app) or "Press p" in screen_text(app), pilot=pilot)
            await wait_for(lambda: "Press p to pull one" in screen_text(app), pilot=pilot)


async def test_wide_layout_puts_details_beside_the_list(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        tab = await open_models(app, pilot)
        assert tab.screen.has_class("-wide")  # App.HORIZONTAL_BREAKPOINTS
        details = app.query_one("#models-details")
        await wait_for(lambda: details.region.x > 60, pilot=pilot, what="details on the right")
        assert details.region.y == tab.table.region.y
        await pilot.resize_terminal(80, 24)
        await wait_for(lambda: not tab.screen.has_class("-wide"), pilot=pilot)
        await wait_for(lambda: details.region.y > tab.table.region.y, pilot=pilot, what="below")


# -- pull ---------------------------------------------------------------------------------------


async def start_pull(app: PislmApp, pilot: Any, name: str) -> None:
    await pilot.press("p")
    await wait_for(lambda: isinstance(app.screen, PullNameScreen), pilot=pilot)
    await pilot.press(*name, "enter")


async def pull_panel(app: PislmApp, pilot: Any) -> PullPanel:
    return await wait_for(lambda: next(iter(app.query(PullPanel)), None), pilot=pilot)


async def test_pull_success_refreshes_the_list(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_delay = 0.02
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        await start_pull(app, pilot, "tinyllama")
        await wait_for(lambda: "tinyllama:latest" in app.model_names(), pilot=pilot, timeout=15)
        await wait_for(lambda: not app.query(PullPanel), pilot=pilot)
        assert any("Pulled tinyllama" in n for n in notes(app))
        await wait_for(lambda: tab.selected() == "tinyllama:latest", pilot=pilot)
        assert "tinyllama:latest" in fake_ollama.models


async def test_pull_dialog_rejects_bad_names_and_cancels(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        await pilot.press("p")
        await wait_for(lambda: isinstance(app.screen, PullNameScreen), pilot=pilot)
        await pilot.press(*"two words", "enter")
        await wait_for(lambda: "not a model name" in screen_text(app), pilot=pilot)
        assert isinstance(app.screen, PullNameScreen)
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, PullNameScreen), pilot=pilot)
        assert not app.query(PullPanel)


async def test_pull_failure_shows_the_servers_message(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        await start_pull(app, pilot, "nosuch:7b")
        panel = await pull_panel(app, pilot)
        await wait_for(lambda: panel.tracker.state == "failed", pilot=pilot)
        await wait_for(lambda: "file does not exist" in screen_text(app), pilot=pilot)
        assert "Pull failed: nosuch:7b" in screen_text(app)
        assert panel.has_class("-failed") and panel.is_attached  # stays until closed
        await pilot.press("escape")  # closes the finished panel
        await wait_for(lambda: not app.query(PullPanel), pilot=pilot)


async def test_pull_cancel_stops_the_download(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_delay = 0.3
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_models(app, pilot)
        await start_pull(app, pilot, "tinyllama")
        panel = await pull_panel(app, pilot)
        await wait_for(lambda: panel.tracker.layers, pilot=pilot, what="a layer")
        await wait_for(lambda: "pulling manifest" not in screen_text(app), pilot=pilot)
        assert "Cancel" in screen_text(app)
        await pilot.press("escape")
        await wait_for(lambda: not app.query(PullPanel), pilot=pilot)
        assert any("Pull of tinyllama cancelled" in n for n in notes(app))
        assert fake_ollama.wait_for(lambda: "/api/pull" in fake_ollama.disconnects)
        assert "tinyllama:latest" not in fake_ollama.models


class PanelHost(App[None]):
    """A bare app hosting one PullPanel, as another tab (RAG) would."""

    def __init__(self, backend: OllamaBackend, name: str) -> None:
        super().__init__()
        self.backend = backend
        self.model = name
        self.finished: list[PullPanel.Finished] = []

    def compose(self) -> ComposeResult:
        yield PullPanel(self.model, backend=self.backend)

    def on_pull_panel_finished(self, event: PullPanel.Finished) -> None:
        self.finished.append(event)


async def test_pull_panel_is_reusable(fake_ollama: FakeOllama) -> None:
    backend = OllamaBackend(fake_ollama.url)
    try:
        host = PanelHost(backend, "all-minilm")
        async with host.run_test(size=(80, 12)) as pilot:
            await wait_for(lambda: host.finished, pilot=pilot, timeout=15)
            done = host.finished[0]
            assert done.ok and done.error is None and not done.cancelled
            assert done.model == "all-minilm"
            panel = host.query_one(PullPanel)
            assert "Pulled all-minilm" in screen_text(host)
            assert len(panel.tracker.layers) == 2  # an embedding model: weights + params
            await pilot.click("#pull-button")  # now "Close"
            await wait_for(lambda: not host.query(PullPanel), pilot=pilot)
        host = PanelHost(backend, "nosuch")
        async with host.run_test(size=(80, 12)) as pilot:
            await wait_for(lambda: host.finished, pilot=pilot)
            failed = host.finished[0]
            assert not failed.ok and failed.error is not None and not failed.cancelled
            assert failed.error.exit_code == 4
    finally:
        await backend.aclose()


# -- delete -------------------------------------------------------------------------------------


async def test_delete_asks_first(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        await select(tab, pilot, "gemma2:2b")
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        assert "Delete gemma2:2b?" in screen_text(app) and "1.6 GB" in screen_text(app)
        await pilot.press("enter")  # the focused button is Cancel: Enter must not delete
        await wait_for(lambda: not isinstance(app.screen, ConfirmScreen), pilot=pilot)
        assert "gemma2:2b" in fake_ollama.models and not fake_ollama.requests_to("/api/delete")
        await pilot.press("delete")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        await pilot.click("#confirm-yes")
        await wait_for(lambda: "gemma2:2b" not in app.model_names(), pilot=pilot)
        assert "gemma2:2b" not in fake_ollama.models
        assert any("Deleted gemma2:2b" in n for n in notes(app))
        assert not tab.table.get_row_index("llama3.2:1b") < 0
        # Deleting the chat model: the app falls back to another installed one.
        assert app.current_model == "llama3.2:1b"
        await select(tab, pilot, "llama3.2:1b")
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: "llama3.2:1b" not in app.model_names(), pilot=pilot)
        await wait_for(lambda: app.current_model == "llama3.2:3b", pilot=pilot)


async def test_delete_of_a_model_already_gone(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        await select(tab, pilot, "phi3.5:latest")
        fake_ollama.remove_model("phi3.5:latest")  # deleted elsewhere (`ollama rm` on the Pi)
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: any("not installed" in n for n in notes(app)), pilot=pilot)
        await wait_for(lambda: "phi3.5:latest" not in app.model_names(), pilot=pilot)
        assert app.is_running


# -- load / unload / memory ---------------------------------------------------------------------


async def test_load_and_unload(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        tab.memory_probe = lambda: 64_000_000_000
        await select(tab, pilot, "llama3.2:1b")
        await wait_for(lambda: "nothing loaded" in screen_text(app), pilot=pilot)
        await pilot.press("l")
        await wait_for(lambda: "llama3.2:1b" in fake_ollama.loaded, pilot=pilot)
        await wait_for(lambda: "● llama3.2:1b · 1.3 GB · 100% CPU" in screen_text(app), pilot=pilot)
        assert str(tab.table.get_row("llama3.2:1b")[0]) == "●"
        assert "minutes left" in screen_text(app)
        await pilot.press("u")
        await wait_for(lambda: "llama3.2:1b" not in fake_ollama.loaded, pilot=pilot)
        await wait_for(lambda: "nothing loaded" in screen_text(app), pilot=pilot)
        assert str(tab.table.get_row("llama3.2:1b")[0]) == " "
        await pilot.press("u")
        await wait_for(lambda: any("is not in memory" in n for n in notes(app)), pilot=pilot)


async def test_memory_warning_before_a_big_load(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        tab.memory_probe = lambda: 1_500_000_000  # a busy 4 GB Pi
        await select(tab, pilot, "phi3.5:latest")
        await pilot.press("l")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        text = screen_text(app)
        assert "Not enough free memory" in text and "2.2 GB" in text and "1.5 GB" in text
        await pilot.press("n")
        await wait_for(lambda: not isinstance(app.screen, ConfirmScreen), pilot=pilot)
        await pilot.pause(0.1)
        assert "phi3.5:latest" not in fake_ollama.loaded
        await pilot.press("l")
        await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: "phi3.5:latest" in fake_ollama.loaded, pilot=pilot)
        # A small model needs no question.
        await select(tab, pilot, "nomic-embed-text:latest")
        await pilot.press("l")
        await wait_for(lambda: "nomic-embed-text:latest" in fake_ollama.loaded, pilot=pilot)
        assert not isinstance(app.screen, ConfirmScreen)


async def test_time_left_follows_the_clock(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    expires = 4_102_444_800.0  # 2100-01-01: far enough that the fake never expires it
    fake_ollama.loaded["gemma2:2b"] = expires
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        tab.clock = lambda: datetime.fromtimestamp(expires - 272, UTC)
        tab.refresh_loaded()
        await wait_for(lambda: "4 minutes left" in screen_text(app), pilot=pilot)
        tab.clock = lambda: datetime.fromtimestamp(expires - 3000, UTC)
        tab.refresh_loaded()
        await wait_for(lambda: "50 minutes left" in screen_text(app), pilot=pilot)


async def test_actions_with_the_server_down(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        tab.memory_probe = lambda: 64_000_000_000
        fake_ollama.stop()
        await pilot.press("l")
        await wait_for(lambda: any("cannot reach" in n for n in notes(app)), pilot=pilot)
        await pilot.press("u")  # not loaded: a hint, no request
        assert app.is_running and tab.table.row_count == 7  # what was listed stays


async def test_chat_with_sets_the_current_model(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        await select(tab, pilot, "qwen3:1.7b")
        await pilot.press("c")
        await wait_for(lambda: app.current_model == "qwen3:1.7b", pilot=pilot)


# -- bench --------------------------------------------------------------------------------------


async def open_bench(app: PislmApp, pilot: Any, tab: ModelsTab, model: str) -> BenchPanel:
    await select(tab, pilot, model)
    await pilot.press("b")
    await wait_for(
        lambda: app.query_one("#models-views", TabbedContent).active == "models-bench", pilot=pilot
    )
    return app.query_one(BenchPanel)


async def test_bench_runs_in_the_background_and_exports(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        tab = await open_models(app, pilot)
        panel = await open_bench(app, pilot, tab, "gemma2:2b")
        picker = panel.query_one("#bench-models", SelectionList)
        assert set(picker.selected) == {"gemma2:2b", "llama3.2:1b"}  # + the chat model
        names = [picker.get_option_at_index(i).value for i in range(picker.option_count)]
        assert "nomic-embed-text:latest" not in names  # cannot chat: not offered
        runs = panel.query_one("#bench-runs", Input)
        runs.value = "2"
        await pilot.press("ctrl+r")
        await wait_for(lambda: panel.result and panel.result.finished, pilot=pilot, timeout=20)
        await wait_for(lambda: not panel.running, pilot=pilot)
        result = panel.result
        assert result is not None and [m.model for m in result.models] == [
            "llama3.2:1b",
            "gemma2:2b",
        ]
        for bench in result.models:
            log = [e for e in fake_ollama.stats_log if e["model"] == bench.model]
            rates = sorted(e["eval_count"] * 1e9 / e["eval_duration"] for e in log[1:])
            assert bench.eval_rate is not None
            assert (bench.eval_rate.min, bench.eval_rate.max) == pytest.approx(
                (rates[0], rates[-1])
            )
        text = screen_text(app)
        assert "Finished: 2 model(s) × 2 run(s)" in text
        chart = [b.label for b in panel.query_one("#bench-chart").bars]  # type: ignore[attr-defined]
        assert chart == ["llama3.2:1b", "gemma2:2b"]
        assert panel.export is not None and panel.export.csv.exists() and panel.export.json.exists()
        assert panel.export.csv.parent == app.paths.bench_dir
        assert "Saved ~/.local/share/pislm/bench/bench-" in text
        assert app.settings.models.bench_runs == 2  # remembered
        assert "bench_runs = 2" in app.loaded.config_file.read_text()
        table = panel.query_one("#bench-table", DataTable)
        assert table.row_count == 2


async def test_bench_cancel(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(
        Reply(text="Paris.", model="llama3.2:1b"),
        Reply(text="slow " * 200, rate=20, model="llama3.2:1b"),
    )
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        panel = await open_bench(app, pilot, tab, "llama3.2:1b")
        await pilot.press("ctrl+r")
        await wait_for(lambda: len(fake_ollama.requests_to("/api/chat")) == 3, pilot=pilot)
        assert panel.running
        await pilot.press("escape")
        await wait_for(lambda: not panel.running, pilot=pilot)
        assert panel.result is not None and panel.result.cancelled
        assert "Cancelled" in screen_text(app) and panel.export is None
        assert fake_ollama.wait_for(lambda: "/api/chat" in fake_ollama.disconnects)
        assert not list(app.paths.bench_dir.glob("*.csv")) if app.paths.bench_dir.exists() else True


async def test_bench_form_is_checked(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        panel = await open_bench(app, pilot, tab, "llama3.2:1b")
        panel.query_one("#bench-models", SelectionList).deselect_all()
        await pilot.press("ctrl+r")
        await wait_for(lambda: any("Pick at least one model" in n for n in notes(app)), pilot=pilot)
        panel.query_one("#bench-models", SelectionList).select("llama3.2:1b")
        panel.query_one("#bench-runs", Input).value = "0"
        await pilot.press("ctrl+r")
        await wait_for(lambda: any("Runs must be a number" in n for n in notes(app)), pilot=pilot)
        assert not fake_ollama.requests_to("/api/chat") and not panel.running


async def test_installed_keys_do_nothing_in_the_bench_view(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        await open_bench(app, pilot, tab, "llama3.2:1b")
        app.query_one("#bench-models").focus()
        await pilot.press("d")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ConfirmScreen)
        assert tab.check_action("delete", ()) is False


async def test_ps_timer_pauses_when_hidden(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    app = app_for(make_app, models={"refresh_interval": 2})
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        assert tab._timer is not None and tab._timer._active.is_set()
        app.show_tab("chat")
        await wait_for(lambda: not tab._timer._active.is_set(), pilot=pilot)  # type: ignore[union-attr]
        before = len(fake_ollama.requests_to("/api/ps"))
        app.show_tab("models")
        await wait_for(lambda: tab._timer._active.is_set(), pilot=pilot)  # type: ignore[union-attr]
        await wait_for(lambda: len(fake_ollama.requests_to("/api/ps")) > before, pilot=pilot)
