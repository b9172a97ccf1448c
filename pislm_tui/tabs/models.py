"""The Models tab: installed models with details, pull with per-layer progress, delete, load and
unload with a memory check, the models in memory, and a bench to compare speeds. Built on first
show (nothing at app start-up); `ollama ps` is re-read every few seconds only while it shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError, Unsupported
from pislm_tui.backend.types import LoadedModel, ModelInfo
from pislm_tui.models.listing import (
    chat_model_names,
    find_model,
    is_loaded,
    short_date,
)
from pislm_tui.sizes import decimal_bytes
from pislm_tui.tabs.models_actions import ModelsActions
from pislm_tui.tabs.models_fit import ModelsFitMixin
from pislm_tui.widgets.wait_clock import WaitClock

# The app imports this module at start-up; the tab's widgets, dialogs and the bench (statistics,
# csv) are imported when the tab is first built or used, so start-up does not pay for them.
if TYPE_CHECKING:
    from pislm_tui.models.memory import MemoryProbe
    from pislm_tui.widgets.bench_panel import BenchPanel
    from pislm_tui.widgets.loaded_models import LoadedModels
    from pislm_tui.widgets.model_details import ModelDetailsPane
    from pislm_tui.widgets.pull_progress import PullPanel

DETAILS_DEBOUNCE = 0.12  # s: arrowing through the list does not fire a request per row
INSTALLED_ACTIONS = {
    "pull", "delete", "load", "unload", "chat", "bench", "refresh", "cancel_pull", "cancel_load",
}  # fmt: skip
_COLUMNS = ("", "Name", "Size", "Family", "Params", "Quant", "Modified")


class ModelsTab(AppAccess, ModelsActions, ModelsFitMixin, Widget):
    # Unscoped: the wide layout follows the screen's breakpoint class (App.HORIZONTAL_BREAKPOINTS:
    # -wide from 118 columns, where the details pane fits beside the list).
    SCOPED_CSS = False
    DEFAULT_CSS = """
    ModelsTab {
        height: 1fr;
        #models-views { height: 1fr; }
        #models-split { height: 1fr; layout: vertical; }
        #models-left { height: auto; }
        #models-table { height: auto; max-height: 10; }
        #models-empty { height: auto; padding: 1 2; color: $text-muted; display: none; }
        &.-no-models #models-empty { display: block; }
        &.-no-models #models-table { display: none; }
        #models-pulls { height: auto; }
        #models-details { height: 1fr; min-height: 5; }
    }
    Screen.-wide ModelsTab {
        #models-split { layout: horizontal; }
        #models-left { width: 80; height: 1fr; }
        #models-table { max-height: 24; }
        #models-details { width: 1fr; min-width: 40; height: 1fr; }
    }
    """
    BINDINGS = [
        Binding("p", "pull", "Pull", id="models.pull"),
        Binding("d,delete", "delete", "Delete", id="models.delete"),
        Binding("l", "load", "Load", id="models.load"),
        Binding("u", "unload", "Unload", id="models.unload"),
        Binding("b", "bench", "Bench", id="models.bench"),
        Binding("i", "installed", "Installed", id="models.installed"),
        Binding("c", "chat", "Chat with", show=False, id="models.use"),
        Binding("r", "refresh", "Refresh", show=False, id="models.refresh"),
        Binding("escape", "cancel_pull", "Stop/close pull", id="models.cancel_pull"),
        Binding("escape", "cancel_load", "Stop loading", id="models.cancel_load"),
    ]
    # State the keys depend on (see check_action): the footer follows it by itself.
    view: var[str] = var("models-installed", bindings=True)  # the inner view: list or bench
    loading_model: var[str | None] = var(None, bindings=True)  # the model a running load is for
    pulls: var[int] = var(0, bindings=True)  # pull panels on screen (Esc stops/closes one)
    no_models: var[bool] = var(False, toggle_class="-no-models")

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ):
        super().__init__(name=name, id=id, classes=classes)
        # Injectable for tests and snapshots: the clock for "time left", RAM, the pull clock.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.memory_probe: MemoryProbe | None = None  # None: psutil's available RAM
        self.pull_clock: Callable[[], float] = time.monotonic
        self.built = False
        self.loaded: list[LoadedModel] = []
        self._busy = ""
        self._select_after: str | None = None
        self._timer: Timer | None = None
        # How long the load has taken, in the busy line (a big model takes minutes on a Pi).
        self.load_wait = WaitClock(self, self._show_load_wait)

    # -- building -------------------------------------------------------------------------------
    # The app mounts this tab when it is first shown; the network work (listing details, `ps`)
    # and the refresh timer start when it is first the active tab, and the timer pauses while
    # another tab is.

    def compose(self) -> ComposeResult:
        from pislm_tui.widgets.bench_panel import BenchPanel
        from pislm_tui.widgets.loaded_models import LoadedModels
        from pislm_tui.widgets.model_details import ModelDetailsPane

        settings = self.pislm.settings.models
        with TabbedContent(id="models-views"):
            with TabPane("Installed", id="models-installed"), Container(id="models-split"):
                with Vertical(id="models-left"):
                    yield DataTable(id="models-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="models-empty")
                    yield LoadedModels(id="models-loaded")
                    yield Vertical(id="models-pulls")
                yield ModelDetailsPane(id="models-details")
            with TabPane("Bench", id="models-bench"):
                yield BenchPanel(
                    prompt=settings.bench_prompt,
                    runs=settings.bench_runs,
                    unload=settings.bench_unload,
                    max_tokens=settings.bench_max_tokens,
                    run_timeout=settings.bench_timeout,
                    bench_dir=self.pislm.paths.bench_dir,
                    clock=lambda: self.clock().astimezone(),
                    id="bench-panel",
                )

    def on_mount(self) -> None:
        table = self.query_one("#models-table", DataTable)
        for i, label in enumerate(_COLUMNS):
            table.add_column(label, key=str(i))
        # The app's active tab, not Show/Hide events: those do not always arrive. The first
        # look waits for the layout (the focus needs it).
        self.watch(self.app, "active_tab", self._tab_changed, init=False)
        self.call_after_refresh(lambda: self._tab_changed(self.pislm.active_tab))

    def _tab_changed(self, tab: str) -> None:
        if tab == "models":
            self._start()
        elif self._timer is not None:
            self._timer.pause()

    def _start(self) -> None:
        """First show: watch the app's models and start the `ps` refresh; later: resume it."""
        if not self.built:
            self.built = True
            self.watch(self.app, "models", self._models_changed)
            self.watch(self.app, "connection", lambda _state: self._update_empty())
            self._timer = self.set_interval(
                self.pislm.settings.models.refresh_interval, self.refresh_loaded
            )
            self.read_bench_history()  # for "pick for me"
        elif self._timer is not None:
            self._timer.resume()
        self.refresh_loaded()

    def main_control(self) -> Widget:
        """Focused by the app each time this tab is shown: the table, or the bench's model list
        when the Bench view is open."""
        if self.query_one("#models-views", TabbedContent).active == "models-bench":
            return self.bench_panel.query_one("#bench-models")
        return self.table

    # -- the list ---------------------------------------------------------------------------------

    @property
    def table(self) -> DataTable:
        return self.query_one("#models-table", DataTable)

    @property
    def details_pane(self) -> ModelDetailsPane:
        return cast("ModelDetailsPane", self.query_one("#models-details"))

    @property
    def bench_panel(self) -> BenchPanel:
        return cast("BenchPanel", self.query_one("#bench-panel"))

    @property
    def loaded_view(self) -> LoadedModels:
        return cast("LoadedModels", self.query_one("#models-loaded"))

    def pull_panels(self) -> list[PullPanel]:
        return cast("list[PullPanel]", list(self.query("PullPanel")))

    def selected(self) -> str | None:
        table = self.table
        if not self.built or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def _models_changed(self, models: tuple[ModelInfo, ...]) -> None:
        self._fill_table(models)
        bench = self.bench_panel
        bench.set_models(chat_model_names(models), preselect=self.pislm.current_model)
        self._offer_chat_capable(models)

    @work(exclusive=True, group="models-bench-offer", exit_on_error=False)
    async def _offer_chat_capable(self, models: tuple[ModelInfo, ...]) -> None:
        """The bench offers only models that can chat: the listing's guess first (at once),
        then what each model's capabilities say (an embedding model the listing missed)."""
        from pislm_tui.models.bench import chat_capable

        names = await chat_capable(self.pislm.backend, models, self.pislm.model_details)
        self.bench_panel.set_models(names, preselect=self.pislm.current_model)
        self._update_pick()  # every model's details are known now

    def _fill_table(self, models: tuple[ModelInfo, ...]) -> None:
        table = self.table
        keep = self._select_after or self.selected()
        self._select_after = None
        table.clear()
        for m in models:
            table.add_row(*self._cells(m), key=m.name)
        self._update_empty()
        target = find_model(models, keep) if keep else None
        if target is not None:
            table.move_cursor(row=table.get_row_index(target.name))
        self._show_selected()

    def _cells(self, m: ModelInfo) -> list[Text]:
        mark = Text("●") if is_loaded(m.name, self.loaded) else Text(" ")
        return [
            mark,
            Text(m.name + (" ★" if m.name == self.pick else "")),  # pick for me
            Text(decimal_bytes(m.size), justify="right"),
            Text(m.family or "—"),
            Text(m.parameter_size or "—", justify="right"),
            Text(m.quantization or "—"),
            Text(short_date(m.modified_at)),
        ]

    def _update_empty(self) -> None:
        if not self.built:
            return
        empty = not self.pislm.models
        self.no_models = empty
        if empty:
            text = (
                "No models installed yet. Press p to pull one — llama3.2:1b is a good first "
                "model on a Pi."
                if self.pislm.connection.connected
                else "Not connected to the server yet; the list appears once it answers."
            )
            self.query_one("#models-empty", Static).update(text)
            self.details_pane.show_message("No model selected.")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "models-table":
            self._show_selected()

    # -- details ----------------------------------------------------------------------------------

    def _show_selected(self) -> None:
        name = self.selected()
        if name is None:
            return
        info = find_model(self.pislm.models, name)
        pane = self.details_pane
        details = self.pislm.model_details.cached(name)  # shared with the Chat tab
        pane.show_model(info, details, self.fit_for(name))
        if details is None:
            self._fetch_details(name)

    @work(exclusive=True, group="models-show", exit_on_error=False)
    async def _fetch_details(self, name: str) -> None:
        await asyncio.sleep(DETAILS_DEBOUNCE)
        cache = self.pislm.model_details
        failed: PislmError | None = None
        try:
            details = await cache.get(name)
        except PislmError as exc:
            failed = exc
        else:
            failed = cache.unsupported if details is None else None  # (an OpenAI server)
        if failed is not None:
            if self.selected() == name:
                self.details_pane.show_message(
                    f"Cannot read the details of {name}: {failed}", "$error"
                )
            return
        if self.selected() == name:
            self.details_pane.show_model(
                find_model(self.pislm.models, name), details, self.fit_for(name)
            )

    # -- in memory --------------------------------------------------------------------------------

    @work(exclusive=True, group="models-ps", exit_on_error=False)
    async def refresh_loaded(self) -> None:
        try:
            loaded = await self.pislm.backend.loaded()
        except Unsupported:  # an OpenAI-compatible host (llama-server, exo): no ps there
            self.loaded_view.show_unknown(
                "not known — an OpenAI-compatible server has no ps (nor pull, load, delete)"
            )
            return
        except PislmError:
            loaded = self.loaded  # the connection banner says what is wrong; keep what we know
        self._set_loaded(loaded)

    def _set_loaded(self, loaded: list[LoadedModel]) -> None:
        changed = [m.name for m in loaded] != [m.name for m in self.loaded]
        self.loaded = loaded
        self.loaded_view.show(loaded, self.clock(), self._busy)
        if changed:
            table = self.table
            for m in self.pislm.models:
                if m.name in table.rows:
                    mark = "●" if is_loaded(m.name, loaded) else " "
                    table.update_cell(m.name, "0", Text(mark))
            self._show_selected()  # the fit verdict counts what is loaded

    def _set_busy(self, text: str) -> None:
        self._busy = text
        self.loaded_view.show(self.loaded, self.clock(), text)

    # -- actions ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "installed":
            return self.built and self.view == "models-bench"
        if action not in INSTALLED_ACTIONS:
            return True
        if not self.built or self.view != "models-installed":
            return False
        if action == "cancel_pull":
            return bool(self.pull_panels())
        if action == "cancel_load":
            return self.loading_model is not None
        return True

    def _need_selection(self) -> str | None:
        name = self.selected()
        if name is None:
            self.notify("No model selected.", severity="warning")
        return name

    def action_chat(self) -> None:
        name = self._need_selection()
        if name is not None:
            self.pislm.set_model(name)

    def action_bench(self) -> None:
        name = self.selected()
        bench = self.bench_panel
        if name is not None:
            bench.pick(name)
        self.query_one(TabbedContent).active = "models-bench"
        bench.query_one("#bench-models").focus()

    def action_installed(self) -> None:
        self.query_one(TabbedContent).active = "models-installed"
        self.table.focus()

    def action_refresh(self) -> None:
        self.pislm.model_details.refresh()
        self.pislm.check_connection()
        self.refresh_loaded()
        self._show_selected()

    def on_bench_panel_started(self, event: BenchPanel.Started) -> None:
        """Before the loads: a model that will swap or not fit is named (the bench still runs)."""
        fits = [self.fit_for(name) for name in event.models]
        bad = [f for f in fits if f is not None and f.verdict in ("swap", "no")]
        if bad:
            lines = "\n".join(f"{f.need.model}: {f.line()}" for f in bad)
            self.notify(lines, title="Bench: memory", severity="warning")

    def on_bench_panel_finished(self, event: BenchPanel.Finished) -> None:
        self.refresh_loaded()  # the bench loads and unloads models
        self.read_bench_history()  # a new fastest model, perhaps

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "models-views":
            return
        event.stop()  # ours, not the app's tab bar
        self.view = event.pane.id or ""
