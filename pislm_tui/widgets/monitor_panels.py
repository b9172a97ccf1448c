"""The text blocks of the Monitor tab, built from a `Sample` as styled `Content` (theme colours
only). Pure functions of their inputs: the tab compares the result with what is on screen and
repaints only on a change."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content

from pislm_tui.monitor import Memory, Sample, temp_level
from pislm_tui.monitor.fmt import freq_text, throttle_names, time_left
from pislm_tui.sizes import short_bytes
from pislm_tui.text import clean_output
from pislm_tui.widgets.meters import bar, temp_style

Part = str | Content | tuple[str, str]
NA = "$text-muted"


def na(reason: str) -> Content:
    return Content.assemble(("n/a", NA), (f" — {reason}", NA))


def header(
    s: Sample,
    *,
    interval: float,
    paused: bool,
    remote: str | None,
    via: str | None = None,
    hint: str | None = None,
) -> Content:
    """`remote`: the server's machine when these figures are this one's (`hint`: how to see
    that machine's); `via`: how another machine's figures arrive ("over ssh")."""
    parts: list[Part] = [(s.host or "this machine", "bold")]
    if via:
        parts.append((f" ({via})", NA))
    if s.cores:
        parts.append(f" · {len(s.cores)} core{'s' if len(s.cores) != 1 else ''}")
    if s.load is not None:
        parts.append(" · load " + " ".join(f"{v:.2f}" for v in s.load))
    parts.append((f" · every {interval:g} s", NA))
    if paused:
        parts.append((" · PAUSED (p)", "bold $warning"))
    if remote:
        parts.append((f" · Ollama runs on {remote}: these figures are this machine's", "$warning"))
        if hint:
            parts.append((f" ({hint})", "$warning"))
    return Content.assemble(*parts)


def remote_failure(message: str, hint: str | None) -> Content:
    """Why another machine's figures are missing, and what to do (in place of throttling)."""
    lines = [Content.assemble(("✗ ", "bold $error"), (message, "$error"))]
    if hint:
        lines.append(Content.assemble(("  ", ""), (hint, "$warning")))
    return Content("\n").join(lines)


def _meter(label: str, mem: Memory | None, width: int, why: str, style: str) -> Content:
    if mem is None:
        return Content.assemble((f"{label} ", "bold"), na(why))
    if mem.total == 0:
        return Content.assemble((f"{label} ", "bold"), ("none", NA))
    text = f" {short_bytes(mem.used)}/{short_bytes(mem.total)}".rjust(12)  # bars line up
    bar_width = max(4, width - len(label) - 1 - len(text))
    fill = "$error" if mem.percent >= 90 else style
    return Content.assemble((f"{label} ", "bold"), bar(mem.percent, bar_width, fill), text)


def memory_block(s: Sample, width: int, power: list[float] | None = None) -> Content:
    """Mem and Swp meters, then (given the power readings) the board's power line."""
    lines = [
        _meter("Mem", s.ram, width, s.why("ram"), "$success"),
        _meter("Swp", s.swap, width, s.why("swap"), "$warning"),
    ]
    if power is not None:
        lines.append(power_line(s, power, max(4, width - 20)))
    return Content("\n").join(lines)


def sensors_block(s: Sample) -> Content:
    lines: list[Content] = []
    if s.temp_c is not None:
        level = temp_level(s.temp_c)
        lines.append(
            Content.assemble(
                ("Temp ", "bold"),
                (f"{s.temp_c:.1f} °C", temp_style(level)),
                "  ",
                (level.label, temp_style(level)),
            )
        )
    else:
        lines.append(Content.assemble(("Temp ", "bold"), na(s.why("temp_c"))))
    if s.fan_rpm is not None:
        duty = f" · {s.fan_percent:.0f} %" if s.fan_percent is not None else ""
        state = f"{s.fan_rpm} rpm{duty}" if s.fan_rpm else f"off (0 rpm){duty}"
        lines.append(Content.assemble(("Fan  ", "bold"), state))
    else:
        lines.append(Content.assemble(("Fan  ", "bold"), na(s.why("fan_rpm"))))
    if s.freq_mhz is not None:
        source = "firmware" if s.freq_source == "vcgencmd" else "kernel"
        ceiling = s.freq_max_mhz
        # Below the ceiling is normal when idle (the governor); a warning only when capped.
        capped = s.throttled is not None and bool(
            {"arm_freq_capped", "throttled"} & set(s.throttled.now)
        )
        parts: list[Part] = [
            ("Freq ", "bold"),
            (freq_text(s.freq_mhz), "$warning" if capped else ""),
        ]
        if ceiling:
            parts.append(f" of {freq_text(ceiling)}")
        parts.append((f" ({source})", NA))
        lines.append(Content.assemble(*parts))
    else:
        lines.append(Content.assemble(("Freq ", "bold"), na(s.why("freq_mhz"))))
    return Content("\n").join(lines)


SPARKS = "▁▂▃▄▅▆▇█"


POWER_SCALE_W = 15.0  # a Pi 5 draws ~3 W idle, 12-14 W under an LLM: one scale for both


def sparkline(values: list[float], width: int, top: float = POWER_SCALE_W) -> str:
    """The last `width` values as block characters from 0 to `top` (or their max if above),
    so an idle Pi reads low and a busy one high, not each stretched to the full height."""
    values = values[-width:]
    if not values:
        return ""
    high = max(top, *values)
    return "".join(SPARKS[round(max(v, 0) / high * (len(SPARKS) - 1))] for v in values)


def power_line(s: Sample, history: list[float], width: int = 20) -> Content:
    """`Power 2.9 W ▁▂▅▇ (PMIC)`: a Pi 5's board draw and its recent readings, or n/a and why."""
    if s.power_w is None:
        return Content.assemble(("Power ", "bold"), na(s.why("power_w")))
    spark = sparkline(history, width)
    return Content.assemble(
        ("Power ", "bold"),
        f"{s.power_w:.1f} W",
        (f" {spark}", "$accent") if len(history) > 1 else "",
        (" (PMIC)", NA),
    )


def throttle_block(s: Sample) -> Content:
    t = s.throttled
    if t is None:
        parts: list[Part] = [("Throttling ", "bold"), na(s.why("throttled"))]
        if s.under_voltage is not None:
            parts.append(
                ("  under-voltage NOW (rpi_volt)", "bold $error")
                if s.under_voltage
                else ("  no under-voltage (rpi_volt)", "$success")
            )
        return Content.assemble(*parts)
    if t.ok:
        return Content.assemble(("Throttling ", "bold"), ("none since boot", "$success"))
    now: list[Part] = [("Throttling ", "bold")]
    now.append(
        ("NOW: " + throttle_names(t.now), "bold $error") if t.now else ("none now", "$success")
    )
    lines = [Content.assemble(*now)]
    if t.since_boot or t.unknown_bits:
        extra = throttle_names(t.since_boot)
        if t.unknown_bits:
            extra += f"{', ' if extra else ''}unknown bits 0x{t.unknown_bits:x}"
        lines.append(Content.assemble(("  since boot: ", NA), (extra, "$warning")))
    return Content("\n").join(lines)


def loaded_block(s: Sample, *, now: datetime | None = None) -> Content:
    lines: list[Content] = [Content.styled("Ollama: loaded models", "bold")]
    if s.ollama_loaded is None:
        lines.append(na(s.why("ollama_loaded")))
    elif not s.ollama_loaded:
        lines.append(Content.styled("no model in memory", NA))
    for m in s.ollama_loaded or ():
        lines.append(Content.styled(clean_output(m.name), "$accent"))
        facts = [short_bytes(m.size) if m.size else "? size", m.processor]
        if m.context_length:
            facts.append(f"ctx {m.context_length}")
        left = time_left(m.expires_at, now)
        facts.append(left if left in ("forever", "now", "?") else f"{left} left")
        lines.append(Content.styled("  " + " · ".join(facts), NA))
    return Content("\n").join(lines)
