"""`PislmApp`: the shell around the tabs — status line, connection watching, themes, keys, SSH mode.
Tabs live in `tabs/` and reach shared state through the app: `settings`, `paths`, `backend`,
`connection`, `models`, `current_model`, `save_settings()`, `show_error()`."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import Worker

from pislm_tui import hangup
from pislm_tui.app_server import ServerSide
from pislm_tui.backend import Backend, ModelInfo, PislmError, make_backend
from pislm_tui.backend.errors import ServerUnreachable
from pislm_tui.backend.health import ConnectionState, ConnectionWatcher
from pislm_tui.commands import PislmCommands
from pislm_tui.config import LoadedSettings, save_settings
from pislm_tui.crash import CRASH_LOG, ErrorGuard
from pislm_tui.hosts.named import Host, current_host
from pislm_tui.long_work import is_long
from pislm_tui.models.choice import LastUsedModels
from pislm_tui.models.details import ModelDetailsCache
from pislm_tui.monitor import Sample
from pislm_tui.monitor_feed import MonitorFeed
from pislm_tui.settled_heap import SettledHeap
from pislm_tui.shared_frames import SharedFrames
from pislm_tui.tabs import TabBody
from pislm_tui.textual_compat.fast_output import FastOutput
from pislm_tui.theming import (
    DEFAULT_THEME,
    SIXTEEN_COLOUR_THEME,
    is_sixteen_colour_terminal,
    load_themes,
    shipped_themes_dir,
)
from pislm_tui.widgets.app_tabs import AppTabs
from pislm_tui.widgets.connection_banner import ConnectionBanner
from pislm_tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from pislm_tui.backend.mcp import McpHub

IDLE_HEALTH_INTERVAL = 60.0  # s between server checks while the app rests over SSH


class PislmApp(ServerSide, App[int]):
    CSS_PATH = "pislm.tcss"
    TITLE = "pislm"
    COMMANDS = App.COMMANDS | {PislmCommands}
    TABS: ClassVar[list[tuple[str, str]]] = [
        ("chat", "Chat"),
        ("models", "Models"),
        ("rag", "RAG"),
        ("tools", "Function Calling"),
        ("monitor", "Monitor"),
    ]
    # The screen gets the class -wide from this width (the Models tab puts its details pane
    # beside the list: table ~77 + pane 40), -narrow below.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (118, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "toggle_help", "Keys", priority=True, id="app.help"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
        # Ctrl+C quits too (Textual's own only hints at Ctrl+Q), even in a text field.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
        Binding("ctrl+l", "redraw", "Redraw", show=False, priority=True, id="app.redraw"),
        # Priority: they must work while a text field has the focus.
        *(
            Binding(
                f"f{n + 1},alt+{n}",
                f"show_tab('{tab}')",
                title,
                show=False,
                priority=True,
                id=f"app.tab_{tab}",
            )
            for n, (tab, title) in enumerate(TABS, start=1)
        ),
    ]

    connection: var[ConnectionState] = var(ConnectionState("connecting", "", ""), init=False)
    models: var[tuple[ModelInfo, ...]] = var((), init=False)
    current_model: var[str | None] = var(None, init=False)
    # The tab on screen. Tabs watch it to start and pause their work: Textual's Show/Hide events
    # do not always arrive when a tab is first mounted or switched.
    active_tab: var[str] = var("chat", init=False)
    monitor_sample: var[Sample | None] = var(None, init=False)  # from `self.monitor`
    strip_resting: var[bool] = var(False, init=False)  # the live strip holds its figures
    host_name: var[str] = var("", init=False)  # the named host in use ("" for a plain address)

    def __init__(
        self,
        loaded: LoadedSettings,
        *,
        ssh: bool = False,
        backend: Backend | None = None,
        environ: Mapping[str, str] | None = None,
        watch_connection: bool = True,
    ) -> None:
        self.loaded = loaded
        self.settings = loaded.settings
        self.paths = loaded.paths
        self.ssh = ssh
        self.host: Host = current_host(self.settings, loaded.host_name)
        self.backend = backend or make_backend(self.settings)
        # /api/show once per model (and digest), shared by the tabs and the core they call
        self.model_details = ModelDetailsCache(self.backend)
        self.model_details.listed = lambda: self.models
        self.last_models = LastUsedModels(self.paths.last_models)
        self._chat_model_wish: str | None = None  # a reopened chat's model, checked when listed
        self._watch_connection = watch_connection
        self._startup_warnings = list(loaded.warnings)
        super().__init__(driver_class=hangup.driver_class())  # TEXTUAL_DRIVER wins (textual-serve)
        self.error_guard = ErrorGuard(self, self.paths.data_dir / CRASH_LOG)  # see crash.py
        self.set_reactive(
            PislmApp.connection, ConnectionState("connecting", self.backend.url, self.backend.kind)
        )
        self.set_reactive(PislmApp.current_model, self.settings.model)
        self.set_reactive(PislmApp.host_name, self.host.name)
        if ssh:
            self.animation_level = "none"
        self._register_themes(os.environ if environ is None else environ)
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        self.watcher: ConnectionWatcher | None = None
        self._mcp_hub: McpHub | None = None  # made on first use; its servers start lazily
        # Partial updates render only the rows that changed, and only changed cells go to the
        # terminal: on a Textual the guard knows, unless display.fast_output is off.
        display = self.settings.display
        self.fast_output = FastOutput(self, display.fast_output, display.repeat_characters)
        self.frames = SharedFrames()  # periodic changes ride on a streaming reply's frames
        # The one sampler + timer (live strip, Monitor tab).
        self.monitor = MonitorFeed(
            self,
            self.settings.monitor,
            loaded=self._loaded,
            publish=self._publish_sample,
            rest=self._rest_strip,
            report=partial(self.show_error, title="Monitor"),
            quiet_for=self.quiet_for,
            ssh=ssh,
            make_sampler=self._machine_sampler,
        )
        self.last_input = time.monotonic()  # the last key or mouse event
        self.heap = SettledHeap()  # frozen once settled: full collections skip it

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield ConnectionBanner()
        # Only the first tab is built at start; the others when first shown (start-up stays fast).
        with AppTabs(initial="chat", id="tabs"):
            for tab_id, title in self.TABS:
                with TabPane(title, id=tab_id):
                    if tab_id == "chat":
                        yield self._tab_widget(tab_id)
        footer = Footer()
        # Compose the keys with the first frame: by default the footer waits for a bindings
        # change and one more refresh, which left the first ~0.3 s of start-up without it.
        # (What the screen's bindings signal calls; before the mount it only marks them ready.)
        footer.bindings_changed(self.screen)
        yield footer

    # Tab widgets by module: only Chat is imported at start-up, the others on first show.
    _TAB_WIDGETS: ClassVar[dict[str, tuple[str, str]]] = {
        "chat": ("pislm_tui.tabs.chat", "ChatTab"),
        "models": ("pislm_tui.tabs.models", "ModelsTab"),
        "rag": ("pislm_tui.tabs.rag", "RagTab"),
        "tools": ("pislm_tui.tabs.tools", "ToolsTab"),
        "monitor": ("pislm_tui.tabs.monitor", "MonitorTab"),
    }

    def _tab_widget(self, tab_id: str) -> Widget:
        module, name = self._TAB_WIDGETS[tab_id]
        return getattr(importlib.import_module(module), name)(id=f"{tab_id}-tab")

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Every switch of the tab bar (keys, palette, mouse, arrows on the bar) ends here: the
        tab's widget is built on its first show, then its main control gets the focus, so the
        tab's keys work at once."""
        pane = event.pane
        if event.tabbed_content.id != "tabs" or not pane.id:
            return
        if pane.id != event.tabbed_content.active:
            return  # passed over (keys typed faster than handled): another event follows
        self.active_tab = pane.id
        if not pane.children:
            # Awaited: the focus below needs the tab's widgets (keys typed meanwhile wait).
            await pane.mount(self._tab_widget(pane.id))
            self.call_after_refresh(self.heap.settle)  # the tab and its modules stay
        self.focus_tab()

    def on_mount(self) -> None:
        for warning in self._startup_warnings:
            self.notify(warning, title="Configuration", severity="warning", timeout=12)
        self.theme_changed_signal.subscribe(self, self._save_theme)
        self.app_resume_signal.subscribe(self, lambda _app: self._forget_terminal())
        if self._watch_connection:
            # After the first frame: the first probe imports the HTTP client libraries.
            self.call_after_refresh(self._start_watching)
        self.call_after_refresh(self.monitor.start_strip)
        if not self.is_headless:  # a closed terminal (or textual-serve's pipe) or SIGHUP ends it
            hangup.watch(self, hangup.input_fileno(self))
        self.fast_output.report(self.log, self.paths.data_dir)
        self.error_guard.report_note(self.log, self.paths.data_dir)

    def _start_watching(self) -> None:
        self.watcher = ConnectionWatcher(
            self.backend,
            self._on_connection,
            interval=self.settings.health_interval,
            backoff_max=self.settings.health_backoff_max,
        )
        self.run_worker(
            self.watcher.run(), name="connection", group="connection", exit_on_error=False
        )

    async def on_unmount(self) -> None:
        self.heap.thaw()
        self.fast_output.close()
        await self.monitor.aclose()
        await self.backend.aclose()
        if self._mcp_hub is not None:  # MCP servers end with the app: no orphans
            await self._mcp_hub.aclose()

    def mcp_hub(self) -> McpHub:
        """The configured MCP servers (`backend/mcp.py`), shared by every tab."""
        if self._mcp_hub is None:
            from pislm_tui.backend.mcp import McpHub  # not at start-up; the SDK loads later still

            self._mcp_hub = McpHub(self.settings.mcp, self.paths.data_dir / "mcp")
        return self._mcp_hub

    # -- tabs, help, themes --------------------------------------------------------------------

    def show_tab(self, tab_id: str) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active == tab_id:
            self.focus_tab()  # no switch, no TabActivated: back to the tab's main control
            return
        # Hiding a focused widget makes Textual focus a sibling in the same (hidden) pane, and
        # TabbedContent then switches straight back: drop the focus first (`focus_tab` sets it
        # once the tab is shown).
        self.screen.set_focus(None)
        tabs.active = tab_id

    def focus_tab(self) -> None:
        """Focus the active tab's main control (`TabBody.main_control()`); when that cannot take
        the focus (disabled, not built yet), the first widget of the tab that can. Never a widget
        of another tab: a focus in a hidden pane would switch to it."""
        tabs = self.query_one("#tabs", TabbedContent)
        if not tabs.active or tabs.active != self.active_tab:
            return
        pane = tabs.get_pane(tabs.active)
        body = next(iter(pane.children), None)
        if body is None:
            return
        target = body.main_control() if isinstance(body, TabBody) else None
        screen = pane.screen
        if target is None or not target.focusable or pane not in target.ancestors:
            target = next((w for w in screen.focus_chain if pane in w.ancestors), None)
        if target is not None:
            screen.set_focus(target)

    def action_show_tab(self, tab_id: str) -> None:
        self.show_tab(tab_id)

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_show_help_panel(self) -> None:
        """F1 and the palette's "Keys": the focused tab's keys first (widgets/keys_help.py)."""
        from pislm_tui.widgets.keys_help import KeysHelp

        if not self.screen.query("HelpPanel"):
            self.screen.mount(KeysHelp())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)

    def _register_themes(self, environ: Mapping[str, str]) -> None:
        themes, problems = load_themes(shipped_themes_dir(), self.paths.themes_dir)
        for theme in themes.values():
            self.register_theme(theme)
        self._startup_warnings.extend(problems)
        wanted = self.settings.theme
        if "theme" not in self.settings.model_fields_set and is_sixteen_colour_terminal(environ):
            wanted = SIXTEEN_COLOUR_THEME
        if wanted not in self.available_themes:
            self._startup_warnings.append(f"unknown theme '{wanted}'; using {DEFAULT_THEME}")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self._theme_loaded = False
        self.theme = wanted
        self._theme_loaded = True

    def set_theme(self, name: str) -> None:
        self.theme = name

    def _save_theme(self, theme: Any) -> None:
        if not self._theme_loaded or not self.is_running:
            return
        self.save_settings({"theme": theme.name})

    # -- services for tabs ----------------------------------------------------------------------

    def save_settings(self, updates: Mapping[str, Any]) -> bool:
        """Write `updates` to the config file; a read-only or full disk is reported, not fatal."""
        try:
            save_settings(self.loaded.config_file, updates)
        except OSError as exc:
            self.notify(f"could not save the setting: {exc}", severity="error")
            return False
        return True

    def show_error(self, error: BaseException, title: str = "Error") -> None:
        """Our errors carry user-facing text; anything else is a bug, shown plainly. Only the
        server's own unreachability re-checks the connection (a Chroma outage is not Ollama's)."""
        text = str(error) if isinstance(error, PislmError) else f"{type(error).__name__}: {error}"
        self.notify(text, title=title, severity="error", timeout=10, markup=False)
        if isinstance(error, ServerUnreachable):
            self.check_connection()

    # -- unhandled errors: logged, shown, survived (crash.py) ------------------------------------

    def call_next(self, callback: Any, *args: Any, **kwargs: Any) -> None:
        guard: ErrorGuard | None = getattr(self, "error_guard", None)
        if guard is not None and guard.enabled:  # Textual's widget removals end in these
            callback = guard.guard_callback(partial(callback, *args, **kwargs))
            args, kwargs = (), {}
        super().call_next(callback, *args, **kwargs)

    def exit(self, result: int | None = None, return_code: int = 0, message: Any = None) -> None:
        guard: ErrorGuard | None = getattr(self, "error_guard", None)
        if guard is not None:
            guard.exit_requested = True
        super().exit(result, return_code, message)

    @on(Worker.StateChanged)
    def _worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (not ending it on error): a failure is shown, not silent.
        Tabs' workers that end the app on error reach the error guard through Textual's
        handling of unhandled errors instead (textual_compat/errors.py)."""
        self.error_guard.worker_state_changed(event)

    # -- terminal output -------------------------------------------------------------------------

    def _forget_terminal(self) -> None:
        self.fast_output.forget()

    def action_redraw(self) -> None:
        """Repaint everything (if something else wrote over the screen)."""
        self._forget_terminal()
        self.refresh(repaint=True, layout=True)
        self.screen.refresh(repaint=True, layout=True)

    def on_cursor_position(self, event: events.CursorPosition) -> None:
        """The terminal says where its cursor is: the answer to the REP probe (repeat_probe.py)."""
        self.fast_output.cursor_report(event.x, event.y)

    # -- activity (the live strip rests over SSH while nothing happens) -------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.last_input = time.monotonic()
            self.monitor.wake()
        await super().on_event(event)

    def watch_strip_resting(self, resting: bool) -> None:
        """While the app rests over SSH the server is checked less often; a key checks it at
        once."""
        if self.watcher is None:
            return
        if resting:
            self.watcher.interval = max(self.settings.health_interval, IDLE_HEALTH_INTERVAL)
        else:
            self.watcher.interval = self.settings.health_interval
            self.watcher.check_now()

    def idle_for(self) -> float:
        """Seconds since the last key or mouse event."""
        return time.monotonic() - self.last_input

    def busy(self) -> bool:
        """Whether long work (a reply, a pull, a bench, an ingest…; see long_work.py) runs."""
        return any(w.is_running and is_long(w) for w in self.workers)

    def quiet_for(self) -> float:
        """Seconds the user and the app have been idle: 0 while long work runs."""
        return 0.0 if self.busy() else self.idle_for()

    def _publish_sample(self, sample: Sample) -> None:
        # While a reply streams, the strip's new reading joins the reply's next frame.
        self.frames.change("monitor", lambda: setattr(self, "monitor_sample", sample))

    def _rest_strip(self, resting: bool) -> None:
        self.strip_resting = resting

    # -- dialogs: a tap beside one closes it, as Esc does (a phone's keyboard has no Esc) ------

    async def on_click(self, event: events.Click) -> None:
        """Textual's command palette closes on a click on its background; pislm's dialogs do
        the same, through their own Esc binding (so a dialog that keeps something on Esc keeps
        it here too). Under `pislm web` on a phone this is the way out of a dialog without a
        Cancel button."""
        screen = self.screen
        if not isinstance(screen, ModalScreen) or not type(screen).__module__.startswith(
            "pislm_tui."
        ):
            return
        if screen.get_widget_at(event.screen_x, event.screen_y)[0] is not screen:
            return
        escape = screen.active_bindings.get("escape")
        if escape is not None and escape.enabled:
            event.stop()
            await self.run_action(escape.binding.action, escape.node)

    # -- SSH: no blinking cursors (each blink is a repaint sent over the link) -------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self.ssh and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False  # type: ignore[attr-defined]

    @work(exit_on_error=False)  # a failure is shown (_worker_state_changed), not fatal
    async def refresh_models(self) -> None:
        """Re-read the installed models (after pull/delete)."""
        self.check_connection()
