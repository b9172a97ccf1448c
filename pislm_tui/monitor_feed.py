"""The app's one Sampler and the one timer that drives it (UI side of `pislm_tui.monitor`).

Each reading is published (the app puts it on `app.monitor_sample`; the live strip and the
Monitor tab watch it). Rate: `monitor.interval` (1 s) while the Monitor tab is shown; otherwise
only the live strip needs figures, at most once a second (every 2 s over SSH), and only cheap
ones (no process list, no vcgencmd unless it is the only thermometer, no /api/ps). With the strip
off and the tab hidden, nothing runs. Over SSH the strip rests while the user and the app are
idle (`monitor.strip_rest_after`): an idle app then reads nothing and sends no bytes. Headless
runs (tests, snapshots) leave the strip idle until `start_strip(force=True)`, so other tabs'
snapshots do not show this machine's live load.

The feed knows nothing of the app: it runs its timer and one-off readings on a `FeedHost` (the
Textual app), and everything else comes in or goes out through the callables it is given."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from pislm_tui.monitor import LoadedCall, Sample, Sampler

if TYPE_CHECKING:
    from textual.timer import Timer
    from textual.worker import Worker

    from pislm_tui.backend.base import Backend
    from pislm_tui.config import MonitorSettings
    from pislm_tui.monitor.conditions import Recording
    from pislm_tui.monitor.remote import MachineSampler


class FeedHost(Protocol):
    """Where the feed runs: a Textual App (or any node) provides these."""

    @property
    def is_headless(self) -> bool: ...

    def set_interval(
        self, interval: float, callback: Callable[[], Awaitable[None]], *, name: str | None = None
    ) -> Timer: ...

    def run_worker(
        self, work: Awaitable[Any], *, group: str = "default", exclusive: bool = False
    ) -> Worker[Any]: ...


class MonitorFeed:
    def __init__(
        self,
        host: FeedHost,
        settings: MonitorSettings,
        *,
        loaded: LoadedCall | None,
        publish: Callable[[Sample], None],
        rest: Callable[[bool], None],
        report: Callable[[BaseException], None],
        quiet_for: Callable[[], float],
        ssh: bool = False,
        make_sampler: Callable[[], MachineSampler | None] | None = None,
    ) -> None:
        """`loaded`: Ollama's /api/ps (`backend.loaded`); `publish`: a new reading; `rest`: the
        strip rests (True) or shows live figures again (False); `report`: a sampler bug, shown
        once; `quiet_for`: seconds without input and without a long job (0 while one runs);
        `make_sampler`: the sampler of another machine (the host's, over ssh), None: this one."""
        self.host = host
        self.settings = settings
        self.loaded = loaded
        self.publish = publish
        self.rest = rest
        self.report = report
        self.quiet_for = quiet_for
        self.ssh = ssh
        self.make_sampler = make_sampler
        self.monitor_visible = False
        self.strip_running = False
        self._sampler: MachineSampler | None = None
        self._timer: Timer | None = None
        self._interval: float | None = None
        self._failed = False
        self.resting = False
        # True: no timer; whoever set it calls sample_now() (tests that replay a recording).
        self.manual = False

    @property
    def sampler(self) -> MachineSampler:
        if self._sampler is None and self.make_sampler is not None:
            self._sampler = self.make_sampler()
        if self._sampler is None:
            s = self.settings
            self._sampler = Sampler(
                proc_root=s.proc_root,
                sys_root=s.sys_root,
                vcgencmd=s.vcgencmd or None,
                loaded=self.loaded,
                slow_interval=s.vcgencmd_interval,
                top=s.top_processes,
            )
        return self._sampler

    def use_sampler(self, sampler: MachineSampler) -> None:
        """Replace the sampler (tests feed recorded machines through this)."""
        self._sampler = sampler

    async def change_machine(self, make_sampler: Callable[[], MachineSampler | None]) -> None:
        """Another host: the old sampler is closed, the next reading comes from the new one."""
        old, self._sampler = self._sampler, None
        self.make_sampler = make_sampler
        self._failed = False
        if old is not None:
            await old.aclose()
        if self.strip_running:
            self.sampler.prime()
        if self.monitor_visible:
            self.host.run_worker(self.sample_now(), group="monitor-now", exclusive=True)

    @property
    def interval(self) -> float | None:
        """Seconds between readings now, or None when nothing needs them."""
        if self.monitor_visible:
            return self.settings.interval
        if self.strip_running:
            return max(self.settings.interval, 2.0 if self.ssh else 1.0)
        return None

    @property
    def running(self) -> bool:
        """Whether a timer is taking readings now."""
        return self._timer is not None

    def start_strip(self, *, force: bool = False) -> None:
        """Feed the live strip in the background. The app calls this after its first frame;
        a headless app (tests, snapshots) only with `force`."""
        if not self.settings.show_strip or self.strip_running:
            return
        if self.host.is_headless and not force:
            return
        self.strip_running = True
        self.sampler.prime()  # the baseline, so the first tick already has CPU figures
        self._reschedule()

    def set_monitor_visible(self, visible: bool) -> None:
        if visible == self.monitor_visible:
            return
        self.monitor_visible = visible
        self._reschedule()
        if visible:  # a full reading now rather than one interval later
            self.host.run_worker(self.sample_now(), group="monitor-now", exclusive=True)

    def _reschedule(self) -> None:
        wanted = None if self.manual else self.interval
        if wanted == self._interval and (self._timer is not None) == (wanted is not None):
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._interval = wanted
        if wanted is not None:
            self._timer = self.host.set_interval(wanted, self.tick, name="monitor")

    def should_rest(self) -> bool:
        """Strip only, over SSH, no input for `strip_rest_after` s and no long job running."""
        after = self.settings.strip_rest_after
        if self.monitor_visible or not self.ssh or after <= 0:
            return False
        return self.quiet_for() >= after

    async def tick(self) -> None:
        """The timer: a reading, unless the strip should rest."""
        if self.should_rest():
            if not self.resting:
                self.resting = True
                self.rest(True)
                if self._timer is not None:
                    self._timer.pause()  # not even a wake-up until a key
            return
        self.wake()
        await self.sample_now()

    def wake(self) -> None:
        """Input arrived or work started: the strip shows live figures again."""
        if self.resting:
            self.resting = False
            self.rest(False)
            if self._timer is not None:
                self._timer.resume()
                self.host.run_worker(self.sample_now(), group="monitor-now", exclusive=True)

    async def sample_now(self) -> Sample | None:
        """Take one reading and publish it."""
        try:
            sample = await self.sampler.sample(detail=self.monitor_visible)
        except Exception as exc:  # the sampler reports missing sources itself; this is a bug
            if not self._failed:
                self._failed = True
                self.report(exc)
            return None
        self.publish(sample)
        return sample

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._sampler is not None:
            await self._sampler.aclose()


class ConditionsHost(Protocol):
    """What `reply_recording` needs of the app."""

    @property
    def monitor(self) -> MonitorFeed: ...

    @property
    def backend(self) -> Backend: ...


def machine_of_server(feed: MonitorFeed, url: str) -> tuple[MachineSampler, float | None] | None:
    """The app's sampler when it reads the machine that runs the server at `url`: the host's
    machine over ssh (the feed's `RemoteMonitor`), or this machine when the server runs here;
    with the seconds between readings a recording must take itself (None: the feed's timer
    reads it). None when the server runs elsewhere without ssh (this machine's heat says
    nothing about it)."""
    from pislm_tui.models.memory import is_local_server
    from pislm_tui.monitor.remote import RemoteMonitor

    sampler = feed.sampler
    if not isinstance(sampler, RemoteMonitor) and not is_local_server(url):
        return None
    return sampler, None if feed.running or feed.manual else 1.0


def reply_recording(host: ConditionsHost) -> Recording | None:
    """A Recording of the conditions of the machine that runs the model (see
    `machine_of_server`) for a reply or a bench run, on the app's one sampler; None when that
    machine cannot be read."""
    from pislm_tui.monitor.conditions import Recording

    found = machine_of_server(host.monitor, host.backend.url)
    if found is None:
        return None
    sampler, drive = found
    return Recording(sampler, drive=drive)
