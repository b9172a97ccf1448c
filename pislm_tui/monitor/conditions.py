"""The machine's conditions while a reply or a bench run is produced: SoC temperature, Arm
clock, throttle bits and power, at the start and at the end, the worst seen in between, and the
energy used. A Pi that throttles mid-reply gives a speed that is not comparable with a cool one.

    recording = Recording(sampler)          # in: the sampler's readings now carry conditions
    await recording.start()                 # the latest reading if fresh, else one reading
    ...                                     # every reading the sampler takes is seen
    run = await recording.stop()            # RunConditions (the same rule for the end)

The readings come from the app's one sampler (its timer keeps running during long work): this
machine's `Sampler`, or the `RemoteMonitor` of the host's machine over ssh when the model runs
there. No extra read is taken when its latest sample is fresh. Where no timer runs (the CLI),
`Recording(..., drive=1.0)` takes a reading every second itself."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pislm_tui.monitor.throttle import Throttle

if TYPE_CHECKING:
    from pislm_tui.monitor.remote import MachineSampler
    from pislm_tui.monitor.types import Sample

FRESH_FOR = 2.5  # s: a reading younger than this stands for "now"
COND_FIELDS = ("temp_c", "freq_mhz", "throttled", "power_w")


@dataclass(frozen=True, slots=True)
class Conditions:
    """The conditions of one reading. None = not known; why in `unavailable`."""

    time: float  # the sampler's clock
    temp_c: float | None = None
    arm_mhz: float | None = None
    throttle: Throttle | None = None
    power_w: float | None = None
    unavailable: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, sample: Sample) -> Conditions:
        un = {k: sample.why(k) for k in COND_FIELDS if getattr(sample, k) is None}
        return cls(
            time=sample.time,
            temp_c=sample.temp_c,
            arm_mhz=sample.freq_mhz,
            throttle=sample.throttled,
            power_w=sample.power_w,
            unavailable=un,
        )

    @property
    def throttling(self) -> bool:
        """Throttled, capped or at the soft limit right now."""
        return self.throttle is not None and self.throttle.active

    def to_json(self) -> dict[str, Any]:
        return {
            "temp_c": self.temp_c,
            "arm_mhz": None if self.arm_mhz is None else round(self.arm_mhz),
            "throttled": self.throttle.to_json() if self.throttle else None,
            "power_w": None if self.power_w is None else round(self.power_w, 2),
            "unavailable": dict(self.unavailable),
        }


@dataclass(frozen=True, slots=True)
class RunConditions:
    """Over one reply or bench run."""

    start: Conditions
    end: Conditions
    peak_temp_c: float | None
    min_arm_mhz: float | None
    throttled: bool  # throttling seen at any reading, start and end included
    began_throttling: bool  # not throttling at the start, throttling later
    energy_j: float | None  # integral of the board power over the run
    energy_why: str | None = None  # why there is no energy figure
    span: tuple[float, float] | None = None  # (start, end) of the run on the sampler's clock

    @property
    def seconds(self) -> float:
        start, end = self.span or (self.start.time, self.end.time)
        return max(end - start, 0.0)

    @property
    def mean_power_w(self) -> float | None:
        if self.energy_j is None or self.seconds <= 0:
            return None
        return self.energy_j / self.seconds

    def joules_per_token(self, tokens: int | None) -> float | None:
        if self.energy_j is None or not tokens:
            return None
        return self.energy_j / tokens

    def summary(self) -> str:
        """`52→61 °C · 2400 MHz · not throttled · 9.1 W · 41 J`, for the figures line."""
        parts = []
        s, e = self.start.temp_c, self.end.temp_c
        if s is not None and e is not None:
            parts.append(f"{s:.0f}→{e:.0f} °C")
        if self.min_arm_mhz is not None:
            parts.append(f"{self.min_arm_mhz:.0f} MHz")
        if self.began_throttling:
            parts.append("THROTTLED during the reply")
        elif self.throttled:
            parts.append("THROTTLED")
        elif self.start.throttle is not None or self.end.throttle is not None:
            parts.append("not throttled")
        if self.mean_power_w is not None:
            parts.append(f"{self.mean_power_w:.1f} W")
        if self.energy_j is not None:
            parts.append(f"{self.energy_j:.0f} J")
        return " · ".join(parts)

    def lines(self, tokens: int | None = None) -> list[str]:
        """The block under the `--verbose` figures."""

        def temp(c: Conditions) -> str | None:
            return None if c.temp_c is None else f"{c.temp_c:.1f} °C"

        def clock(c: Conditions) -> str | None:
            return None if c.arm_mhz is None else f"{c.arm_mhz:.0f} MHz"

        def bits(c: Conditions) -> str | None:
            if c.throttle is None:
                return None
            return f"0x{c.throttle.raw:x}" + (f" ({', '.join(c.throttle.now)})" * c.throttling)

        def line(label: str, show: Any, key: str, extra: str = "") -> str:
            a, b = show(self.start), show(self.end)
            if a is None and b is None:
                why = self.end.unavailable.get(key, "not measured")
                return f"{label:<22}n/a ({why})"
            return f"{label:<22}{a or 'n/a'} → {b or 'n/a'}{extra}"

        peak, low = self.peak_temp_c, self.min_arm_mhz
        lines = [
            line(
                "SoC temperature:", temp, "temp_c", "" if peak is None else f" (peak {peak:.1f} °C)"
            ),
            line(
                "Arm clock:", clock, "freq_mhz", "" if low is None else f" (lowest {low:.0f} MHz)"
            ),
            line("throttle bits:", bits, "throttled"),
        ]
        if self.began_throttling:
            lines.append("throttling began during the reply: its speed is not comparable")
        if self.energy_j is None:
            lines.append(f"energy:               n/a ({self.energy_why or 'not measured'})")
        else:
            per = self.joules_per_token(tokens)
            lines.append(
                f"energy:               {self.energy_j:.1f} J"
                f" ({self.mean_power_w or 0:.2f} W mean"
                + (f", {per:.3f} J/token)" if per is not None else ")")
            )
        return lines

    def to_json(self, tokens: int | None = None) -> dict[str, Any]:
        per = self.joules_per_token(tokens)
        return {
            "start": self.start.to_json(),
            "end": self.end.to_json(),
            "peak_temp_c": self.peak_temp_c,
            "min_arm_mhz": None if self.min_arm_mhz is None else round(self.min_arm_mhz),
            "throttled": self.throttled,
            "began_throttling": self.began_throttling,
            "seconds": round(self.seconds, 3),
            "energy_j": None if self.energy_j is None else round(self.energy_j, 2),
            "mean_power_w": None if self.mean_power_w is None else round(self.mean_power_w, 2),
            "joules_per_token": None if per is None else round(per, 4),
            "energy_unavailable": self.energy_why,
        }


def summarise(points: list[Conditions], span: tuple[float, float] | None = None) -> RunConditions:
    """RunConditions of the readings of one run, oldest first (at least one). `span`: when the
    run started and ended (default: its first and last reading)."""
    start, end = points[0], points[-1]
    temps = [p.temp_c for p in points if p.temp_c is not None]
    clocks = [p.arm_mhz for p in points if p.arm_mhz is not None]
    throttled = any(p.throttling for p in points)
    began = throttled and not start.throttling
    energy, why = _energy(points, span or (start.time, end.time))
    return RunConditions(
        start=start,
        end=end,
        peak_temp_c=max(temps) if temps else None,
        min_arm_mhz=min(clocks) if clocks else None,
        throttled=throttled,
        began_throttling=began,
        energy_j=energy,
        energy_why=why,
        span=span,
    )


def _energy(points: list[Conditions], span: tuple[float, float]) -> tuple[float | None, str | None]:
    """Trapezoids between power readings; the first and last reading hold to the run's ends."""
    powered = [(p.time, p.power_w) for p in points if p.power_w is not None]
    if not powered:
        return None, points[-1].unavailable.get("power_w", "no power readings")
    t0, t1 = span
    if t1 <= t0:
        return None, "no time passed between the start and the end"
    powered = [(min(max(t, t0), t1), w) for t, w in powered]  # a reading from before the start
    joules = powered[0][1] * max(powered[0][0] - t0, 0.0)
    for (ta, pa), (tb, pb) in itertools.pairwise(powered):
        joules += (pa + pb) / 2 * (tb - ta)
    joules += powered[-1][1] * max(t1 - powered[-1][0], 0.0)
    return joules, None


