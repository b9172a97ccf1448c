"""`vcgencmd get_throttled`: a bit field from the firmware, decoded into named flags.

Bits 0-3 say what is happening now; bits 16-19 say the same conditions have happened since boot
(sticky). Any other set bit is kept as "unknown" rather than dropped (Raspberry Pi docs,
graphics-utilities.adoc)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (bit, short name, long text) for the current-state bits; the sticky ones are bit + 16.
FLAGS: tuple[tuple[int, str, str], ...] = (
    (0, "under_voltage", "under-voltage"),
    (1, "arm_freq_capped", "Arm frequency capped"),
    (2, "throttled", "throttled"),
    (3, "soft_temp_limit", "soft temperature limit"),
)
STICKY_SHIFT = 16
KNOWN_MASK = sum((1 << bit) | (1 << (bit + STICKY_SHIFT)) for bit, _, _ in FLAGS)
TEXT = {name: text for _, name, text in FLAGS}


@dataclass(frozen=True, slots=True)
class Throttle:
    raw: int
    now: tuple[str, ...]  # short names, in bit order
    since_boot: tuple[str, ...]
    unknown_bits: int  # set bits that have no documented meaning

    @property
    def active(self) -> bool:
        return bool(self.now)

    @property
    def ok(self) -> bool:
        """Nothing now and nothing since boot."""
        return self.raw == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "raw": f"0x{self.raw:x}",
            "now": list(self.now),
            "since_boot": list(self.since_boot),
            "unknown_bits": f"0x{self.unknown_bits:x}" if self.unknown_bits else None,
        }


def decode_throttled(value: int) -> Throttle:
    if value < 0:
        raise ValueError(f"negative throttle word: {value}")
    now = tuple(name for bit, name, _ in FLAGS if value & (1 << bit))
    since = tuple(name for bit, name, _ in FLAGS if value & (1 << (bit + STICKY_SHIFT)))
    return Throttle(raw=value, now=now, since_boot=since, unknown_bits=value & ~KNOWN_MASK)
