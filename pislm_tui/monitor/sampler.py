"""The Sampler: one owner of the machine readings. It keeps the previous CPU times so per-core
CPU % are deltas (the first reading only sets the baseline), takes the cheap readings on every
call and runs the slow sources (vcgencmd, Ollama's /api/ps) in the background every
`slow_interval` seconds, so a hung command or an unreachable server never stalls a reading.

The readings come from a `MachineReader` (reader.py): psutil for this machine (`local.py`), the
files of a /proc and /sys tree elsewhere (`files.py`); this module turns either into a Sample."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pislm_tui.backend.errors import PislmError
from pislm_tui.backend.types import LoadedModel
from pislm_tui.monitor.compose import FastReadings, compose_sample
from pislm_tui.monitor.files import FileReader
from pislm_tui.monitor.power import parse_pmic
from pislm_tui.monitor.reader import (
    CpuTimes,
    MachineReader,
    ProcTimes,
    core_percents,
    top_processes,
)
from pislm_tui.monitor.types import ProcessInfo, Sample, SourceUnavailable
from pislm_tui.monitor.vcgencmd import (
    Vcgencmd,
    VcgencmdCall,
    parse_clock,
    parse_temp,
    parse_throttled,
)

LoadedCall = Callable[[], Awaitable[Sequence[LoadedModel]]]
MEASURING = "measuring (needs two readings)"
STALE_PROCESS_BASELINE = 10.0  # s: an older process baseline would average over a long gap
LOADED_TIMEOUT = 5.0
# s: how often vcgencmd (throttle bits, Arm clock, power) is asked while a reply or a bench
# run records its conditions (conditions.py): often enough to see throttling start.
RECORDING_SLOW_INTERVAL = 2.0
LOCAL_PROC, LOCAL_SYS = Path("/proc"), Path("/sys")


def machine_reader(
    proc_root: str | Path = LOCAL_PROC,
    sys_root: str | Path = LOCAL_SYS,
    *,
    page_size: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> MachineReader:
    """psutil for this machine's own /proc and /sys; the files for a tree anywhere else."""
    proc_root, sys_root = Path(proc_root), Path(sys_root)
    if proc_root == LOCAL_PROC and sys_root == LOCAL_SYS:
        from pislm_tui.monitor.local import PsutilReader

        return PsutilReader(clock, sys_root)
    return FileReader(proc_root, sys_root, page_size=page_size, clock=clock)