class Recording:
    """Records a sampler's readings between `start()` and `stop()` (see the module docstring).
    `drive`: seconds between readings it takes itself, for callers without a timer."""

    def __init__(
        self, sampler: MachineSampler, *, fresh_for: float = FRESH_FOR, drive: float | None = None
    ) -> None:
        self.sampler = sampler
        self.fresh_for = fresh_for
        self.drive = drive
        self.points: list[Conditions] = []
        self._task: asyncio.Task[None] | None = None
        self._starting: asyncio.Future[None] | None = None
        self._on = False
        self.started_at: float | None = None  # the sampler's clock at start()

    def _add(self, sample: Sample) -> None:
        self.points.append(Conditions.of(sample))

    async def _now(self) -> None:
        """The latest reading if fresh and complete, else one reading (seen through `_add`)."""
        last = self.sampler.last
        age = None if last is None else self.sampler.clock() - last.time
        has = last is not None and (last.detail or last.unavailable.get("throttled") is None)
        if last is not None and age is not None and age <= self.fresh_for and has:
            if not self.points or self.points[-1].time != last.time:
                self._add(last)
            return
        await self.sampler.sample(detail=False, wait_slow=True)

    async def start(self) -> None:
        if self._on:
            return
        self._on = True
        self.started_at = self.sampler.clock()
        self.sampler.recorders.append(self._add)
        await self._now()
        if self.drive:
            self._task = asyncio.create_task(self._drive(self.drive))

    def begin(self) -> None:
        """`start()` beside the caller's own work (a reading to take must not delay a reply's
        request); `stop()` waits for it."""
        self._starting = asyncio.ensure_future(self.start())

    async def _drive(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.sampler.sample(detail=False)

    def abandon(self) -> None:
        """The run failed or was cancelled: stop recording without a last reading."""
        if self._starting is not None:
            self._starting.cancel()
            self._starting = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._on = False
        with contextlib.suppress(ValueError):
            self.sampler.recorders.remove(self._add)

    async def stop(self) -> RunConditions | None:
        """The run's conditions; None if the sampler gave no reading at all."""
        if self._starting is not None:
            await self._starting
            self._starting = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._on:
            try:
                await self._now()
            finally:
                self._on = False
                with contextlib.suppress(ValueError):
                    self.sampler.recorders.remove(self._add)
        if not self.points:
            return None
        start = self.points[0].time if self.started_at is None else self.started_at
        return summarise(self.points, (start, self.sampler.clock()))
