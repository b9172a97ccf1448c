"""Plain-text formatting shared by the Monitor tab, the live strip and `pislm monitor`."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pislm_tui.monitor.throttle import TEXT, Throttle


def freq_text(mhz: float) -> str:
    return f"{mhz / 1000:.2f} GHz" if mhz >= 1000 else f"{mhz:.0f} MHz"


def throttle_names(names: tuple[str, ...]) -> str:
    return ", ".join(TEXT.get(n, n) for n in names)


def throttle_text(t: Throttle) -> str:
    """One line: what is happening now and what has happened since boot."""
    if t.ok:
        return "none since boot"
    parts = []
    if t.now:
        parts.append(f"NOW {throttle_names(t.now)}")
    if t.since_boot:
        parts.append(f"since boot: {throttle_names(t.since_boot)}")
    if t.unknown_bits:
        parts.append(f"unknown bits 0x{t.unknown_bits:x}")
    return "; ".join(parts)


def time_left(expires_at: datetime | None, now: datetime | None = None) -> str:
    """When Ollama will unload a model: '4 min', '1 h 5 min', 'forever', 'now'. Minutes, not
    seconds, so an idle screen does not change every second."""
    if expires_at is None:
        return "?"
    now = now or datetime.now(UTC)
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    seconds = (expires_at - now).total_seconds()
    if seconds > 365 * 86400:
        return "forever"  # keep_alive < 0: Ollama reports a date centuries away
    if seconds <= 0:
        return "now"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"
