"""The Monitor tab: per-core bars with a 60 s history, RAM and swap, temperature by the Pi 5
steps, throttling, fan, frequency, top processes (Ollama's runner marked) and the models Ollama
has in memory. Readings come from the app's one sampler (`app.monitor`); this tab only asks for
the full rate while it is shown and draws what changed."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Hide, Resize, Show
from textual.widget import Widget
from textual.widgets import Static

from pislm_tui.monitor import Sample
from pislm_tui.widgets import monitor_panels as panels
from pislm_tui.widgets.core_bars import CoreBars
from pislm_tui.widgets.process_table import ProcessTable

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", ""}


class MonitorTab(Widget):
    DEFAULT_CSS = """
    MonitorTab { height: 1fr; }
    MonitorTab #monitor-body { height: 1fr; padding: 0 1; }
    MonitorTab #monitor-body:focus { background-tint: $foreground 0%; }
    MonitorTab Static { text-wrap: nowrap; text-overflow: ellipsis; }
    MonitorTab #mon-header { height: 1; color: $text; }
    MonitorTab #mon-middle { height: auto; margin-top: 1; }
    MonitorTab #mon-memory { width: 1fr; height: 2; padding-right: 2; }
    MonitorTab #mon-sensors { width: 1fr; height: 3; }
    MonitorTab #mon-throttle { height: auto; max-height: 2; }
    MonitorTab #mon-lower { height: 1fr; margin-top: 1; }
    MonitorTab #mon-procs { width: 1fr; height: 1fr; padding-right: 2; }
    MonitorTab #mon-loaded { width: 1fr; height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort CPU/mem", id="monitor.sort"),
        Binding("p", "pause", "Pause", id="monitor.pause"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.paused = False
        self.sample: Sample | None = None  # the one on screen

    def compose(self) -> ComposeResult:
        with Vertical(id="monitor-body") as body:
            body.can_focus = True  # the tab's keys work once it has focus
            yield Static(Content.styled("Monitor: first reading…", "$text-muted"), id="mon-header")
            yield CoreBars(id="mon-cores")
            with Horizontal(id="mon-middle"):
                yield Static(id="mon-memory")
                yield Static(id="mon-sensors")
            yield Static(id="mon-throttle")
            with Horizontal(id="mon-lower"):
                yield ProcessTable(id="mon-procs")
                yield Static(id="mon-loaded")

    def on_mount(self) -> None:
        self.watch(self.app, "monitor_sample", self._on_sample, init=False)

    def on_show(self, event: Show) -> None:
        self.app.monitor.set_monitor_visible(True)  # type: ignore[attr-defined]
        self.call_later(self._take_focus)

    def _take_focus(self) -> None:
        """Focus the tab's body so `s` and `p` work at once, unless the user has already moved on
        (a focus in a hidden pane would make TabbedContent switch back to it)."""
        if self.app.monitor.monitor_visible:  # type: ignore[attr-defined]
            self.screen.set_focus(self.query_one("#monitor-body"))

    def on_hide(self, event: Hide) -> None:
        self.app.monitor.set_monitor_visible(False)  # type: ignore[attr-defined]

    def on_resize(self, event: Resize) -> None:
        if self.sample is not None:
            self.call_after_refresh(self._draw, self.sample)

    # -- actions --------------------------------------------------------------------------

    def action_sort(self) -> None:
        table = self.query_one(ProcessTable)
        table.sort = "mem" if table.sort == "cpu" else "cpu"
        table.show(table.sample)

    def action_pause(self) -> None:
        self.paused = not self.paused
        latest = self.app.monitor_sample  # type: ignore[attr-defined]
        if not self.paused and latest is not None and latest.detail:
            self.sample = latest
        if self.sample is not None:
            self._draw(self.sample)

    # -- drawing --------------------------------------------------------------------------

    def _on_sample(self, sample: Sample | None) -> None:
        # Strip-only readings (taken while this tab was hidden) lack the details shown here.
        if sample is None or not sample.detail or self.paused:
            return
        self.sample = sample
        self._draw(sample)

    def _remote(self, sample: Sample) -> str | None:
        host = urlsplit(self.app.backend.url).hostname or ""  # type: ignore[attr-defined]
        if host in _LOCAL_HOSTS or host == sample.host:
            return None
        return host

    def _draw(self, s: Sample) -> None:
        interval = self.app.settings.monitor.interval  # type: ignore[attr-defined]
        self._set(
            "#mon-header",
            panels.header(s, interval=interval, paused=self.paused, remote=self._remote(s)),
        )
        sampler = self.app.monitor.sampler  # type: ignore[attr-defined]
        self.query_one(CoreBars).update_cores(s.cores, s.cpu_percent, sampler.history, s.time)
        memory = self.query_one("#mon-memory", Static)
        self._set(memory, panels.memory_block(s, memory.content_size.width or 36))
        self._set("#mon-sensors", panels.sensors_block(s))
        self._set("#mon-throttle", panels.throttle_block(s))
        self.query_one(ProcessTable).show(s)
        self._set("#mon-loaded", panels.loaded_block(s))
        self._set_tooltips(s)

    def _set(self, target: str | Static, content: Content) -> None:
        widget = self.query_one(target, Static) if isinstance(target, str) else target
        current = widget.content
        if isinstance(current, Content) and current.is_same(content):
            return  # unchanged: no repaint, nothing sent to the terminal
        lines = content.plain.count("\n")
        old_lines = current.plain.count("\n") if isinstance(current, Content) else -1
        widget.update(content, layout=lines != old_lines)

    def _set_tooltips(self, s: Sample) -> None:
        """The full reason behind each "n/a", on hover."""
        for target, names in (
            ("#mon-sensors", ("temp_c", "fan_rpm", "freq_mhz")),
            ("#mon-throttle", ("throttled", "under_voltage")),
            ("#mon-memory", ("ram", "swap")),
            ("#mon-loaded", ("ollama_loaded",)),
        ):
            tip = "\n".join(f"{n}: {s.unavailable[n]}" for n in names if n in s.unavailable) or None
            widget = self.query_one(target, Static)
            if widget.tooltip != tip:
                widget.tooltip = tip
