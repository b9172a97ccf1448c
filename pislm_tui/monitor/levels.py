"""Raspberry Pi 5 temperature steps (raspberrypi/documentation frequency-management.adoc and the
bcm2712-rpi-5-b device tree): the fan starts at 50 °C (30 %) and steps up at 60 (50 %),
67.5 (70 %) and 75 °C (100 %); from 80 °C the firmware throttles the Arm cores progressively, at
85 °C it throttles the Arm cores and the GPU hard. The screens colour temperatures by these steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["ok", "warm", "hot", "critical"]


@dataclass(frozen=True, slots=True)
class TempLevel:
    floor: float  # °C where this level starts
    name: str
    label: str
    severity: Severity


# Highest first.
PI5_LEVELS: tuple[TempLevel, ...] = (
    TempLevel(85.0, "hard", "hard throttling (Arm + GPU)", "critical"),
    TempLevel(80.0, "throttling", "Arm throttling", "critical"),
    TempLevel(75.0, "fan4", "fan step 100 %", "hot"),
    TempLevel(67.5, "fan3", "fan step 70 %", "hot"),
    TempLevel(60.0, "fan2", "fan step 50 %", "warm"),
    TempLevel(50.0, "fan1", "fan step 30 %", "ok"),
    TempLevel(float("-inf"), "cool", "cool, fan off", "ok"),
)


def temp_level(celsius: float) -> TempLevel:
    for level in PI5_LEVELS:
        if celsius >= level.floor:
            return level
    return PI5_LEVELS[-1]
