"""`FileReader`: a machine read from a /proc and /sys tree at any root — the recorded machines
of the tests, or a host's /proc and /sys mounted into a container (`monitor.proc_root`,
`monitor.sys_root`). psutil can only read this machine's /proc, so this reader parses the files
itself (`procfs.py`, `sysfs.py`) and hands the same raw readings as the psutil reader."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pislm_tui.monitor import procfs
from pislm_tui.monitor.reader import CpuTimes, ProcTimes, ollama_role
from pislm_tui.monitor.sysfs import SensorsFromSysfs, SysSensors
from pislm_tui.monitor.types import Memory


class FileReader(SensorsFromSysfs):
    """A `MachineReader` over files. CPU times stay in jiffies (whole numbers, exact figures);
    `page_size` is the machine's (a Pi 5 on Raspberry Pi OS has 16 KiB pages)."""

    def __init__(
        self,
        proc_root: Path,
        sys_root: Path,
        *,
        page_size: int | None = None,
        clock: Callable[[], float],
    ) -> None:
        self.proc_root = proc_root
        self.page_size = page_size or os.sysconf("SC_PAGE_SIZE")
        self.sensors = SysSensors(sys_root, clock)
        self._host: str | None = None

    def host(self) -> str | None:
        if self._host is None:
            self._host = procfs.read_hostname(self.proc_root)
        return self._host

    def cpu_times(self) -> dict[str, CpuTimes]:
        return procfs.read_stat(self.proc_root)  # jiffies, like the processes' times

    def memory(self) -> tuple[Memory, Memory | None]:
        return procfs.read_memory(self.proc_root)

    def load(self) -> tuple[float, float, float]:
        return procfs.read_loadavg(self.proc_root)

    def processes(self) -> list[ProcTimes]:
        page = self.page_size
        return [
            ProcTimes(
                pid=p.pid, start=p.start, name=p.name, cpu_time=p.ticks, rss=p.rss_pages * page
            )
            for p in procfs.read_processes(self.proc_root)
        ]

    def process_name(self, process: ProcTimes) -> str:
        return process.name or "?"  # read with the process's times, from the same stat line

    def ollama_role(self, process: ProcTimes, name: str) -> str | None:
        return ollama_role(name, lambda: procfs.read_cmdline(self.proc_root, process.pid))
