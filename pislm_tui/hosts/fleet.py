"""The fleet: one compact row per host — up or down, the server's version, the model in
memory, CPU load, temperature, throttling and power where known. A missing piece carries its
reason (no ssh, unreachable, not a Pi), short for the row and in full for a tooltip or --json.

`Fleet` keeps one server client and one machine reader per host between refreshes (an ssh
host keeps its one multiplexed connection); the Monitor tab and `pislm monitor --hosts` use it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pislm_tui.backend import Backend, make_backend
from pislm_tui.backend.errors import PislmError, ServerUnreachable, Unsupported
from pislm_tui.config import Settings
from pislm_tui.hosts.named import Host, settings_for
from pislm_tui.monitor.remote import MachineSampler
from pislm_tui.monitor.throttle import Throttle
from pislm_tui.monitor.types import Sample

ROW_TIMEOUT = 15.0  # s for one host's row: a hung host must not hold the others


@dataclass(frozen=True)
class FleetRow:
    host: Host
    up: bool
    version: str | None = None
    loaded: tuple[str, ...] | None = None  # models in memory
    load: float | None = None  # 1-minute load average
    cores: int | None = None
    temp_c: float | None = None
    throttled: Throttle | None = None
    power_w: float | None = None  # from the Pi insights' power reading, when the sample has one
    why: dict[str, str] = field(default_factory=dict)  # field -> full reason it is missing

    def short(self, name: str) -> str:
        """A missing piece's reason in a word or two, for the row."""
        reason = self.why.get(name, "")
        low = reason.lower()
        if "no ssh" in low:
            return "no ssh"
        if "not a pi" in low or ("not found" in low and "vcgencmd" in low):
            return "not a Pi"
        if "openai" in low:
            return "no ps (OpenAI)"
        if "ssh" in low:
            return "ssh error"
        if "unreach" in low or "cannot reach" in low or "no answer" in low:
            return "unreachable"
        return "n/a"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host.label,
            "url": self.host.url,
            "api": self.host.api,
            "ssh": self.host.ssh,
            "up": self.up,
            "version": self.version,
            "loaded": None if self.loaded is None else list(self.loaded),
            "load": self.load,
            "cores": self.cores,
            "temp_c": self.temp_c,
            "throttled": self.throttled.to_json() if self.throttled else None,
            "power_w": self.power_w,
            "unavailable": dict(self.why),
        }


def power_of(sample: Sample) -> float | None:
    """The board's power in watts (a Pi 5's PMIC, `monitor/power.py`): over ssh the shell
    reader asks `vcgencmd pmic_read_adc` there, and `pislm monitor --json` there carries it."""
    return sample.power_w


MakeSampler = Callable[[Host], MachineSampler | None]


