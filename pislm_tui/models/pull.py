"""Pull progress: `PullTracker` folds Ollama's pull lines into per-layer progress (bytes done and
total, speed, ETA) and an overall figure; `pull_model` runs a pull through the backend and feeds
a tracker. Ollama downloads several layers at once and repeats a line per layer every ~60 ms, so
everything is keyed on the layer digest and speeds come from a short window of samples (a
resumed layer starts with bytes already done: they are not "speed")."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from pislm_tui.backend.base import Backend
from pislm_tui.backend.errors import PislmError, StreamInterrupted, UsageError
from pislm_tui.backend.types import PullProgress
from pislm_tui.models.listing import human_eta, human_rate
from pislm_tui.sizes import decimal_bytes

Clock = Callable[[], float]

# Seconds of samples a speed is averaged over: long enough to smooth bursty chunks, short
# enough to follow a changing link.
SPEED_WINDOW = 5.0


@dataclass
class LayerProgress:
    digest: str
    total: int | None = None
    completed: int = 0
    _samples: deque[tuple[float, int]] = field(default_factory=deque, repr=False)

    @property
    def short(self) -> str:
        """The 12 hex characters Ollama shows (`pulling dde5aa3fc5ff`)."""
        return self.digest.removeprefix("sha256:")[:12]

    @property
    def done(self) -> bool:
        return self.total is not None and self.completed >= self.total

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.completed / self.total)

    def record(self, now: float, completed: int, window: float) -> None:
        self.completed = completed
        self._samples.append((now, completed))
        while len(self._samples) > 2 and now - self._samples[1][0] >= window:
            self._samples.popleft()

    @property
    def speed(self) -> float | None:
        """Bytes per second over the recent window; None until two samples exist."""
        if self.done or len(self._samples) < 2:
            return None
        (t0, c0), (t1, c1) = self._samples[0], self._samples[-1]
        if t1 <= t0 or c1 < c0:
            return None
        return (c1 - c0) / (t1 - t0)

    @property
    def eta(self) -> float | None:
        speed = self.speed
        if self.total is None or not speed:
            return None
        return max(0.0, (self.total - self.completed) / speed)

    def describe(self) -> str:
        """`640 MB / 2.0 GB · 12.3 MB/s · ETA 52s` (or `1.3 GB · done`)."""
        if self.done:
            return f"{decimal_bytes(self.total)} · done"
        total = decimal_bytes(self.total) if self.total else "?"
        return f"{decimal_bytes(self.completed)} / {total} · {human_rate(self.speed)} · ETA {human_eta(self.eta)}"


class PullTracker:
    """The state of one pull. Feed it every `PullProgress` line (`feed`), read `layers`,
    `fraction`, `status`, `done`, `error`. The clock is injectable for tests and snapshots."""

    def __init__(self, model: str, *, clock: Clock = time.monotonic, window: float = SPEED_WINDOW):
        self.model = model
        self.clock = clock
        self.window = window
        self.layers: dict[str, LayerProgress] = {}
        self.status = "starting"
        self.done = False  # the server said "success"
        self.error: PislmError | None = None
        self.cancelled = False
        self.lines = 0
        self.started = clock()

    def feed(self, line: PullProgress) -> None:
        self.lines += 1
        if line.status:
            self.status = line.status
        if line.digest:
            layer = self.layers.get(line.digest)
            if layer is None:
                layer = self.layers[line.digest] = LayerProgress(line.digest)
            if line.total is not None:
                layer.total = line.total
            # `completed` is omitted while zero, so a missing value means 0 only at the start.
            completed = line.completed if line.completed is not None else layer.completed
            layer.record(self.clock(), completed, self.window)
        if line.status == "success":
            self.done = True
            for layer in self.layers.values():
                if layer.total is not None:
                    layer.completed = layer.total

    # -- overall figures ------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.done or self.error is not None or self.cancelled

    @property
    def total_bytes(self) -> int | None:
        """Sum of the layer sizes, once every known layer has one."""
        if not self.layers or any(layer.total is None for layer in self.layers.values()):
            return None
        return sum(layer.total or 0 for layer in self.layers.values())

    @property
    def completed_bytes(self) -> int:
        return sum(layer.completed for layer in self.layers.values())

    @property
    def fraction(self) -> float | None:
        if self.done:
            return 1.0
        total = self.total_bytes
        if not total:
            return None
        return min(1.0, self.completed_bytes / total)

    @property
    def speed(self) -> float | None:
        speeds = [s for layer in self.layers.values() if (s := layer.speed) is not None]
        return sum(speeds) if speeds else None

    @property
    def eta(self) -> float | None:
        total, speed = self.total_bytes, self.speed
        if total is None or not speed:
            return None
        return max(0.0, (total - self.completed_bytes) / speed)

    @property
    def state(self) -> str:
        if self.error is not None:
            return "failed"
        if self.cancelled:
            return "cancelled"
        if self.done:
            return "done"
        return "running"

    def summary(self) -> str:
        """One line for the whole pull: `32% · 640 MB / 2.0 GB · 12.3 MB/s · ETA 1m52s`."""
        if self.error is not None:
            return "failed"
        if self.cancelled:
            return "cancelled"
        if self.done:
            total = self.total_bytes
            return f"done · {decimal_bytes(total)}" if total else "done"
        fraction = self.fraction
        if fraction is None:
            return self.status
        total = self.total_bytes
        return (
            f"{fraction:.0%} · {decimal_bytes(self.completed_bytes)} / {decimal_bytes(total)} · "
            f"{human_rate(self.speed)} · ETA {human_eta(self.eta)}"
        )


def check_model_name(name: str) -> str:
    """The name as Ollama will accept it, or a UsageError for obviously bad input."""
    name = name.strip()
    if not name:
        raise UsageError("no model name given", "e.g. `pislm pull llama3.2:1b`")
    if any(c.isspace() for c in name) or any(c in name for c in "\"'`\\<>|;"):
        raise UsageError(
            f"'{name}' is not a model name",
            "names look like llama3.2:1b or namespace/model:tag",
        )
    return name


async def pull_model(
    backend: Backend,
    name: str,
    on_update: Callable[[PullTracker], None] | None = None,
    *,
    tracker: PullTracker | None = None,
) -> PullTracker:
    """Pull `name`, calling `on_update(tracker)` after every progress line. Returns the tracker
    when the server reports success. A failure is recorded in `tracker.error` and raised (a
    `PislmError`); cancelling the calling task closes the connection, which stops the pull, and
    marks the tracker cancelled."""
    name = check_model_name(name)
    tracker = tracker or PullTracker(name)
    try:
        async for line in backend.pull(name):
            tracker.feed(line)
            if on_update is not None:
                on_update(tracker)
    except asyncio.CancelledError:
        tracker.cancelled = True
        if on_update is not None:
            on_update(tracker)
        raise
    except PislmError as exc:
        tracker.error = exc
        if on_update is not None:
            on_update(tracker)
        raise
    if not tracker.done:
        # The stream ended without "success": the connection broke mid-pull.
        tracker.error = StreamInterrupted(
            "the stream ended before it finished",
            hint="what was downloaded is kept; pull again to resume",
            what="pull",
        )
        if on_update is not None:
            on_update(tracker)
        raise tracker.error
    return tracker
