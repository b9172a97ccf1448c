"""What one sample of the machine holds. Every field may be missing (None); the reason is in
`Sample.unavailable[field]`, so a screen can say "n/a" and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pislm_tui.backend.types import LoadedModel
from pislm_tui.monitor.throttle import TEXT as THROTTLE_TEXT
from pislm_tui.monitor.throttle import Throttle


class SourceUnavailable(Exception):
    """A sensor or file could not be read; `reason` says why, in words a user understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Memory:
    """RAM or swap, in bytes. For swap, `available` is the free swap."""

    total: int
    used: int
    available: int

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "used": self.used,
            "available": self.available,
            "percent": round(self.percent, 1),
        }


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int
    name: str  # cleaned of control characters
    cpu_percent: float  # of one core, as top/htop show it (a busy 4-thread runner reads ~400)
    rss: int  # bytes
    mem_percent: float
    role: str | None = None  # "ollama runner" / "ollama serve" / None

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "name": self.name,
            "cpu_percent": round(self.cpu_percent, 1),
            "rss": self.rss,
            "mem_percent": round(self.mem_percent, 1),
            "role": self.role,
        }


def loaded_to_json(model: LoadedModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "size": model.size,
        "size_vram": model.size_vram,
        "processor": model.processor,
        "context_length": model.context_length,
        "expires_at": model.expires_at.isoformat() if model.expires_at else None,
    }


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the machine. `time` is the sampler's clock (monotonic seconds), `taken_at`
    the wall-clock time for reports."""

    time: float
    taken_at: datetime | None = None
    detail: bool = (
        True  # False: a cheap reading for the live strip (no processes, vcgencmd, /api/ps)
    )
    host: str | None = None
    cores: tuple[float, ...] = ()  # per-core busy %, cpu0..cpuN
    cpu_percent: float | None = None  # all cores together
    load: tuple[float, float, float] | None = None
    ram: Memory | None = None
    swap: Memory | None = None
    temp_c: float | None = None
    temp_source: str | None = None
    throttled: Throttle | None = None
    under_voltage: bool | None = None  # the kernel's rpi_volt alarm (works without vcgencmd)
    fan_rpm: int | None = None
    fan_percent: float | None = None  # PWM duty, 0-100
    freq_mhz: float | None = None
    freq_max_mhz: float | None = None
    freq_source: str | None = None
    power_w: float | None = None  # a Pi 5's board draw from its PMIC (monitor/power.py)
    processes: tuple[ProcessInfo, ...] | None = None
    ollama_loaded: tuple[LoadedModel, ...] | None = None
    unavailable: dict[str, str] = field(default_factory=dict)

    def why(self, name: str) -> str:
        return self.unavailable.get(name, "not measured")

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON view; missing values are null with the reason under "unavailable"."""
        return {
            "host": self.host,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "cores": [round(c, 1) for c in self.cores],
            "cpu_percent": None if self.cpu_percent is None else round(self.cpu_percent, 1),
            "load": list(self.load) if self.load else None,
            "ram": self.ram.to_json() if self.ram else None,
            "swap": self.swap.to_json() if self.swap else None,
            "temp_c": self.temp_c,
            "temp_source": self.temp_source,
            "throttled": self.throttled.to_json() if self.throttled else None,
            "under_voltage": self.under_voltage,
            "fan_rpm": self.fan_rpm,
            "fan_percent": None if self.fan_percent is None else round(self.fan_percent),
            "freq_mhz": None if self.freq_mhz is None else round(self.freq_mhz),
            "freq_max_mhz": None if self.freq_max_mhz is None else round(self.freq_max_mhz),
            "freq_source": self.freq_source,
            "power_w": None if self.power_w is None else round(self.power_w, 2),
            "ollama_loaded": (
                None
                if self.ollama_loaded is None
                else [loaded_to_json(m) for m in self.ollama_loaded]
            ),
            "processes": (
                None if self.processes is None else [p.to_json() for p in self.processes]
            ),
            "unavailable": dict(self.unavailable),
        }


__all__ = ["THROTTLE_TEXT", "Memory", "ProcessInfo", "Sample", "SourceUnavailable", "Throttle"]
