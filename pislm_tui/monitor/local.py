"""`PsutilReader`: this machine, read through psutil — per-core CPU times, memory and swap, load,
processes, the CPU temperature and frequency. What psutil does not read stays in `sysfs.py`: the
Pi 5 fan (`pwmfan`: speed and PWM duty together) and the firmware's under-voltage alarm
(`rpi_volt`); `vcgencmd` (throttle bits, the firmware's clock) is the Sampler's.

psutil is imported when the first reader is made (the live strip's first reading, after the
app's first frame), not when the app starts."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pislm_tui.monitor.reader import CpuTimes, ProcTimes, ollama_role, process_name
from pislm_tui.monitor.sysfs import CPU_HWMON_PREFIXES, CPU_ZONE_PREFIXES, SysSensors
from pislm_tui.monitor.types import Memory, SourceUnavailable

CPU_SENSOR_PREFIXES = (*CPU_ZONE_PREFIXES, *CPU_HWMON_PREFIXES)


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """psutil and OS errors become a SourceUnavailable that says what could not be read."""
    import psutil

    try:
        yield
    except SourceUnavailable:
        raise
    except (OSError, psutil.Error, NotImplementedError, RuntimeError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise SourceUnavailable(f"cannot read {what}: {detail}") from None


class PsutilReader:
    """A `MachineReader` for the machine pislm runs on. CPU times are in seconds."""

    def __init__(self, clock: Callable[[], float], sys_root: Path = Path("/sys")) -> None:
        import psutil

        self._psutil = psutil
        self.sensors = SysSensors(sys_root, clock)  # the Pi-specific files psutil lacks
        self._host: str | None = None
        self._procs: dict[int, Any] = {}  # the last list's psutil.Process objects, by pid

    def host(self) -> str | None:
        if self._host is None:
            self._host = os.uname().nodename or None
        return self._host

    def cpu_times(self) -> dict[str, CpuTimes]:
        with _reading("the CPU times"):
            per_cpu = self._psutil.cpu_times(percpu=True)
        if not per_cpu:
            raise SourceUnavailable("no CPU times (psutil found no CPUs)")
        out = {f"cpu{i}": _cpu_times(t) for i, t in enumerate(per_cpu)}
        out["cpu"] = CpuTimes(
            total=sum(t.total for t in out.values()), idle=sum(t.idle for t in out.values())
        )
        return out

    def memory(self) -> tuple[Memory, Memory | None]:
        with _reading("the memory figures"):
            vm = self._psutil.virtual_memory()
            swap = self._psutil.swap_memory()
        available = min(vm.available, vm.total)
        ram = Memory(total=vm.total, used=vm.total - available, available=available)
        free = min(swap.free, swap.total)
        return ram, Memory(total=swap.total, used=swap.total - free, available=free)

    def load(self) -> tuple[float, float, float]:
        with _reading("the load average"):
            return self._psutil.getloadavg()

    def temperature(self) -> tuple[float, str]:
        with _reading("the temperature sensors"):
            sensors = self._psutil.sensors_temperatures()
        for prefix in CPU_SENSOR_PREFIXES:
            for name, entries in sensors.items():
                if name.startswith(prefix) and entries:
                    entry = _package_entry(entries)
                    return round(entry.current, 1), f"sensor {name}"
        if sensors:
            names = ", ".join(sorted(sensors))[:80]
            raise SourceUnavailable(f"no CPU sensor among the thermal zones/hwmon ({names})")
        raise SourceUnavailable("no thermal zones or hwmon sensors in /sys/class")

    def fan(self) -> tuple[int, float | None]:
        return self.sensors.fan()

    def cpufreq(self) -> tuple[float, float | None]:
        with _reading("the CPU frequency"):
            freq = self._psutil.cpu_freq()
        if freq is None or not freq.current:
            raise SourceUnavailable("no CPU frequency (no cpufreq in /sys, none in /proc/cpuinfo)")
        return float(freq.current), float(freq.max) if freq.max else None

    def under_voltage(self) -> bool:
        return self.sensors.under_voltage()

    def processes(self) -> list[ProcTimes]:
        """Two small reads per process (stat, statm); names only for the rows shown (a name
        may cost a third read: psutil completes a cut 15-character name from the cmdline)."""
        psutil = self._psutil
        out: list[ProcTimes] = []
        procs: dict[int, Any] = {}
        with _reading("the process list"):
            listed = list(psutil.process_iter())  # psutil keeps the Process objects
        for proc in listed:
            try:
                times = proc.cpu_times()
                out.append(
                    ProcTimes(
                        pid=proc.pid,
                        start=proc.create_time(),  # read once per process, then kept
                        cpu_time=times.user + times.system,
                        rss=proc.memory_info().rss,
                    )
                )
            except psutil.Error:
                continue  # gone while we looked, or hidden from us
            procs[proc.pid] = proc
        self._procs = procs
        return out

    def process_name(self, process: ProcTimes) -> str:
        proc = self._procs.get(process.pid)
        try:
            return process_name(proc.name()) if proc is not None else "?"
        except self._psutil.Error:
            return "?"

    def ollama_role(self, process: ProcTimes, name: str) -> str | None:
        return ollama_role(name, lambda: self._cmdline(process.pid))

    def _cmdline(self, pid: int) -> list[str] | None:
        proc = self._procs.get(pid)
        try:
            return proc.cmdline() if proc is not None else None
        except self._psutil.Error:
            return None


def _cpu_times(t: Any) -> CpuTimes:
    """As htop and /proc/stat readers count: busy+idle = user..steal (guest time is already
    inside user and nice), idle = idle + iowait."""
    idle = t.idle + getattr(t, "iowait", 0.0)
    busy = (
        t.user
        + t.nice
        + t.system
        + getattr(t, "irq", 0.0)
        + getattr(t, "softirq", 0.0)
        + getattr(t, "steal", 0.0)
    )
    return CpuTimes(total=busy + idle, idle=idle)


def _package_entry(entries: list[Any]) -> Any:
    """The whole-chip reading when a sensor lists several (x86 coretemp: "Package id 0",
    then one per core); the first otherwise."""
    for entry in entries:
        if entry.label.startswith(("Package", "Tctl", "Tdie")):
            return entry
    return entries[0]
