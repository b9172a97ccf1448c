"""Readers for /proc: per-core CPU time, load average, memory, processes, host name.

Everything takes the proc root as an argument so tests (and containers that mount the host's
/proc elsewhere) can point it at another tree. psutil reads the same files but only from a
process-wide PROCFS_PATH and keeps CPU baselines per thread; these small readers keep the one
baseline in the caller (the Sampler) and read one file per process."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pislm_tui.monitor.types import Memory, ProcessInfo, SourceUnavailable
from pislm_tui.text import clean_output


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


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative jiffies of one `cpu` line: all busy+idle time, and the idle part."""

    total: int
    idle: int


def parse_stat(text: str) -> dict[str, CpuTimes]:
    """The `cpu` and `cpuN` lines of /proc/stat. As htop/psutil do: total = user..steal (guest
    time is already inside user/nice), idle = idle + iowait."""
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


# -- load and memory ------------------------------------------------------------------------


def read_loadavg(proc_root: Path) -> tuple[float, float, float]:
    text = read_text(proc_root / "loadavg")
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
    name = data[open_at + 1 : close_at].decode("utf-8", "replace")
    if not name.isprintable():
        name = clean_output(name).replace("\n", " ").replace("\t", " ")
    return ProcStat(pid=pid, start=start, name=name or "?", ticks=ticks, rss_pages=max(rss, 0))


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


def ollama_role(proc_root: Path, stat: ProcStat) -> str | None:
    """Ollama's model runner is `ollama runner ...` (older releases: `ollama_llama_server`,
    whose name the kernel cuts to 15 characters); the API server is `ollama serve`."""
    if stat.name.startswith("ollama_llama_se"):
        return "ollama runner"
    if stat.name != "ollama":
        return None
    try:
        argv = _read_bytes(proc_root / str(stat.pid) / "cmdline").split(b"\0")
    except OSError:
        return None
    if b"runner" in argv[1:3]:
        return "ollama runner"
    if b"serve" in argv[1:3]:
        return "ollama serve"
    return None


def top_processes(
    prev: dict[tuple[int, int], int],
    current: Iterable[ProcStat],
    *,
    elapsed_ticks_per_core: float,
    page_size: int,
    mem_total: int | None,
    roles: dict[tuple[int, int], str | None],
    count: int,
) -> tuple[ProcessInfo, ...]:
    """The `count` busiest processes by CPU and the `count` largest by resident memory, as one
    list ordered by CPU (idle kernel threads left out, as htop does). CPU % is of one core,
    like top: tick delta / elapsed ticks per core."""
    if count <= 0:
        return ()
    rows: list[tuple[float, int, ProcStat]] = []
    for stat in current:
        before = prev.get((stat.pid, stat.start))
        cpu = 0.0
        if before is not None and elapsed_ticks_per_core > 0:
            cpu = 100.0 * max(stat.ticks - before, 0) / elapsed_ticks_per_core
        if stat.rss_pages or cpu:  # idle kernel threads (no memory of their own) say nothing
            rows.append((cpu, stat.rss_pages, stat))
    by_cpu = sorted(rows, key=lambda r: (-r[0], -r[1], r[2].pid))[:count]
    by_mem = sorted(rows, key=lambda r: (-r[1], -r[0], r[2].pid))[:count]
    chosen = {r[2].pid: r for r in by_cpu}
    for r in by_mem:
        chosen.setdefault(r[2].pid, r)
    out = []
    for cpu, pages, stat in sorted(chosen.values(), key=lambda r: (-r[0], -r[1], r[2].pid)):
        rss = pages * page_size
        out.append(
            ProcessInfo(
                pid=stat.pid,
                name=stat.name,
                cpu_percent=round(cpu, 1),
                rss=rss,
                mem_percent=100.0 * rss / mem_total if mem_total else 0.0,
                role=roles.get((stat.pid, stat.start)),
            )
        )
    return tuple(out)
