"""Plain-text views of a Sample (no colours, no Textual): the full page `pislm monitor` redraws,
and a one-line summary for logs and pipes. Missing values read "n/a (why)"."""

from __future__ import annotations

from datetime import datetime

from pislm_tui.monitor.fmt import freq_text, throttle_names, time_left
from pislm_tui.monitor.levels import temp_level
from pislm_tui.monitor.types import Memory, Sample
from pislm_tui.sizes import short_bytes


def _bar(percent: float, width: int) -> str:
    filled = round(max(0.0, min(100.0, percent)) / 100 * width)
    return "[" + "|" * filled + " " * (width - filled) + "]"


def _na(s: Sample, name: str) -> str:
    return f"n/a — {s.why(name)}"


def _memory(label: str, mem: Memory | None, s: Sample, name: str, width: int) -> str:
    if mem is None:
        return f"{label} {_na(s, name)}"
    if mem.total == 0:
        return f"{label} none"
    return f"{label} {_bar(mem.percent, width)} {short_bytes(mem.used)}/{short_bytes(mem.total)}"


def temperature_text(s: Sample) -> str:
    if s.temp_c is None:
        return f"Temp {_na(s, 'temp_c')}"
    return f"Temp {s.temp_c:.1f} °C, {temp_level(s.temp_c).label} ({s.temp_source})"


def throttle_text(s: Sample) -> str:
    t = s.throttled
    if t is None:
        text = f"Throttling {_na(s, 'throttled')}"
        if s.under_voltage is not None:
            text += "; under-voltage NOW" if s.under_voltage else "; no under-voltage now"
        return text
    if t.ok:
        return "Throttling none since boot"
    now = f"NOW {throttle_names(t.now)}" if t.now else "none now"
    since = f"; since boot: {throttle_names(t.since_boot)}" if t.since_boot else ""
    unknown = f"; unknown bits 0x{t.unknown_bits:x}" if t.unknown_bits else ""
    return f"Throttling {now}{since}{unknown} (0x{t.raw:x})"


def page(
    s: Sample, *, width: int = 80, now: datetime | None = None, top: int = 8, clip: bool = False
) -> list[str]:
    """The refreshing view: one line per core, memory, sensors, throttling, Ollama, processes.
    Bars fit `width`; with `clip` every line is cut to it (a redrawn screen must not wrap)."""
    width = max(40, width)
    lines = [
        " · ".join(
            part
            for part in (
                s.host or "this machine",
                f"{len(s.cores)} cores" if s.cores else "",
                "load " + " ".join(f"{v:.2f}" for v in s.load) if s.load else "",
            )
            if part
        )
    ]
    bar_width = max(10, width - 16)
    if s.cores:
        for i, pct in enumerate(s.cores):
            lines.append(f"cpu{i:<3}{_bar(pct, bar_width)} {pct:5.1f}%")
        if s.cpu_percent is not None and len(s.cores) > 1:
            lines.append(f"{'all':<6}{_bar(s.cpu_percent, bar_width)} {s.cpu_percent:5.1f}%")
    else:
        lines.append(f"CPU {_na(s, 'cores')}")
    lines.append(_memory("Mem ", s.ram, s, "ram", bar_width - 6))
    lines.append(_memory("Swap", s.swap, s, "swap", bar_width - 6))
    lines.append(temperature_text(s))
    if s.fan_rpm is not None:
        duty = f" ({s.fan_percent:.0f} % PWM)" if s.fan_percent is not None else ""
        lines.append(f"Fan  {s.fan_rpm} rpm{duty}")
    else:
        lines.append(f"Fan  {_na(s, 'fan_rpm')}")
    if s.freq_mhz is not None:
        ceiling = f" of {freq_text(s.freq_max_mhz)}" if s.freq_max_mhz else ""
        source = "firmware" if s.freq_source == "vcgencmd" else "kernel"
        lines.append(f"Freq {freq_text(s.freq_mhz)}{ceiling} ({source})")
    else:
        lines.append(f"Freq {_na(s, 'freq_mhz')}")
    power = _na(s, "power_w") if s.power_w is None else f"{s.power_w:.1f} W (PMIC)"
    lines.append(f"Power {power}")
    lines.append(throttle_text(s))
    if s.ollama_loaded is None:
        lines.append(f"Ollama {_na(s, 'ollama_loaded')}")
    elif not s.ollama_loaded:
        lines.append("Ollama: no model in memory")
    for m in s.ollama_loaded or ():
        left = time_left(m.expires_at, now)
        keep = "kept forever" if left == "forever" else f"unloads in {left}"
        size = short_bytes(m.size) if m.size else "?"
        ctx = f" · ctx {m.context_length}" if m.context_length else ""
        lines.append(f"Ollama: {m.name} · {size} · {m.processor}{ctx} · {keep}")
    if s.processes is not None and top > 0:
        name_width = max(10, min(32, width - 22))
        lines.append(f"{'PID':>7} {'NAME':<{name_width}} {'CPU%':>6} {'MEM':>6}")
        for p in sorted(s.processes, key=lambda p: (-p.cpu_percent, -p.rss, p.pid))[:top]:
            name = (p.role or p.name)[:name_width]
            lines.append(
                f"{p.pid:>7} {name:<{name_width}} {p.cpu_percent:6.1f} {short_bytes(p.rss):>6}"
            )
    elif s.processes is None:
        lines.append(f"Processes {_na(s, 'processes')}")
    return [line[:width] for line in lines] if clip else lines


def one_line(s: Sample) -> str:
    """A log line: `cpu 97% [98 97 96 97] load 3.97 temp 83.2C ram 3.3G/7.9G ...`."""
    parts = []
    if s.cores:
        overall = f"{s.cpu_percent:.0f}% " if s.cpu_percent is not None else ""
        parts.append(f"cpu {overall}[{' '.join(f'{c:.0f}' for c in s.cores)}]")
    if s.load:
        parts.append(f"load {s.load[0]:.2f}")
    parts.append(f"temp {s.temp_c:.1f}C" if s.temp_c is not None else "temp n/a")
    if s.throttled is not None:
        parts.append(f"throttled 0x{s.throttled.raw:x}")
    if s.ram:
        parts.append(f"ram {short_bytes(s.ram.used)}/{short_bytes(s.ram.total)}")
    if s.swap and s.swap.total:
        parts.append(f"swap {short_bytes(s.swap.used)}")
    if s.fan_rpm is not None:
        parts.append(f"fan {s.fan_rpm}rpm")
    if s.freq_mhz is not None:
        parts.append(f"freq {s.freq_mhz:.0f}MHz")
    if s.ollama_loaded is not None:
        parts.append("ollama " + (",".join(m.name for m in s.ollama_loaded) or "-"))
    return " ".join(parts)
