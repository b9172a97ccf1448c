"""Connection state of the server, checked at start and re-checked in the background: every
`interval` seconds while connected, with exponential backoff (up to `backoff_max`) while not."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pislm_tui.backend.base import Backend
from pislm_tui.backend.errors import PislmError, ServerUnreachable
from pislm_tui.backend.types import ModelInfo

Status = Literal["connecting", "connected", "unreachable", "error"]


@dataclass(frozen=True)
class ConnectionState:
    status: Status
    url: str
    kind: str
    version: str | None = None
    models: tuple[ModelInfo, ...] = ()
    error: str | None = None
    hint: str | None = None
    checked_at: float = field(default=0.0, compare=False)

    @property
    def connected(self) -> bool:
        return self.status == "connected"

    @property
    def model_count(self) -> int:
        return len(self.models)


async def probe(backend: Backend) -> ConnectionState:
    """One check: the version and the number of installed models."""
    try:
        version = await backend.version()
        models = await backend.list_models()
    except ServerUnreachable as exc:
        return ConnectionState(
            "unreachable",
            backend.url,
            backend.kind,
            error=exc.message,
            hint=exc.hint,
            checked_at=time.monotonic(),
        )
    except PislmError as exc:
        return ConnectionState(
            "error",
            backend.url,
            backend.kind,
            error=exc.message,
            hint=exc.hint,
            checked_at=time.monotonic(),
        )
    return ConnectionState(
        "connected",
        backend.url,
        backend.kind,
        version=version,
        models=tuple(models),
        checked_at=time.monotonic(),
    )


class ConnectionWatcher:
    """Runs `probe` in a loop and calls `on_change` when the state differs from the last one."""

    def __init__(
        self,
        backend: Backend,
        on_change: Callable[[ConnectionState], None],
        *,
        interval: float = 15.0,
        backoff_min: float = 0.5,
        backoff_max: float = 10.0,
    ) -> None:
        self.backend = backend
        self.on_change = on_change
        self.interval = interval
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.state = ConnectionState("connecting", backend.url, backend.kind)
        self._wake = asyncio.Event()

    def check_now(self) -> None:
        """Re-check at once (e.g. after a request failed, or a model was pulled)."""
        self._wake.set()

    @property
    def check_pending(self) -> bool:
        """A re-check was asked for and has not finished yet."""
        return self._wake.is_set()

    async def run(self) -> None:
        # The client libraries cost ~0.4 s to import: do it off the event loop so the UI stays live.
        await asyncio.to_thread(self.backend.warm_up)
        delay = self.backoff_min
        while True:
            state = await probe(self.backend)
            if state != self.state:
                self.state = state
                self.on_change(state)
            else:
                self.state = state
            if state.connected:
                delay = self.backoff_min
                wait = self.interval
            else:
                wait = delay
                delay = min(delay * 2, self.backoff_max)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