class Sampler:
    def __init__(
        self,
        *,
        proc_root: str | Path = LOCAL_PROC,
        sys_root: str | Path = LOCAL_SYS,
        reader: MachineReader | None = None,
        vcgencmd: str | Sequence[str] | VcgencmdCall | None = "vcgencmd",
        loaded: LoadedCall | None = None,
        slow_interval: float = 5.0,
        process_interval: float = 2.0,
        top: int = 8,
        history_seconds: float = 60.0,
        page_size: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = reader or machine_reader(
            proc_root, sys_root, page_size=page_size, clock=clock
        )
        self.vcgencmd = Vcgencmd(vcgencmd)
        self.loaded = loaded
        self.slow_interval = slow_interval
        self.process_interval = process_interval
        self.top = top
        self.history_seconds = history_seconds
        self.clock = clock
        self.wall_clock = wall_clock
        # (time, per-core %) of recent samples, oldest first: the Monitor tab's history.
        self.history: deque[tuple[float, tuple[float, ...]]] = deque()
        self._lock = asyncio.Lock()
        self._stat: dict[str, CpuTimes] | None = None
        # (when, all CPUs' total time, each process's CPU time by (pid, start)), reader's unit
        self._proc_prev: tuple[float, float, dict[tuple[int, float], float]] | None = None
        self._roles: dict[tuple[int, float], str | None] = {}
        # The process list is the costly part (a file per process): kept for process_interval.
        self._processes: tuple[tuple[ProcessInfo, ...] | None, str | None] = (None, MEASURING)
        self._slow: dict[str, Any] = {}
        self._slow_due = 0.0
        self._slow_detail = False
        self._slow_task: asyncio.Task[None] | None = None
        self.last: Sample | None = None  # the latest reading, for a caller that needs one now
        # Callbacks given every reading while they are in (conditions.Recording): while any
        # is, the cheap readings also carry the conditions (clock, throttle bits, power).
        self.recorders: list[Callable[[Sample], None]] = []
        # (time, watts) of each reading with power, oldest first: the Monitor tab's sparkline.
        self.power_history: deque[tuple[float, float]] = deque(maxlen=120)

    # -- public ---------------------------------------------------------------------------

    def prime(self) -> None:
        """Take the baseline CPU times now, so the next sample has CPU figures."""
        try:
            self._stat = self.reader.cpu_times()
        except SourceUnavailable:
            self._stat = None

    async def sample(
        self, *, detail: bool = True, processes: bool | None = None, wait_slow: bool = False
    ) -> Sample:
        """One reading. `detail=False` is the cheap kind the live strip needs (CPU, memory,
        temperature); `processes` defaults to `detail`; `wait_slow` waits for vcgencmd and
        /api/ps instead of using their last values. Never raises for a missing source."""
        processes = detail if processes is None else processes
        full = detail or bool(self.recorders)  # the conditions too (clock, throttle, power)
        async with self._lock:
            if processes and self._processes_due():
                # ~one file per process: off the event loop.
                fast = await asyncio.to_thread(self._read_fast, full, processes)
            else:
                fast = self._read_fast(full, processes)
            now = self.clock()
            if now >= self._slow_due or (full and not self._slow_detail):
                self._start_slow(full, need_temp=fast.temp is None, now=now, loaded=detail)
            if wait_slow and self._slow_task is not None:
                await asyncio.shield(self._slow_task)
            sample = compose_sample(
                fast, self._slow, full=full, now=now, detail=detail, taken_at=self.wall_clock()
            )
            if sample.cores:
                self._remember(now, sample.cores)
            self.last = sample
            if sample.power_w is not None:
                self.power_history.append((now, sample.power_w))
            for record in list(self.recorders):
                record(sample)
            return sample

    async def __aenter__(self) -> Sampler:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        task, self._slow_task = self._slow_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- fast sources: small files --------------------------------------------------------

    def _read_fast(self, detail: bool, processes: bool) -> FastReadings:
        f = FastReadings()
        reader = self.reader
        f.host = reader.host()
        stat = self._read_cpu(f)
        try:
            f.ram, f.swap = reader.memory()
            if f.swap is None:
                f.unavailable["swap"] = "no swap figures in /proc/meminfo"
        except SourceUnavailable as exc:
            f.unavailable["ram"] = f.unavailable["swap"] = exc.reason
        try:
            f.temp = reader.temperature()
        except SourceUnavailable as exc:
            f.unavailable["temp_c"] = exc.reason
        if detail:
            for name, read in (
                ("load", reader.load),
                ("fan_rpm", reader.fan),
                ("freq_mhz", reader.cpufreq),
                ("under_voltage", reader.under_voltage),
            ):
                try:
                    value = read()
                except SourceUnavailable as exc:
                    f.unavailable[name] = exc.reason
                    continue
                attr = {"load": "load", "fan_rpm": "fan", "freq_mhz": "freq"}.get(name, name)
                setattr(f, attr, value)
        if processes:
            if self._processes_due():
                self._read_processes(f, stat)
                reason = f.unavailable.get("processes")
                self._processes = (f.processes, reason)
            else:
                f.processes, reason = self._processes
                if reason:
                    f.unavailable["processes"] = reason
        return f

    def _processes_due(self) -> bool:
        prev = self._proc_prev
        if prev is None or self._processes[1] == MEASURING:
            return True  # no list yet: read at once (the first read is only a baseline)
        return self.clock() - prev[0] >= self.process_interval - 0.05

    def _read_cpu(self, f: FastReadings) -> dict[str, CpuTimes] | None:
        try:
            stat = self.reader.cpu_times()
        except SourceUnavailable as exc:
            f.unavailable["cores"] = exc.reason
            return None
        if self._stat is None:
            f.unavailable["cores"] = MEASURING
        else:
            f.cpu, f.cores = core_percents(self._stat, stat)
        self._stat = stat
        return stat

    def _read_processes(self, f: FastReadings, stat: dict[str, CpuTimes] | None) -> None:
        try:
            current = self.reader.processes()
        except SourceUnavailable as exc:
            f.unavailable["processes"] = exc.reason
            self._proc_prev = None
            return
        now = self.clock()
        total = stat["cpu"].total if stat and "cpu" in stat else None
        ncores = max(len(f.cores) or sum(1 for n in (stat or {}) if n != "cpu"), 1)
        prev = self._proc_prev
        used = {(p.pid, p.start): p.cpu_time for p in current}
        self._proc_prev = (now, total, used) if total is not None else None
        self._roles = {k: self._roles[k] for k in used if k in self._roles}
        if prev is None or total is None or now - prev[0] > STALE_PROCESS_BASELINE:
            f.unavailable["processes"] = MEASURING
            return
        f.processes = top_processes(
            prev[2],
            current,
            elapsed_per_core=(total - prev[1]) / ncores,
            mem_total=f.ram.total if f.ram else None,
            describe=self._describe,
            count=self.top,
        )

    def _describe(self, p: ProcTimes) -> tuple[str, str | None]:
        """(name, Ollama role) of a process shown; the role is worked out once per process."""
        name = self.reader.process_name(p)
        key = (p.pid, p.start)
        if key not in self._roles:
            self._roles[key] = self.reader.ollama_role(p, name)
        return name, self._roles[key]

    # -- slow sources: vcgencmd and /api/ps, in the background ------------------------------

    def _start_slow(self, detail: bool, *, need_temp: bool, now: float, loaded: bool) -> None:
        if self._slow_task is not None and not self._slow_task.done():
            return
        interval = self.slow_interval
        if self.recorders:
            interval = min(interval, RECORDING_SLOW_INTERVAL)
        self._slow_due = now + interval
        self._slow_detail = detail
        # Coroutines made in the task: one cancelled before it runs leaves none un-awaited.
        jobs: dict[str, Callable[[], Awaitable[Any]]] = {}
        if need_temp:
            jobs["vc_temp"] = lambda: self._vc(parse_temp, "measure_temp")
        if detail:
            jobs["throttled"] = lambda: self._vc(parse_throttled, "get_throttled")
            jobs["arm_clock"] = lambda: self._vc(parse_clock, "measure_clock", "arm")
            power = self._slow.get("power")
            # A firmware without the PMIC query (a Pi 4) says so once; it is not asked again.
            if not (isinstance(power, SourceUnavailable) and power.reason.startswith("firmware")):
                jobs["power"] = lambda: self._vc(parse_pmic, "pmic_read_adc")
        if loaded:
            jobs["loaded"] = self._ollama_loaded
        if jobs:
            self._slow_task = asyncio.create_task(self._refresh_slow(jobs))

    async def _refresh_slow(self, jobs: dict[str, Callable[[], Awaitable[Any]]]) -> None:
        results = await asyncio.gather(*(make() for make in jobs.values()))
        self._slow.update(zip(jobs, results, strict=True))

    async def _vc(self, parse: Callable[[str], Any], *args: str) -> Any:
        """A parsed value, or the SourceUnavailable saying why not."""
        try:
            return parse(await self.vcgencmd.query(*args, now=self.clock()))
        except SourceUnavailable as exc:
            return exc

    async def _ollama_loaded(self) -> tuple[LoadedModel, ...] | SourceUnavailable:
        if self.loaded is None:
            return SourceUnavailable("no Ollama server to ask")
        try:
            return tuple(await asyncio.wait_for(self.loaded(), LOADED_TIMEOUT))
        except PislmError as exc:
            return SourceUnavailable(exc.message)
        except TimeoutError:
            return SourceUnavailable(f"/api/ps did not answer within {LOADED_TIMEOUT:g} s")
        except Exception as exc:  # a monitor must outlive any backend bug
            return SourceUnavailable(f"/api/ps failed: {type(exc).__name__}: {exc}")

    def _remember(self, now: float, cores: tuple[float, ...]) -> None:
        self.history.append((now, cores))
        while self.history and self.history[0][0] < now - self.history_seconds - 1:
            self.history.popleft()


async def sample_once(
    *,
    interval: float = 0.25,
    loaded: LoadedCall | None = None,
    proc_root: str | Path = LOCAL_PROC,
    sys_root: str | Path = LOCAL_SYS,
    reader: MachineReader | None = None,
    vcgencmd: str | Sequence[str] | VcgencmdCall | None = "vcgencmd",
    top: int = 8,
) -> Sample:
    """One complete sample: two readings of the CPU times `interval` seconds apart for the CPU
    figures, vcgencmd and /api/ps (through `loaded`, e.g. `backend.loaded`) waited for."""
    sampler = Sampler(
        proc_root=proc_root,
        sys_root=sys_root,
        reader=reader,
        vcgencmd=vcgencmd,
        loaded=loaded,
        top=top,
    )
    try:
        await sampler.sample(detail=True, wait_slow=True)
        await asyncio.sleep(interval)
        return await sampler.sample(detail=True, wait_slow=True)
    finally:
        await sampler.aclose()
