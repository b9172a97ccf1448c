"""A Raspberry Pi 5's own power figure: `vcgencmd pmic_read_adc` gives the voltage and the
current of each rail of its PMIC. Two output forms are in the wild:

- the channel form of current firmware (one line per channel, padded, with the ADC channel in
  parentheses): `  VDD_CORE_A current(7)=0.75012000A` and `  VDD_CORE_V volt(15)=0.89745940V`;
- the bare form some firmware builds print and Pi monitors parse (pitop): `VDD_CORE_A=0.3330A`,
  `EXT5V_V=5.0588V`.

A rail's power is V x I of its `_V` and `_A` lines (paired by name, never by channel number:
the numbers differ). EXT5V (the 5 V input) and BATT (the RTC cell) are not summed: the input
would count everything twice, the cell powers nothing. The PMIC does not see every consumer on
the board (USB, the fan, conversion losses), so the rail sum is below the wall figure; the
board's power is estimated with the linear correction measured against a USB-C power meter by
jfikar/RPi5-power: `board W = 1.1327 x rails W + 0.6444`. When the firmware also reports the
input's current (EXT5V_A, seen in the bare form), EXT5V_V x EXT5V_A is the board's draw itself
and is used as it is. README.md states both."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pislm_tui.monitor.types import SourceUnavailable

CORRECTION_SLOPE = 1.1327
CORRECTION_OFFSET_W = 0.6444
NOT_SUMMED = frozenset({"EXT5V", "BATT", "BAT_RTC"})

_LINE = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9_]+)_(?P<kind>[AV])"  # rail name and _A / _V
    r"(?:\s+(?:current|volt)\(\d+\))?"  # the channel form's "current(7)" / "volt(15)"
    r"\s*=\s*(?P<value>-?\d+(?:\.\d+)?)\s*(?P<unit>[AV])?\s*$"
)


@dataclass(frozen=True, slots=True)
class PowerReading:
    rails_w: float  # sum of V x I over the rails the PMIC measures
    rails: int  # how many rails were paired
    input_v: float | None  # EXT5V: the supply's voltage at the board
    input_w: float | None = None  # EXT5V_V x EXT5V_A, when the firmware gives the current

    @property
    def watts(self) -> float:
        """The board's draw: the input's own figure when given, else the rail sum corrected
        (see the module docstring)."""
        if self.input_w is not None:
            return self.input_w
        return CORRECTION_SLOPE * self.rails_w + CORRECTION_OFFSET_W

    def to_json(self) -> dict[str, Any]:
        return {
            "watts": round(self.watts, 3),
            "rails_w": round(self.rails_w, 3),
            "rails": self.rails,
            "input_v": self.input_v,
            "input_w": None if self.input_w is None else round(self.input_w, 3),
        }


def parse_pmic(text: str) -> PowerReading:
    """Either output form -> PowerReading; SourceUnavailable when no rail pairs up."""
    volts: dict[str, float] = {}
    amps: dict[str, float] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        unit = match["unit"]
        if unit is not None and unit != match["kind"]:
            continue  # "X_A ...=1.0V": not a reading we understand
        (amps if match["kind"] == "A" else volts)[match["name"]] = float(match["value"])
    paired = [name for name in volts if name in amps and name not in NOT_SUMMED]
    has_input = "EXT5V" in volts and "EXT5V" in amps
    if not paired and not has_input:
        first = text.strip().splitlines()[0][:60] if text.strip() else "nothing"
        raise SourceUnavailable(f"no PMIC rails in pmic_read_adc output: {first!r}")
    return PowerReading(
        rails_w=sum(volts[name] * amps[name] for name in paired),
        rails=len(paired),
        input_v=volts.get("EXT5V"),
        input_w=volts["EXT5V"] * amps["EXT5V"] if has_input else None,
    )
