"""The Function Calling tab: Where (country -> capital -> distance), Image -> city, and native tool
calling. A thin shell: the work is in `tools/`, the panes in `widgets/tools_*.py`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Label, TabbedContent, TabPane

from pislm_tui.app_access import AppAccess
from pislm_tui.tools.history import append_history, history_path, load_history, save_history
from pislm_tui.tools.where import WhereResult
from pislm_tui.widgets.tools_calls import ToolCallsPane
from pislm_tui.widgets.tools_history import WhereHistory
from pislm_tui.widgets.tools_image import ImagePane
from pislm_tui.widgets.tools_model_select import ModelSelect
from pislm_tui.widgets.tools_scoreboard import ScoreboardPane
from pislm_tui.widgets.tools_where import Found, WherePane

if TYPE_CHECKING:
    from pislm_tui.screens.tools_location import LocationChoice

FIRST_INPUT = {
    "tools-where": "#where-country",
    "tools-image": "#image-path",
    "tools-calls": "#calls-prompt",
    "tools-score": "#score-models",
}


class ToolsTab(AppAccess, Widget):
    DEFAULT_CSS = """
    ToolsTab { height: 1fr; }
    ToolsTab #tools-from { height: 1; padding: 0 1; }
    ToolsTab #tools-from-text { width: 1fr; }
    ToolsTab #tools-from-hint { width: auto; color: $text-muted; }
    ToolsTab #tools-panes { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "location", "Location", id="tools.location"),
        Binding("ctrl+o", "browse", "Photo…", id="tools.browse"),
        Binding("escape", "stop", "Stop", id="tools.stop"),
        Binding("ctrl+t", "mcp", "MCP on/off", id="tools.mcp"),
        Binding("f7", "pane('tools-where')", "Where", show=False, id="tools.where"),
        Binding("f8", "pane('tools-image')", "Image → city", show=False, id="tools.image"),
        Binding("f9", "pane('tools-calls')", "Tool calling", show=False, id="tools.calls"),
        Binding("f10", "pane('tools-score')", "Scoreboard", show=False, id="tools.score"),
    ]
    pane: var[str] = var("tools-where", bindings=True)  # the pane shown (its keys in the footer)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.results: list[WhereResult] = []

    def compose(self) -> ComposeResult:
        # The app mounts this tab when it is first shown, so composing here costs nothing at
        # start-up.
        with Horizontal(id="tools-from"):
            yield Label("", id="tools-from-text")
            yield Label("ctrl+g changes", id="tools-from-hint")
        with TabbedContent(id="tools-panes"):
            with TabPane("Where", id="tools-where"):
                yield WherePane()
            with TabPane("Image → city", id="tools-image"):
                yield ImagePane()
            with TabPane("Tool calling", id="tools-calls"):
                yield ToolCallsPane()
            with TabPane("Scoreboard", id="tools-score"):
                yield ScoreboardPane()

    def on_mount(self) -> None:
        self._show_location()
        self._fill_models()
        self.watch(self.app, "models", lambda _: self._fill_models(), init=False)
        self.watch(self.app, "current_model", lambda _: self._fill_models(), init=False)
        self.load_history()

    def _show_location(self) -> None:
        tools = self.pislm.settings.tools
        loc = tools.location
        units = "kilometers" if tools.units == "km" else "miles"
        self.query_one("#tools-from-text", Label).update(
            Text(f"From {loc.name} · {loc.lat:.4f}, {loc.lon:.4f} · {units}")
        )

    def _fill_models(self) -> None:
        app = self.pislm
        models = app.chat_models()
        main = app.settings.tools.model or app.current_model
        for select_id in ("#where-model", "#calls-model"):
            self.query_one(select_id, ModelSelect).fill(models, main)
        self.query_one("#image-vision-model", ModelSelect).fill(
            models, app.settings.tools.vision_model
        )

    def main_control(self) -> Widget:
        """Focused by the app each time this tab is shown: the first field of the open pane."""
        return self.query_one(FIRST_INPUT[self.query_one("#tools-panes", TabbedContent).active])

    def _focus_input(self, pane: str) -> None:
        if self.pislm.active_tab == "tools":  # a focus in a hidden tab would switch to it
            self.screen.set_focus(self.query_one(FIRST_INPUT[pane]))

    # -- history -----------------------------------------------------------------------------

    @work(group="tools-history")
    async def load_history(self) -> None:
        path = history_path(self.pislm.paths.data_dir)
        saved = await asyncio.to_thread(load_history, path)
        self.results = saved + self.results  # anything found meanwhile stays newest
        self._show_history()

    def _show_history(self) -> None:
        for table in self.query(WhereHistory):
            table.show(self.results)

    @on(Found)
    def _found(self, event: Found) -> None:
        self.results.append(event.result)
        self._show_history()
        try:
            append_history(history_path(self.pislm.paths.data_dir), event.result)
        except OSError as exc:
            self.app.notify(f"could not save the history: {exc}", severity="warning", markup=False)

    @on(WhereHistory.Picked)
    def _picked(self, event: WhereHistory.Picked) -> None:
        pane = event.control.parent
        if isinstance(pane, WherePane | ImagePane):
            pane.card.show_result(event.result)

    @on(WhereHistory.Forget)
    def _forget(self, event: WhereHistory.Forget) -> None:
        self.results = [r for r in self.results if r is not event.result]
        self._show_history()
        try:
            save_history(history_path(self.pislm.paths.data_dir), self.results)
        except OSError as exc:
            self.app.notify(f"could not save the history: {exc}", severity="warning", markup=False)

    # -- models and location -----------------------------------------------------------------

    @on(ModelSelect.Picked)
    def _model_picked(self, event: ModelSelect.Picked) -> None:
        tools = self.pislm.settings.tools
        if event.control.id == "image-vision-model":
            tools.vision_model = event.model
            self.pislm.save_settings({"tools": {"vision_model": event.model}})
            return
        tools.model = event.model
        self.pislm.save_settings({"tools": {"model": event.model}})
        self._fill_models()  # the other pane follows

    def action_location(self) -> None:
        from pislm_tui.screens.tools_location import LocationScreen

        tools = self.pislm.settings.tools
        self.app.push_screen(LocationScreen(tools.location, tools.units), self._location_saved)

    def _location_saved(self, choice: LocationChoice | None) -> None:
        if choice is None:
            return
        tools = self.pislm.settings.tools
        tools.location = choice.location
        tools.units = choice.units
        self.pislm.save_settings(
            {"tools": {"location": choice.location.model_dump(), "units": choice.units}}
        )
        self._show_location()

    # -- panes, stop -----------------------------------------------------------------------

    def action_pane(self, pane: str) -> None:
        self.query_one("#tools-panes", TabbedContent).active = pane
        self._focus_input(pane)

    @on(TabbedContent.TabActivated, "#tools-panes")
    def _pane_shown(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        if event.pane.id in FIRST_INPUT:
            self._focus_input(event.pane.id)
        self.pane = event.pane.id or ""

    def action_browse(self) -> None:
        self.action_pane("tools-image")
        self.query_one(ImagePane).browse()

    def action_stop(self) -> None:
        panes = (WherePane, ImagePane, ToolCallsPane, ScoreboardPane)
        for pane in (found for kind in panes for found in self.query(kind)):
            pane.stop()

    def _busy(self) -> bool:
        return any(
            w.is_running
            and w.group.startswith("tools-")
            and w.group not in ("tools-history", "tools-score-load")
            for w in self.workers
        )

    def action_mcp(self) -> None:
        self.action_pane("tools-calls")
        pane = self.query_one(ToolCallsPane)
        pane.toggle_mcp()
        state = "on" if pane.mcp_on else "off"
        self.app.notify(f"MCP tools {state} for the questions asked here")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self._busy()
        if action == "mcp":  # only with MCP servers configured
            return bool(self.pislm.mcp_hub())
        return True
