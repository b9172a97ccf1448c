"""How one Sampler reading becomes a Sample: the readings of a pass over the machine's files
(FastReadings) joined with the latest results of the slow sources (vcgencmd, /api/ps), which
run in the background (sampler.py). A figure that was not read, or could not be, is named in the
Sample's `unavailable` with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pislm_tui.monitor.throttle import Throttle
from pislm_tui.monitor.types import Memory, ProcessInfo, Sample, SourceUnavailable

NOT_READ = "not read for the live strip"


@dataclass
class FastReadings:
    """What one pass over the files found, before it becomes a Sample."""

    unavailable: dict[str, str] = field(default_factory=dict)
    host: str | None = None
    cpu: float | None = None
    cores: tuple[float, ...] = ()
    load: tuple[float, float, float] | None = None
    ram: Memory | None = None
    swap: Memory | None = None
    temp: tuple[float, str] | None = None
    fan: tuple[int, float | None] | None = None
    freq: tuple[float, float | None] | None = None
    under_voltage: bool | None = None
    processes: tuple[ProcessInfo, ...] | None = None


def _slow_value(
    slow: Mapping[str, Any], key: str, unavailable: dict[str, str], field_name: str
) -> Any:
    """A slow source's value, or None with the reason set in `unavailable` (its error, or
    "measuring" before its first answer)."""
    value = slow.get(key)
    if isinstance(value, SourceUnavailable):
        unavailable[field_name] = value.reason
        return None
    if value is None:
        unavailable.setdefault(field_name, "measuring")
    return value


def compose_sample(
    f: FastReadings,
    slow: Mapping[str, Any],
    *,
    full: bool,
    now: float,
    detail: bool,
    taken_at: datetime,
) -> Sample:
    """One Sample from a pass's readings and the slow sources' latest results (`slow`, by key:
    vc_temp, throttled, arm_clock, power, loaded: a value or the SourceUnavailable saying why
    not). `full`: the conditions were read (clock, throttle, power); `detail`: the processes and
    /api/ps too. What was not read is named in `unavailable` with the reason."""
    un = f.unavailable
    temp_c, temp_source = f.temp if f.temp else (None, None)
    if temp_c is None:
        vc_temp = slow.get("vc_temp")
        if isinstance(vc_temp, float):
            temp_c, temp_source = vc_temp, "vcgencmd"
            un.pop("temp_c", None)
        elif isinstance(vc_temp, SourceUnavailable):
            un["temp_c"] = f"{un.get('temp_c', 'no sensor')}; vcgencmd: {vc_temp.reason}"
    throttled: Throttle | None = None
    loaded = None
    freq = f.freq[0] if f.freq else None
    freq_max = f.freq[1] if f.freq else None
    freq_source = "cpufreq" if f.freq else None
    power_w = None
    if detail:
        loaded = _slow_value(slow, "loaded", un, "ollama_loaded")
    if full:
        throttled = _slow_value(slow, "throttled", un, "throttled")
        power = _slow_value(slow, "power", un, "power_w")
        power_w = power.watts if power is not None else None
        clock_hz = slow.get("arm_clock")
        if isinstance(clock_hz, int) and clock_hz > 0:
            # The firmware's own clock: unlike cpufreq it shows firmware throttling.
            freq, freq_source = clock_hz / 1e6, "vcgencmd"
            un.pop("freq_mhz", None)
    skipped: tuple[str, ...] = () if detail else ("processes", "ollama_loaded")
    if not full:
        skipped += ("load", "fan_rpm", "freq_mhz", "throttled", "power_w")
    for name in skipped:
        un.setdefault(name, NOT_READ)
    return Sample(
        time=now,
        taken_at=taken_at,
        detail=detail,
        host=f.host,
        cores=f.cores,
        cpu_percent=f.cpu,
        load=f.load,
        ram=f.ram,
        swap=f.swap,
        temp_c=temp_c,
        temp_source=temp_source,
        throttled=throttled,
        under_voltage=f.under_voltage,
        fan_rpm=f.fan[0] if f.fan else None,
        fan_percent=f.fan[1] if f.fan else None,
        freq_mhz=freq,
        freq_max_mhz=freq_max,
        freq_source=freq_source,
        power_w=power_w,
        processes=f.processes,
        ollama_loaded=loaded,
        unavailable=un,
    )
