"""`WaitClock`: how long the current wait has lasted (a model loading, a structured answer, a
bench run), for a status line. It calls back at most once a second, only when the whole number
of seconds has changed, and only while a wait is on: an idle screen writes nothing (SSH)."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.timer import Timer
from textual.widget import Widget


def elapsed_text(seconds: float) -> str:
    """`7 s`, `1 min 05 s`, `1 h 02 min`."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class WaitClock:
    def __init__(
        self,
        owner: Widget,
        show: Callable[[float], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`show(seconds)` is called on `owner`'s event loop with the whole seconds elapsed."""
        self.owner = owner
        self.show = show
        self.clock = clock
        self.started: float | None = None
        self._shown = -1
        self._timer: Timer | None = None

    @property
    def running(self) -> bool:
        return self.started is not None

    @property
    def elapsed(self) -> float:
        return 0.0 if self.started is None else max(0.0, self.clock() - self.started)

    def start(self) -> None:
        """Start (or restart) counting from now."""
        self.started = self.clock()
        self._shown = -1
        if self._timer is not None:
            self._timer.stop()
        # A new timer, so the seconds tick from this start (Timer.reset skips a whole period).
        self._timer = self.owner.set_interval(1.0, self._tick)

    def stop(self) -> None:
        self.started = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _tick(self) -> None:
        if self.started is None:
            return
        seconds = int(self.elapsed)
        if seconds != self._shown:
            self._shown = seconds
            self.show(seconds)
