"""A sample as `pislm monitor --json` prints it on the other machine (`Sample.to_json()`), read
back into a `Sample`: every figure the live strip, the Monitor tab and a reply's conditions use
(temperature, the throttle bits, the Arm clock, the board's power) survives the trip."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pislm_tui.backend.types import LoadedModel
from pislm_tui.monitor.throttle import decode_throttled
from pislm_tui.monitor.types import Memory, ProcessInfo, Sample


def sample_from_json(data: dict[str, Any], *, now: float, detail: bool = True) -> Sample:
    """A `Sample.to_json()` document (from `pislm monitor --json` elsewhere) as a Sample."""

    def memory(d: Any) -> Memory | None:
        return Memory(int(d["total"]), int(d["used"]), int(d["available"])) if d else None

    throttled = data.get("throttled")
    loaded = data.get("ollama_loaded")
    procs = data.get("processes")
    freq = data.get("freq_mhz")
    return Sample(
        time=now,
        taken_at=_time(data.get("taken_at")),
        detail=detail,
        host=data.get("host"),
        cores=tuple(float(c) for c in data.get("cores") or ()),
        cpu_percent=data.get("cpu_percent"),
        load=tuple(data["load"]) if data.get("load") else None,  # type: ignore[arg-type]
        ram=memory(data.get("ram")),
        swap=memory(data.get("swap")),
        temp_c=data.get("temp_c"),
        temp_source=data.get("temp_source"),
        throttled=decode_throttled(int(throttled["raw"], 16)) if throttled else None,
        under_voltage=data.get("under_voltage"),
        fan_rpm=data.get("fan_rpm"),
        fan_percent=data.get("fan_percent"),
        freq_mhz=None if freq is None else float(freq),
        freq_max_mhz=data.get("freq_max_mhz"),
        freq_source=data.get("freq_source"),
        power_w=None if data.get("power_w") is None else float(data["power_w"]),
        processes=None if procs is None else tuple(ProcessInfo(**p) for p in procs),
        ollama_loaded=None
        if loaded is None
        else tuple(
            LoadedModel(
                name=m["name"],
                size=m.get("size"),
                size_vram=m.get("size_vram"),
                expires_at=_time(m.get("expires_at")),
                context_length=m.get("context_length"),
            )
            for m in loaded
        ),
        unavailable={str(k): str(v) for k, v in (data.get("unavailable") or {}).items()},
    )


def _time(raw: Any) -> datetime | None:
    with contextlib.suppress(TypeError, ValueError):
        return datetime.fromisoformat(raw)
    return None
