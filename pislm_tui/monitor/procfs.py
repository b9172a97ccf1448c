"""The /proc text formats: parsers for /proc/stat, meminfo, loadavg and /proc/<pid>/stat, and
small readers of a /proc tree at any root (`files.FileReader`: recorded machines, a host's /proc
mounted into a container). This machine is read through psutil (`local.py`); these parsers stay
because another machine's /proc can only arrive as text (a reader over SSH would feed them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pislm_tui.monitor.reader import CpuTimes, busy_percent, core_percents, process_name
from pislm_tui.monitor.types import Memory, SourceUnavailable


def read_text(path: Path) -> str:
    """A small virtual file; raises SourceUnavailable with a readable reason."""
    try:
        return _read_bytes(path).decode("utf-8", "replace")
    except FileNotFoundError:
        raise SourceUnavailable(f"{path} does not exist") from None
    except PermissionError:
        raise SourceUnavailable(f"permission denied reading {path}") from None
    except OSError as exc:
        raise SourceUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_bytes(path: Path | str, size: int = 65536) -> bytes:
    """os.open/os.read: several times cheaper than open() for /proc files, which matters when
    a few hundred are read every second on a busy Pi."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, size):
            chunks.append(chunk)
            if len(chunk) < size:
                break
        return b"".join(chunks)
    finally:
        os.close(fd)


# -- CPU ------------------------------------------------------------------------------------


def parse_stat(text: str) -> dict[str, CpuTimes]:
    """The `cpu` and `cpuN` lines of /proc/stat, in jiffies (USER_HZ). As htop/psutil do:
    total = user..steal (guest time is already inside user/nice), idle = idle + iowait."""
    out: dict[str, CpuTimes] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            if out:
                break  # the cpu lines come first; skip the long intr/softirq lines
            continue
        name, *fields = line.split()
        try:
            values = [int(v) for v in fields[:8]]
        except ValueError:
            continue  # a damaged line: that core is left out, not the whole reading
        values += [0] * (8 - len(values))
        out[name] = CpuTimes(total=sum(values), idle=values[3] + values[4])
    if not out:
        raise SourceUnavailable("no cpu lines in /proc/stat")
    return out


def read_stat(proc_root: Path) -> dict[str, CpuTimes]:
    return parse_stat(read_text(proc_root / "stat"))


# -- load and memory ------------------------------------------------------------------------


def read_loadavg(proc_root: Path) -> tuple[float, float, float]:
    return parse_loadavg(read_text(proc_root / "loadavg"))


def parse_loadavg(text: str) -> tuple[float, float, float]:
    try:
        one, five, fifteen = (float(v) for v in text.split()[:3])
    except ValueError:
        raise SourceUnavailable(f"unexpected /proc/loadavg: {text[:40]!r}") from None
    return one, five, fifteen


def parse_meminfo(text: str) -> dict[str, int]:
    """`Key:   1234 kB` lines -> bytes."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        try:
            value = int(parts[0])
        except ValueError:
            continue
        out[key.strip()] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return out


def memory_from(info: dict[str, int]) -> tuple[Memory, Memory | None]:
    """(RAM, swap) from parsed meminfo. Used = total - available, as `free` and htop count it;
    kernels older than 3.14 lack MemAvailable, so free + buffers + cache stands in."""
    if "MemTotal" not in info:
        raise SourceUnavailable("no MemTotal in /proc/meminfo")
    total = info["MemTotal"]
    available = info.get("MemAvailable")
    if available is None:
        available = info.get("MemFree", 0) + info.get("Buffers", 0) + info.get("Cached", 0)
    available = min(available, total)
    ram = Memory(total=total, used=total - available, available=available)
    swap = None
    if "SwapTotal" in info:
        swap_free = min(info.get("SwapFree", 0), info["SwapTotal"])
        swap = Memory(
            total=info["SwapTotal"], used=info["SwapTotal"] - swap_free, available=swap_free
        )
    return ram, swap


def read_memory(proc_root: Path) -> tuple[Memory, Memory | None]:
    return memory_from(parse_meminfo(read_text(proc_root / "meminfo")))


def read_hostname(proc_root: Path) -> str | None:
    try:
        return read_text(proc_root / "sys" / "kernel" / "hostname").strip() or None
    except SourceUnavailable:
        return None


# -- processes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcStat:
    pid: int
    start: int  # start time in jiffies: (pid, start) tells a reused pid apart
    name: str
    ticks: int  # utime + stime
    rss_pages: int


def parse_pid_stat(pid: int, raw: bytes | str) -> ProcStat | None:
    """/proc/<pid>/stat. The name sits in parentheses and may itself contain spaces and ')',
    so the fields are counted from the last ')'."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    open_at, close_at = data.find(b"("), data.rfind(b")")
    if open_at < 0 or close_at < open_at:
        return None
    rest = data[close_at + 1 :].split()
    try:
        # rest[0] is field 3 (state): utime=14, stime=15, starttime=22, rss=24.
        ticks = int(rest[11]) + int(rest[12])
        start, rss = int(rest[19]), int(rest[21])
    except (IndexError, ValueError):
        return None
    name = process_name(data[open_at + 1 : close_at].decode("utf-8", "replace"))
    return ProcStat(pid=pid, start=start, name=name, ticks=ticks, rss_pages=max(rss, 0))


def read_processes(proc_root: Path) -> list[ProcStat]:
    """Every process we may read; ones that exit while we look, or that are hidden from us
    (hidepid), are skipped."""
    out: list[ProcStat] = []
    try:
        entries = [name for name in os.listdir(proc_root) if name.isdigit()]
    except OSError as exc:
        raise SourceUnavailable(f"cannot list {proc_root}: {exc.strerror or exc}") from None
    base = os.fspath(proc_root)
    for entry in entries:
        try:
            raw = _read_bytes(f"{base}/{entry}/stat", 4096)
        except OSError:
            continue
        stat = parse_pid_stat(int(entry), raw)
        if stat is not None:
            out.append(stat)
    return out


def read_cmdline(proc_root: Path, pid: int) -> list[str] | None:
    """A process's argv, or None when it cannot be read (gone, hidden)."""
    try:
        raw = _read_bytes(proc_root / str(pid) / "cmdline")
    except OSError:
        return None
    return [arg.decode("utf-8", "replace") for arg in raw.split(b"\0")]


__all__ = [
    "CpuTimes",
    "ProcStat",
    "busy_percent",
    "core_percents",
    "memory_from",
    "parse_loadavg",
    "parse_meminfo",
    "parse_pid_stat",
    "parse_stat",
    "read_cmdline",
    "read_hostname",
    "read_loadavg",
    "read_memory",
    "read_processes",
    "read_stat",
    "read_text",
]
