"""Long work: the jobs a user waits on (a reply, a pull, a load, a bench, an ingest, a tool run).
While one runs, the live strip never rests over SSH (`MonitorFeed.should_rest`, `app.busy()`).

A job is marked long where its worker is started, not in a list of group names kept elsewhere:

    @long_work(exclusive=True, group="pull", exit_on_error=False)   # instead of @work(...)
    async def _pull(self) -> None: ...

    mark_long(self.run_worker(coro, group="chat-stream"))           # a worker started by hand

Each worker started so is remembered (weakly) as long; `is_long(worker)` asks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from weakref import WeakSet

from textual import work
from textual.worker import Worker

P = ParamSpec("P")
R = TypeVar("R")

_LONG: WeakSet[Worker[Any]] = WeakSet()


def mark_long(worker: Worker[R]) -> Worker[R]:
    """Mark a worker as long work; returns it."""
    _LONG.add(worker)
    return worker


def is_long(worker: Worker[Any]) -> bool:
    return worker in _LONG


def long_work(
    *,
    group: str = "default",
    exclusive: bool = False,
    exit_on_error: bool = True,
    name: str = "",
    description: str | None = None,
) -> Callable[[Callable[P, Coroutine[None, None, R]]], Callable[P, Worker[R]]]:
    """Textual's `@work(...)` for an async method whose job the user waits on: every worker it
    starts is marked long."""
    start_worker = work(
        name=name,
        group=group,
        exit_on_error=exit_on_error,
        exclusive=exclusive,
        description=description,
    )

    def decorator(method: Callable[P, Coroutine[None, None, R]]) -> Callable[P, Worker[R]]:
        started: Callable[P, Worker[R]] = start_worker(method)

        @wraps(method)
        def run(*args: P.args, **kwargs: P.kwargs) -> Worker[R]:
            return mark_long(started(*args, **kwargs))

        return run

    return decorator