class Fleet:
    """The rows of `hosts`. `make_sampler(host)`: the reader of that host's machine (over its
    ssh; this machine's for a local server), None when its figures cannot be had."""

    def __init__(self, settings: Settings, hosts: list[Host], make_sampler: MakeSampler) -> None:
        self.settings = settings
        self.hosts = hosts
        self.make_sampler = make_sampler
        self._backends: dict[str, Backend] = {}
        self._samplers: dict[str, MachineSampler | None] = {}

    def _backend(self, host: Host) -> Backend:
        key = host.label
        if key not in self._backends:
            self._backends[key] = make_backend(settings_for(self.settings, host))
        return self._backends[key]

    def _sampler(self, host: Host) -> MachineSampler | None:
        key = host.label
        if key not in self._samplers:
            sampler = self._samplers[key] = self.make_sampler(host)
            if sampler is not None:
                sampler.prime()  # the CPU baseline, so the next look has CPU figures
        return self._samplers[key]

    async def rows(self) -> list[FleetRow]:
        """Every host's row, asked at the same time (each within ROW_TIMEOUT)."""
        return list(await asyncio.gather(*(self.row(h) for h in self.hosts)))

    async def row(self, host: Host) -> FleetRow:
        why: dict[str, str] = {}
        server, machine = await asyncio.gather(
            _timed(self._server(host, why)), _timed(self._machine(host, why))
        )
        up, version, loaded = server if isinstance(server, tuple) else (False, None, None)
        if isinstance(server, str):
            why["server"] = server
        s = machine if isinstance(machine, Sample) else None
        if isinstance(machine, str):
            for name in ("load", "temp_c", "throttled", "power_w"):
                why.setdefault(name, machine)
        if s is not None:
            for name, attr in (("load", "load"), ("temp_c", "temp_c"), ("throttled", "throttled")):
                if getattr(s, attr) is None:
                    why[name] = s.why(attr)
            if power_of(s) is None:
                why["power_w"] = s.why("power_w")
        return FleetRow(
            host=host,
            up=up,
            version=version,
            loaded=loaded,
            load=s.load[0] if s is not None and s.load else None,
            cores=len(s.cores) if s is not None and s.cores else None,
            temp_c=s.temp_c if s is not None else None,
            throttled=s.throttled if s is not None else None,
            power_w=power_of(s) if s is not None else None,
            why=why,
        )

    async def _server(
        self, host: Host, why: dict[str, str]
    ) -> tuple[bool, str | None, tuple[str, ...] | None]:
        backend = self._backend(host)
        try:
            version = await backend.version()
        except PislmError as exc:
            why["version"] = why["loaded"] = str(exc)
            return False, None, None
        if version is None:
            why["version"] = "an OpenAI-compatible server does not say its version"
        try:
            loaded = tuple(m.name for m in await backend.loaded())
        except Unsupported:
            why["loaded"] = "the OpenAI API has no ps: what is in memory is not known"
            loaded = None
        except ServerUnreachable as exc:
            why["loaded"] = str(exc)
            return False, version, None
        except PislmError as exc:
            why["loaded"] = str(exc)
            loaded = None
        return True, version, loaded

    async def _machine(self, host: Host, why: dict[str, str]) -> Sample | str:
        sampler = self._sampler(host)
        if sampler is None:
            return (
                f'no ssh: the server runs on {host.machine}; set ssh = "user@{host.machine}" '
                f"in [hosts.{host.name or 'NAME'}] to read that machine"
            )
        sample = await sampler.sample(detail=True, processes=False, wait_slow=True)
        error = getattr(sampler, "error", None)
        return str(error) if isinstance(error, PislmError) else sample

    async def aclose(self) -> None:
        for backend in self._backends.values():
            with contextlib.suppress(Exception):
                await backend.aclose()
        for sampler in self._samplers.values():
            if sampler is not None:
                with contextlib.suppress(Exception):
                    await sampler.aclose()
        self._backends.clear()
        self._samplers.clear()


async def _timed(work: Any) -> Any:
    try:
        return await asyncio.wait_for(work, ROW_TIMEOUT)
    except TimeoutError:
        return f"no answer within {ROW_TIMEOUT:g} s"


COLUMNS = ("host", "server", "model", "load", "temp", "throttled", "power")


def row_cells(row: FleetRow) -> tuple[str, ...]:
    """The row as short texts, one per `COLUMNS` entry (a missing piece: its short reason)."""
    server = "down" if not row.up else (f"up {row.version}" if row.version else "up")
    if row.loaded is None:
        model = row.short("loaded") if row.up else "-"
    else:
        model = ", ".join(row.loaded) or "none loaded"
    if row.load is not None:
        load = f"{row.load:.2f}" + (f"/{row.cores}" if row.cores else "")
    else:
        load = row.short("load")
    temp = f"{row.temp_c:.0f}°C" if row.temp_c is not None else row.short("temp_c")
    if row.throttled is not None:
        t = row.throttled
        throttled = "NOW" if t.now else ("since boot" if not t.ok else "no")
    else:
        throttled = row.short("throttled")
    power = f"{row.power_w:.1f} W" if row.power_w is not None else row.short("power_w")
    return (row.host.label, server, model, load, temp, throttled, power)
