"""What the Sampler asks of a machine, and the core that turns raw counters into figures.

A `MachineReader` gives raw readings in plain units (cumulative CPU seconds, bytes, °C, MHz).
Two readers exist: `local.PsutilReader` for this machine (psutil, plus the Pi-specific sysfs
files psutil does not read) and `files.FileReader` for a /proc and /sys tree elsewhere (recorded
machines in the tests, a host's /proc mounted into a container). Both are turned into a `Sample`
by the same code (`sampler.py`, `core_percents`, `top_processes`), so a future reader fed by
another machine's /proc text over SSH needs only the parsers in `procfs.py`.

Every method raises `SourceUnavailable` with a reason a user understands, never anything else."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pislm_tui.monitor.types import Memory, ProcessInfo
from pislm_tui.text import clean_output


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative time of one CPU (or of all, "cpu"): all busy+idle time, and the idle part, in
    the reader's own unit (psutil: seconds; /proc files: jiffies, kept whole so the figures are
    exact). Only ratios of readings from the same reader are used."""

    total: float
    idle: float


@dataclass(frozen=True, slots=True)
class ProcTimes:
    """One process as a reader saw it: cumulative CPU time (user + system, in the same unit as
    the reader's `CpuTimes`) and resident bytes. `start` tells a reused pid apart. `name` when
    the reader got it for free; otherwise `MachineReader.process_name` asks for it."""

    pid: int
    start: float
    cpu_time: float
    rss: int
    name: str | None = None


class MachineReader(Protocol):
    """Raw readings of one machine. `processes()` may be slow (a file per process): the
    Sampler calls it off the event loop."""

    def host(self) -> str | None: ...

    def cpu_times(self) -> dict[str, CpuTimes]:
        """`cpu` (all together) and `cpu0`..`cpuN`, in the unit of `ProcTimes.cpu_time`."""
        ...

    def memory(self) -> tuple[Memory, Memory | None]:
        """(RAM, swap); used = total - available, as `free` and htop count it."""
        ...

    def load(self) -> tuple[float, float, float]: ...

    def temperature(self) -> tuple[float, str]:
        """(SoC °C, where it came from)."""
        ...

    def fan(self) -> tuple[int, float | None]:
        """(RPM, PWM duty %)."""
        ...

    def cpufreq(self) -> tuple[float, float | None]:
        """(current MHz as the kernel requested it, ceiling MHz)."""
        ...

    def under_voltage(self) -> bool: ...

    def processes(self) -> list[ProcTimes]:
        """Every process's CPU time and memory: enough to pick the busiest and the largest."""
        ...

    def process_name(self, process: ProcTimes) -> str:
        """The name of one process the list will show (of the last `processes()`)."""
        ...

    def ollama_role(self, process: ProcTimes, name: str) -> str | None: ...


# -- CPU ------------------------------------------------------------------------------------


def busy_percent(prev: CpuTimes, cur: CpuTimes) -> float:
    """Share of the period spent busy; negative deltas (counter reset, hotplug) count as 0."""
    total = max(cur.total - prev.total, 0)
    idle = max(cur.idle - prev.idle, 0)
    if total == 0:
        return 0.0
    return max(0.0, min(100.0, 100.0 * (total - min(idle, total)) / total))


def core_percents(
    prev: dict[str, CpuTimes], cur: dict[str, CpuTimes]
) -> tuple[float | None, tuple[float, ...]]:
    """(all cores together, per core in cpu0..cpuN order) between two readings. A core missing
    from either reading (taken offline) is left out."""
    names = sorted(
        (n for n in cur if n != "cpu" and n in prev and n[3:].isdigit()), key=lambda n: int(n[3:])
    )
    cores = tuple(round(busy_percent(prev[n], cur[n]), 1) for n in names)
    overall = (
        round(busy_percent(prev["cpu"], cur["cpu"]), 1) if "cpu" in prev and "cpu" in cur else None
    )
    return overall, cores


# -- processes ------------------------------------------------------------------------------


def process_name(raw: str) -> str:
    """A process name as shown: anyone can name a process, so control characters and escape
    sequences are removed (a name must not clear the screen)."""
    if not raw.isprintable():
        raw = clean_output(raw).replace("\n", " ").replace("\t", " ")
    return raw or "?"


def ollama_role(name: str, argv: Callable[[], Sequence[str] | None]) -> str | None:
    """Ollama's model runner is `ollama runner ...` (older releases: `ollama_llama_server`,
    whose name the kernel cuts to 15 characters); the API server is `ollama serve`. `argv` is
    read only for a process named `ollama`."""
    if name.startswith("ollama_llama_se"):
        return "ollama runner"
    if name != "ollama":
        return None
    args = list(argv() or ())[1:3]
    if "runner" in args:
        return "ollama runner"
    if "serve" in args:
        return "ollama serve"
    return None


Describe = Callable[[ProcTimes], tuple[str, str | None]]


def top_processes(
    prev: dict[tuple[int, float], float],
    current: Iterable[ProcTimes],
    *,
    elapsed_per_core: float,
    mem_total: int | None,
    describe: Describe,
    count: int,
) -> tuple[ProcessInfo, ...]:
    """The `count` busiest processes by CPU and the `count` largest by resident memory, as one
    list ordered by CPU (idle kernel threads left out, as htop does). CPU % is of one core,
    like top: CPU time used / time elapsed per core (both in the reader's unit). `describe`
    gives (name, role) of the processes chosen, and only of them."""
    if count <= 0:
        return ()
    rows: list[tuple[float, ProcTimes]] = []
    for p in current:
        before = prev.get((p.pid, p.start))
        cpu = 0.0
        if before is not None and elapsed_per_core > 0:
            cpu = 100.0 * max(p.cpu_time - before, 0.0) / elapsed_per_core
        if p.rss or cpu:  # idle kernel threads (no memory of their own) say nothing
            rows.append((cpu, p))
    by_cpu = sorted(rows, key=lambda r: (-r[0], -r[1].rss, r[1].pid))[:count]
    by_mem = sorted(rows, key=lambda r: (-r[1].rss, -r[0], r[1].pid))[:count]
    chosen = {r[1].pid: r for r in by_cpu}
    for r in by_mem:
        chosen.setdefault(r[1].pid, r)
    out = []
    for cpu, p in sorted(chosen.values(), key=lambda r: (-r[0], -r[1].rss, r[1].pid)):
        name, role = describe(p)
        out.append(
            ProcessInfo(
                pid=p.pid,
                name=name,
                cpu_percent=round(cpu, 1),
                rss=p.rss,
                mem_percent=100.0 * p.rss / mem_total if mem_total else 0.0,
                role=role,
            )
        )
    return tuple(out)
