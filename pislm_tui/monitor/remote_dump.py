"""Another machine read with nothing installed there: a POSIX-shell loop, kept running over one
ssh session, prints its /proc and sysfs files on request (and, for the processes, every
/proc/<pid>/stat), and `DumpReader` hands them to the same parsers as this machine's files
(`procfs.py`, `sysfs.py`).

The answers' sections start with a line holding a random marker chosen per session, so text a
process controls (its name, its command line) cannot pass for a section. The sysfs values are
kept in a private directory laid out as /sys is, which `sysfs.SysSensors` reads as it reads
/sys (finding the thermal zone, the fan and the alarm by name)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pislm_tui.monitor import procfs
from pislm_tui.monitor.reader import CpuTimes, ProcTimes, ollama_role
from pislm_tui.monitor.sysfs import SensorsFromSysfs, SysSensors
from pislm_tui.monitor.types import Memory, SourceUnavailable

# One ssh session answers every reading: the client sends the marker first (so it is not in
# any command line there), then one request per line — "dump procs" / "dump -" (the files, with
# or without the processes) or "vc ARGS" (vcgencmd; $1 is the command) — and each answer ends
# with "<marker> end". `head` with several files prints "==> name <==" before each (POSIX); the
# files named there hold only what the kernel writes. Nothing but `head`, `cat` and `grep` is
# started per reading.
SESSION_SCRIPT = r"""
IFS= read -r M || exit 0
echo "$M end"
VC="$1"
C=/sys/devices/system/cpu/cpu0/cpufreq
dump() {
  echo "$M pagesize $(getconf PAGESIZE 2>/dev/null || echo 4096)"
  echo "$M files"
  head -n 1000 /proc/stat /proc/meminfo /proc/loadavg /proc/sys/kernel/hostname \
    /sys/class/thermal/thermal_zone*/type /sys/class/thermal/thermal_zone*/temp \
    /sys/class/hwmon/hwmon*/name /sys/class/hwmon/hwmon*/temp1_input \
    /sys/class/hwmon/hwmon*/fan1_input /sys/class/hwmon/hwmon*/pwm1 \
    /sys/class/hwmon/hwmon*/in0_lcrit_alarm \
    $C/scaling_cur_freq $C/scaling_max_freq $C/cpuinfo_max_freq 2>/dev/null
  if [ "$1" = procs ]; then
    echo; echo "$M procs"
    cat /proc/[0-9]*/stat 2>/dev/null
    for c in $(grep -l '^ollama' /proc/[0-9]*/comm 2>/dev/null); do
      echo; echo "$M cmdline ${c%/comm}"
      cat "${c%/comm}/cmdline" 2>/dev/null
    done
  fi
  echo
}
while IFS= read -r request; do
  set -- $request
  case "$1" in
    dump) dump "$2" ;;
    vc) shift; out=$($VC "$@" 2>&1); status=$?; printf '%s\n' "$out"; echo "$M status $status" ;;
  esac
  echo "$M end"
done
"""


def new_marker() -> str:
    return f"@@pislm-{secrets.token_hex(8)}"


@dataclass
class Dump:
    """One run of the script, parsed."""

    files: dict[str, str] = field(default_factory=dict)  # path -> text
    page_size: int = 4096
    proc_stats: list[procfs.ProcStat] | None = None  # None: not asked for
    cmdlines: dict[int, list[str]] = field(default_factory=dict)
    complete: bool = False  # the end marker arrived


def parse_vcgencmd(lines: list[str], marker: str) -> tuple[int, str]:
    """(exit status, output) of a "vc" answer."""
    status, out = 1, []
    for line in lines:
        if line.startswith(f"{marker} status "):
            tail = line.rsplit(" ", 1)[-1]
            status = int(tail) if tail.isdigit() else 1
        elif line != f"{marker} end":
            out.append(line)
    return status, "\n".join(out)


def parse_dump(text: str, marker: str) -> Dump:
    dump = Dump()
    section, arg = "", ""
    body: list[str] = []

    def close() -> None:
        if section == "files":
            dump.files.update(_head_files(body))
        elif section == "procs":
            stats = (_pid_stat(line) for line in body)
            dump.proc_stats = [s for s in stats if s is not None]
        elif section == "cmdline":
            pid = arg.rsplit("/", 1)[-1]
            if pid.isdigit():
                raw = "\n".join(body).rstrip("\n")
                dump.cmdlines[int(pid)] = raw.split("\0")

    for line in text.split("\n"):
        if line.startswith(marker + " "):
            close()
            section, _, arg = line[len(marker) + 1 :].partition(" ")
            body = []
            if section == "pagesize" and arg.isdigit():
                dump.page_size = int(arg)
            elif section == "end":
                dump.complete = True
            continue
        body.append(line)
    close()
    return dump


def _head_files(lines: list[str]) -> dict[str, str]:
    files: dict[str, str] = {}
    name: str | None = None
    body: list[str] = []
    for line in [*lines, "==> <end> <=="]:
        if line.startswith("==> ") and line.endswith(" <=="):
            if name is not None:
                if body and body[-1] == "":
                    body.pop()  # the blank line head puts before the next header
                files[name] = "\n".join(body)
            name, body = line[4:-4], []
        elif name is not None:
            body.append(line)
    return files


def _pid_stat(line: str) -> procfs.ProcStat | None:
    pid = line.split(" ", 1)[0]
    return procfs.parse_pid_stat(int(pid), line) if pid.isdigit() else None


class DumpReader(SensorsFromSysfs):
    """A `MachineReader` over the latest `Dump` (`use()` it before each reading)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="pislm-remote-"))
        self.sensors = SysSensors(self._dir / "sys", clock)
        self.dump = Dump()
        self._written: dict[str, str] = {}

    def use(self, dump: Dump) -> None:
        self.dump = dump
        for path, text in dump.files.items():
            if path.startswith("/sys/") and ".." not in path and self._written.get(path) != text:
                target = self._dir / path.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text + "\n", encoding="utf-8")
                self._written[path] = text

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def _file(self, path: str) -> str:
        text = self.dump.files.get(path)
        if text is None:
            raise SourceUnavailable(f"{path} was not readable there")
        return text

    def host(self) -> str | None:
        return self.dump.files.get("/proc/sys/kernel/hostname", "").strip() or None

    def cpu_times(self) -> dict[str, CpuTimes]:
        return procfs.parse_stat(self._file("/proc/stat"))

    def memory(self) -> tuple[Memory, Memory | None]:
        return procfs.memory_from(procfs.parse_meminfo(self._file("/proc/meminfo")))

    def load(self) -> tuple[float, float, float]:
        return procfs.parse_loadavg(self._file("/proc/loadavg"))

    def processes(self) -> list[ProcTimes]:
        stats = self.dump.proc_stats
        if stats is None:
            raise SourceUnavailable("the process list was not asked for")
        page = self.dump.page_size
        return [
            ProcTimes(
                pid=p.pid, start=p.start, name=p.name, cpu_time=p.ticks, rss=p.rss_pages * page
            )
            for p in stats
        ]

    def process_name(self, process: ProcTimes) -> str:
        return process.name or "?"

    def ollama_role(self, process: ProcTimes, name: str) -> str | None:
        return ollama_role(name, lambda: self.dump.cmdlines.get(process.pid))
