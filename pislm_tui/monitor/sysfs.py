"""Readers for /sys: SoC temperature, the Pi 5 fan, CPU frequency, the under-voltage alarm.
This machine's temperature and frequency come from psutil (`local.py`); the fan (`pwmfan`: speed
and PWM duty) and the alarm (`rpi_volt`) are Pi-specific and always read here. All four are read
here for a /sys tree elsewhere (`files.py`).

Devices are found by name, never by number (hwmonN and thermal_zoneN change between boots).
What was found is remembered; when nothing is found the search is repeated only now and then."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from pislm_tui.monitor.procfs import read_text
from pislm_tui.monitor.types import SourceUnavailable

# Thermal zone types / hwmon names for the CPU, best first. Raspberry Pi: the `cpu-thermal`
# zone, registered in hwmon as `cpu_thermal` (a kernel patch may add a `_<n>` suffix, hence
# prefixes). Others, so the app says something useful on a laptop or an x86 box too.
CPU_ZONE_PREFIXES = ("cpu-thermal", "cpu_thermal", "x86_pkg_temp", "soc-thermal", "soc_thermal")
CPU_HWMON_PREFIXES = ("cpu_thermal", "cpu-thermal", "coretemp", "k10temp", "zenpower")
REDISCOVER_AFTER = 60.0  # seconds before looking again for a device that was not there


def _first_line(path: Path) -> str:
    return read_text(path).strip()


def _millidegrees(path: Path) -> float:
    raw = _first_line(path)
    try:
        return round(int(raw) / 1000.0, 1)
    except ValueError:
        raise SourceUnavailable(f"unexpected value in {path}: {raw[:20]!r}") from None


def _named_dirs(base: Path, pattern: str, name_file: str) -> list[tuple[str, Path]]:
    """(name, dir) for each `base/pattern` directory with a readable `name_file`."""
    found = []
    try:
        dirs = sorted(base.glob(pattern))
    except OSError:
        return []
    for d in dirs:
        try:
            found.append((_first_line(d / name_file), d))
        except SourceUnavailable:
            continue
    return found


def _best(named: list[tuple[str, Path]], prefixes: tuple[str, ...]) -> tuple[str, Path] | None:
    for prefix in prefixes:
        for name, path in named:
            if name.startswith(prefix):
                return name, path
    return None


class SysSensors:
    """The sysfs sources of one machine. Each method raises SourceUnavailable with a reason."""

    def __init__(self, sys_root: Path, clock: Callable[[], float]) -> None:
        self.root = sys_root
        self.clock = clock
        self._cache: dict[str, tuple[float, object]] = {}

    def _find(self, key: str, search: Callable[[], object]) -> object:
        """`search()` once, remembered; a miss (a SourceUnavailable) is retried after a while."""
        hit = self._cache.get(key)
        now = self.clock()
        if hit is not None and (not isinstance(hit[1], SourceUnavailable) or now < hit[0]):
            if isinstance(hit[1], SourceUnavailable):
                raise hit[1]
            return hit[1]
        try:
            value = search()
        except SourceUnavailable as exc:
            self._cache[key] = (now + REDISCOVER_AFTER, exc)
            raise
        self._cache[key] = (now, value)
        return value

    def _forget(self, key: str) -> None:
        self._cache.pop(key, None)

    # -- temperature ----------------------------------------------------------------------

    def _find_temperature(self) -> tuple[Path, str]:
        zones = _named_dirs(self.root / "class" / "thermal", "thermal_zone*", "type")
        best = _best(zones, CPU_ZONE_PREFIXES)
        if best is not None:
            return best[1] / "temp", f"thermal zone {best[0]}"
        hwmons = _named_dirs(self.root / "class" / "hwmon", "hwmon*", "name")
        best = _best(hwmons, CPU_HWMON_PREFIXES)
        if best is not None:
            return best[1] / "temp1_input", f"hwmon {best[0]}"
        if zones or hwmons:
            names = ", ".join(sorted({n for n, _ in zones + hwmons}))[:80]
            raise SourceUnavailable(f"no CPU sensor among the thermal zones/hwmon ({names})")
        raise SourceUnavailable("no thermal zones or hwmon sensors in /sys/class")

    def temperature(self) -> tuple[float, str]:
        """(°C, where it came from)."""
        path, source = self._find("temp", self._find_temperature)  # type: ignore[misc]
        try:
            return _millidegrees(path), source
        except SourceUnavailable:
            self._forget("temp")
            raise

    # -- fan ------------------------------------------------------------------------------

    def _find_fan(self) -> Path:
        best = _best(_named_dirs(self.root / "class" / "hwmon", "hwmon*", "name"), ("pwmfan",))
        if best is None:
            raise SourceUnavailable("no fan (no 'pwmfan' hwmon device: no Pi 5 fan connected)")
        return best[1]

    def fan(self) -> tuple[int, float | None]:
        """(RPM, PWM duty %). The Pi 5 firmware only enables the fan device when a fan spun at boot."""
        d: Path = self._find("fan", self._find_fan)  # type: ignore[assignment]
        try:
            raw = _first_line(d / "fan1_input")
            rpm = int(raw)
        except (SourceUnavailable, ValueError):
            self._forget("fan")
            raise SourceUnavailable(f"unreadable fan speed in {d}") from None
        duty: float | None = None
        with contextlib.suppress(SourceUnavailable, ValueError):
            duty = round(100.0 * int(_first_line(d / "pwm1")) / 255.0, 1)
        return rpm, duty

    # -- CPU frequency --------------------------------------------------------------------

    def _find_cpufreq(self) -> Path:
        cpu = self.root / "devices" / "system" / "cpu"
        for d in (cpu / "cpu0" / "cpufreq", cpu / "cpufreq" / "policy0"):
            if (d / "scaling_cur_freq").is_file():
                return d
        raise SourceUnavailable("no cpufreq (scaling_cur_freq) in /sys/devices/system/cpu")

    def cpufreq(self) -> tuple[float, float | None]:
        """(current MHz as the kernel requested it, ceiling MHz). Files hold kHz."""
        d: Path = self._find("freq", self._find_cpufreq)  # type: ignore[assignment]
        try:
            current = int(_first_line(d / "scaling_cur_freq")) / 1000.0
        except (SourceUnavailable, ValueError):
            self._forget("freq")
            raise SourceUnavailable(f"unreadable scaling_cur_freq in {d}") from None
        ceiling = None
        for name in ("scaling_max_freq", "cpuinfo_max_freq"):
            try:
                ceiling = int(_first_line(d / name)) / 1000.0
                break
            except (SourceUnavailable, ValueError):
                continue
        return current, ceiling

    # -- under-voltage (no vcgencmd needed) -------------------------------------------------

    def _find_rpi_volt(self) -> Path:
        best = _best(_named_dirs(self.root / "class" / "hwmon", "hwmon*", "name"), ("rpi_volt",))
        if best is None:
            raise SourceUnavailable("no 'rpi_volt' hwmon device")
        return best[1] / "in0_lcrit_alarm"

    def under_voltage(self) -> bool:
        """The firmware's under-voltage alarm as the rpi_volt driver last saw it (2 s poll)."""
        path: Path = self._find("volt", self._find_rpi_volt)  # type: ignore[assignment]
        return _first_line(path) == "1"


class SensorsFromSysfs:
    """The sensor readings of a `MachineReader` whose machine has a /sys tree here (a local
    copy, or a remote machine's dump): its `sensors` answer them."""

    sensors: SysSensors

    def temperature(self) -> tuple[float, str]:
        return self.sensors.temperature()

    def fan(self) -> tuple[int, float | None]:
        return self.sensors.fan()

    def cpufreq(self) -> tuple[float, float | None]:
        return self.sensors.cpufreq()

    def under_voltage(self) -> bool:
        return self.sensors.under_voltage()
