"""The Monitor tab: per-core bars with a 60 s history, RAM and swap, temperature by the Pi 5
steps, throttling, fan, frequency, top processes (Ollama's runner marked) and the models Ollama
has in memory. Readings come from the app's one sampler (`app.monitor`); this tab only asks for
the full rate while it is shown and draws what changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Static

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError
from pislm_tui.monitor import Sample
from pislm_tui.monitor.remote import RemoteMonitor
from pislm_tui.widgets import monitor_panels as panels
from pislm_tui.widgets.core_bars import CoreBars
from pislm_tui.widgets.fleet_rows import FleetRows
from pislm_tui.widgets.process_table import ProcessTable

if TYPE_CHECKING:
    from textual.timer import Timer

    from pislm_tui.hosts.fleet import Fleet

FLEET_EVERY = 10.0  # s between looks at every host (each one an ssh round trip or two)
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", ""}


class MonitorTab(AppAccess, Widget):
    # One grid, no nested containers: every container over a changed line costs a render of
    # that line each frame, and this tab changes every second.
    DEFAULT_CSS = """
    MonitorTab {
        height: 1fr;
        padding: 0 1;
        layout: grid;
        grid-size: 2 5;
        grid-columns: 1fr 1fr;
        grid-rows: 1 auto 4 auto 1fr;
    }
    MonitorTab:focus { background-tint: $foreground 0%; }
    MonitorTab Static { text-wrap: nowrap; text-overflow: ellipsis; }
    MonitorTab #mon-header { column-span: 2; height: 1; color: $text; }
    MonitorTab #mon-cores { column-span: 2; }
    MonitorTab #mon-memory { height: 3; margin: 1 2 0 0; }
    MonitorTab #mon-sensors { height: 3; margin-top: 1; }
    MonitorTab #mon-throttle { column-span: 2; height: auto; max-height: 2; }
    MonitorTab #mon-procs { height: 1fr; margin: 1 2 0 0; }
    MonitorTab #mon-loaded { height: 1fr; margin-top: 1; }
    MonitorTab #mon-fleet { column-span: 2; display: none; }
    MonitorTab.-fleet { grid-size: 2 6; grid-rows: 1 auto auto 4 auto 1fr; }
    MonitorTab.-fleet #mon-fleet { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort CPU/mem", id="monitor.sort"),
        Binding("p", "pause", "Pause", id="monitor.pause"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.can_focus = True  # the tab's keys work once it has the focus
        self.paused = False
        self.sample: Sample | None = None  # the one on screen
        self._keys: dict[str, object] = {}  # what each panel was last drawn from
        self.fleet: Fleet | None = None
        self._fleet_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("Monitor: first reading…", "$text-muted"), id="mon-header")
        yield FleetRows(id="mon-fleet")  # shown with two or more named hosts
        yield CoreBars(id="mon-cores")
        yield Static(id="mon-memory")
        yield Static(id="mon-sensors")
        yield Static(id="mon-throttle")
        yield ProcessTable(id="mon-procs")
        yield Static(id="mon-loaded")

    def on_mount(self) -> None:
        self.watch(self.app, "monitor_sample", self._on_sample, init=False)
        # The app's active tab, not Show/Hide events: those do not always arrive.
        self.set_class(len(self.pislm.settings.hosts) >= 2, "-fleet")
        self.watch(self.app, "active_tab", self._tab_changed)

    def _tab_changed(self, tab: str) -> None:
        """Full-rate readings only while this tab is the one on screen."""
        shown = tab == "monitor"
        self.pislm.monitor.set_monitor_visible(shown)
        if self.has_class("-fleet"):
            self._fleet_shown(shown)

    # -- the fleet view (hosts/fleet.py): a look at every host now and then -----------------

    def _fleet_shown(self, shown: bool) -> None:
        if not shown:
            if self._fleet_timer is not None:
                self._fleet_timer.pause()
            return
        self.refresh_fleet()
        if self.pislm.monitor.manual:
            return  # tests take every reading themselves
        if self._fleet_timer is None:
            every = max(FLEET_EVERY, self.pislm.settings.monitor.vcgencmd_interval)
            self._fleet_timer = self.set_interval(every, self.refresh_fleet, name="fleet")
        else:
            self._fleet_timer.resume()

    @work(exclusive=True, group="fleet", exit_on_error=False)
    async def refresh_fleet(self) -> None:
        app = self.pislm
        if self.fleet is None:
            from pislm_tui.hosts.fleet import Fleet
            from pislm_tui.hosts.machines import machine_sampler
            from pislm_tui.hosts.named import named_hosts

            settings = app.settings
            hosts = named_hosts(settings)
            self.fleet = Fleet(settings, hosts, lambda h: machine_sampler(h, settings))
        rows = await self.fleet.rows()
        self.query_one(FleetRows).show(rows)

    async def on_unmount(self) -> None:
        if self.fleet is not None:
            await self.fleet.aclose()

    def main_control(self) -> Widget:
        """Focused by the app each time this tab is shown: the tab's body itself (the process
        list and the panels are drawings), so `s` sorts the processes and `p` pauses at once."""
        return self

    def on_resize(self, event: Resize) -> None:
        self._keys.clear()
        if self.sample is not None:
            self.call_after_refresh(self._draw, self.sample)

    # -- actions --------------------------------------------------------------------------

    def action_sort(self) -> None:
        table = self.query_one(ProcessTable)
        table.sort = "mem" if table.sort == "cpu" else "cpu"
        table.show(table.sample)

    def action_pause(self) -> None:
        self.paused = not self.paused
        self._keys.clear()
        latest = self.pislm.monitor_sample
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
        host = urlsplit(self.pislm.backend.url).hostname or ""
        if host in _LOCAL_HOSTS or host == sample.host or self._over_ssh() is not None:
            return None
        return host

    def _over_ssh(self) -> RemoteMonitor | None:
        sampler = self.pislm.monitor.sampler
        return sampler if isinstance(sampler, RemoteMonitor) else None

    def _whose(self) -> tuple[str | None, str | None, PislmError | None]:
        """(how the figures arrive, what to do to see the server's machine, the ssh failure)."""
        remote = self._over_ssh()
        if remote is not None:
            mode = {"pislm": "over ssh, pislm there", "shell": "over ssh"}.get(remote.mode or "")
            return mode or "over ssh", None, remote.error
        name = self.pislm.host.name
        where = f"[hosts.{name}]" if name else "a [hosts.NAME] for it"
        return None, f'set ssh = "user@machine" in {where} to see its own', None

    def _draw(self, s: Sample) -> None:
        un = s.unavailable
        interval = self.pislm.settings.monitor.interval
        remote = self._remote(s)
        via, hint, failure = self._whose()
        self._panel(
            "#mon-header",
            (s.host, len(s.cores), s.load, self.paused, remote, interval, via),
            lambda: panels.header(
                s, interval=interval, paused=self.paused, remote=remote, via=via, hint=hint
            ),
        )
        sampler = self.pislm.monitor.sampler
        self.query_one(CoreBars).update_cores(s.cores, s.cpu_percent, sampler.history, s.time)
        memory = self.query_one("#mon-memory", Static)
        width = memory.content_size.width or 36
        power = [w for _, w in sampler.power_history][-20:]  # the sparkline's readings
        self._panel(
            "#mon-memory",
            (s.ram, s.swap, width, un.get("ram"), un.get("swap"), s.power_w, tuple(power)),
            lambda: panels.memory_block(s, width, power),
        )
        self._panel(
            "#mon-sensors",
            (
                s.temp_c,
                s.fan_rpm,
                s.fan_percent,
                s.freq_mhz,
                s.freq_max_mhz,
                s.freq_source,
                s.throttled,
                un.get("temp_c"),
                un.get("fan_rpm"),
                un.get("freq_mhz"),
            ),
            lambda: panels.sensors_block(s),
        )
        if failure is not None:  # ssh failed: what happened and what to do, where it shows
            self._panel(
                "#mon-throttle",
                ("failure", str(failure)),
                lambda: panels.remote_failure(failure.message, failure.hint),
            )
        else:
            self._panel(
                "#mon-throttle",
                (s.throttled, s.under_voltage, un.get("throttled")),
                lambda: panels.throttle_block(s),
            )
        self.query_one(ProcessTable).show(s)
        # Time left is shown in minutes: a new look every half minute is plenty.
        self._panel(
            "#mon-loaded",
            (s.ollama_loaded, un.get("ollama_loaded"), int(time.time() // 30)),
            lambda: panels.loaded_block(s),
        )
        if self._keys.get("tooltips") != (tips := tuple(sorted(un.items()))):
            self._keys["tooltips"] = tips
            self._set_tooltips(s)

    def _panel(self, target: str, key: object, build: Callable[[], Content]) -> None:
        """Rebuild a panel only when what it shows has changed (most do not, most seconds)."""
        if self._keys.get(target) == key:
            return
        self._keys[target] = key
        self._set(target, build())

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
            ("#mon-memory", ("ram", "swap", "power_w")),
            ("#mon-loaded", ("ollama_loaded",)),
        ):
            tip = "\n".join(f"{n}: {s.unavailable[n]}" for n in names if n in s.unavailable) or None
            widget = self.query_one(target, Static)
            if widget.tooltip != tip:
                widget.tooltip = tip
