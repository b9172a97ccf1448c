"""Unhandled errors: written to a crash log, shown, and survived.

Textual ends the app on the first unhandled exception. pislm keeps running instead: the error
goes to `crash.log` in the data dir (time, versions, where, traceback) and a notification says
what happened and where the details are; the user's work stays on screen. Textual has no public
hook for this, so two private places are used, only on the Textual versions read for it
(`VERIFIED_TEXTUAL`), with stock behaviour on any other:

- `App._handle_exception` (overridden in `PislmApp`): errors of timers, workers, callbacks and
  the screen output. Errors while a widget is composed or mounted, or while the app starts or
  shuts down, still end it (stock), but the log gets them and `exit_message()` points to it.
- `MessagePump._dispatch_message` (wrapped here): an error in a message handler would otherwise
  also stop the message loop of the widget that raised it (Textual removes that widget, or ends
  the app when the handler is the app's own, as for every key binding's action).

Textual's loops also end, without any message and with exit code 0, when a `CancelledError`
reaches them that is not a cancel of their own task: that is what happens when a task awaiting a
widget removal is cancelled (`AwaitRemove` gathers the removed widgets' tasks, so they are
cancelled half-way and whoever else awaits them gets the CancelledError; issue #12). Such a
stray CancelledError is reported like any error; `run_to_end()` keeps it from arising."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import textual
from textual import events
from textual.app import App
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerFailed, WorkerState

from pislm_tui import __version__
from pislm_tui.backend.errors import PislmError

if TYPE_CHECKING:
    from textual.message import Message

T = TypeVar("T")

CRASH_LOG = "crash.log"
VERIFIED_TEXTUAL = ((8, 2),)  # (major, minor) whose private code below was read and tested
LOG_CAP_BYTES = 256 * 1024  # then crash.log becomes crash.log.1 (one old file kept)
STORM_ERRORS = 20  # this many errors within STORM_SECONDS: give up and end the app
STORM_SECONDS = 10.0
REPEAT_NOTE_SECONDS = 10.0  # the same error again this soon: logged, not notified again

# Where `App._handle_exception` is called from (Textual 8.2), for the log. Errors raised while
# a widget is composed or mounted, or while the app starts, stay fatal: a widget that never
# started cannot be used, nor removed cleanly.
_CALLERS = {
    "_tick": "a timer",
    "_run": "a worker",
    "_flush_next_callbacks": "a callback",
    "_process_messages_loop": "an idle handler",
    "_display": "the screen output",
    "_refresh_layout": "the layout",
    "_log": "the log",
}
_STARTUP_CALLERS = frozenset({"_pre_process", "_compose", "_process_messages", "app_prelude"})
_STARTUP_EVENTS = (events.Load, events.Compose, events.Mount)


def textual_version(version: str | None = None) -> tuple[int, int] | None:
    text = version if version is not None else getattr(textual, "__version__", "")
    try:
        major, minor = text.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def survival_supported(
    version: str | None = None,
    app_class: type = App,
    pump_class: type = MessagePump,
) -> bool:
    """Whether the private hooks are the ones this module was written against."""
    return (
        textual_version(version) in VERIFIED_TEXTUAL
        and callable(getattr(app_class, "_handle_exception", None))
        and inspect.iscoroutinefunction(getattr(pump_class, "_dispatch_message", None))
    )


def stray_cancel() -> bool:
    """A CancelledError arrived, but nobody cancelled the current task: it came from awaiting
    something that was cancelled (see the module docstring)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


# -- the crash log -------------------------------------------------------------------------------


class CrashLog:
    """`crash.log`: one entry per error, newest last; capped (one older file kept)."""

    def __init__(self, path: Path, cap_bytes: int = LOG_CAP_BYTES) -> None:
        self.path = path
        self.cap_bytes = cap_bytes

    def write(self, error: BaseException, where: str, outcome: str) -> str | None:
        """Append an entry; None when written, else why not (the data dir may be read-only
        or full: that must not become another error)."""
        import platform

        try:
            stamp = datetime.now().astimezone().isoformat(timespec="seconds")
            header = (
                f"==== {stamp} · pislm {__version__} · Textual {textual.__version__}"
                f" · Python {platform.python_version()} · {platform.platform()}\n"
            )
            body = "".join(traceback.format_exception(error)).rstrip("\n")
        except Exception as exc:  # an exception that cannot even be formatted
            header, body = "==== ?\n", f"{type(error).__name__} (not formattable: {exc!r})"
        entry = f"{header}where: {where}\noutcome: {outcome}\n{body}\n\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size + len(entry) > self.cap_bytes:
                self.path.replace(self.path.with_name(self.path.name + ".1"))
            with self.path.open("a", encoding="utf-8") as log:
                log.write(entry)
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None


def describe(error: BaseException) -> str:
    text = str(error)
    name = type(error).__name__
    if isinstance(error, asyncio.CancelledError):
        return "CancelledError: a change of the screen was cancelled half-way"
    return f"{name}: {text}" if text else name


# -- the guard -----------------------------------------------------------------------------------


class ErrorGuard:
    """The app's unhandled errors: log, notify, decide whether the app can go on."""

    def __init__(self, app: App[Any], log_path: Path, *, enabled: bool | None = None) -> None:
        self.app = app
        self.log = CrashLog(log_path)
        self.enabled = survival_supported() if enabled is None else enabled
        if self.enabled:
            install_dispatch_guard()
        self.exit_requested = False  # app.exit() was called (quit, a signal, a hang-up)
        self.fatal: list[str] = []  # errors that ended the app
        self.survived = 0
        self._recent: deque[float] = deque(maxlen=STORM_ERRORS)
        self._last_note: tuple[str, float] = ("", 0.0)

    def can_continue(self, caller: str | None = None) -> bool:
        if not self.enabled or self.exit_requested or not self.app.is_running:
            return False
        if caller in _STARTUP_CALLERS:
            return False
        recent = self._recent
        storm = len(recent) == STORM_ERRORS and time.monotonic() - recent[0] < STORM_SECONDS
        return not storm

    def report(self, error: BaseException, where: str, survived: bool) -> None:
        outcome = "the app kept running" if survived else "the app stopped"
        problem = self.log.write(error, where, outcome)
        if not survived:
            self.fatal.append(describe(error))
            return
        self.survived += 1
        self._recent.append(time.monotonic())
        self._keep_for_tests(error)
        text = describe(error)
        now = time.monotonic()
        last_text, last_time = self._last_note
        if text == last_text and now - last_time < REPEAT_NOTE_SECONDS:
            return
        self._last_note = (text, now)
        details = (
            f"details in {self.log.path}"
            if problem is None
            else f"the crash log could not be written ({problem})"
        )
        with contextlib.suppress(Exception):  # the log has it; a failing toast must not loop
            self.app.notify(
                f"{text}\nThe app keeps running; {details}",
                title="Internal error",
                severity="error",
                timeout=15,
                markup=False,
            )

    def _keep_for_tests(self, error: BaseException) -> None:
        """Textual's test harness (`run_test`) raises the app's first unhandled error when the
        test ends; a survived error must still fail the test that met it."""
        app: Any = self.app
        if getattr(app, "_exception", False) is None:
            if not isinstance(error, Exception):  # a stray CancelledError
                stray = RuntimeError(describe(error))
                stray.__cause__ = error
                error = stray
            app._exception = error
            app._exception_event.set()

    # -- the hooks PislmApp calls ----------------------------------------------------------------

    def handle_exception(self, error: Exception, caller: str) -> bool:
        """From `App._handle_exception`: True if the app goes on (else: stock behaviour)."""
        survived = self.can_continue(caller)
        if isinstance(error, WorkerFailed) and survived:
            self.worker_failed(error.error, "a worker")
            return True
        self.report(error, _CALLERS.get(caller, caller), survived)
        return survived

    def worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers that do not end it on error (Textual would say nothing)."""
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error and not worker.exit_on_error:
            self.worker_failed(worker.error, f"worker {worker.name or worker.group!r}")

    def worker_failed(self, error: BaseException, where: str) -> None:
        """Our errors are shown as errors (the user can act on them); anything else is a bug,
        reported as a crash."""
        show_error = getattr(self.app, "show_error", None)
        if isinstance(error, PislmError) and show_error is not None:
            show_error(error)
        else:
            self.report(error, where, survived=True)

    def guard_callback(self, callback: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
        """An app callback (`call_next`) whose errors are reported instead of ending the
        app's message loop (a stray CancelledError would end it silently)."""

        async def guarded() -> None:
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError as error:
                if not (stray_cancel() and self.can_continue()):
                    raise
                self.report(error, "a callback of the app", survived=True)
            except Exception as error:
                if not self.can_continue():
                    raise
                self.report(error, "a callback of the app", survived=True)

        return guarded

    def exit_message(self) -> str | None:
        """After `app.run()`: what to print when an error ended the app (None otherwise)."""
        where = f"details in {self.log.path}"
        if self.fatal:
            more = f" (and {len(self.fatal) - 1} more)" if len(self.fatal) > 1 else ""
            return f"pislm stopped after an internal error: {self.fatal[0]}{more}; {where}"
        if not self.exit_requested:
            problem = self.log.write(
                RuntimeError("the app ended although nobody asked it to quit"),
                "the app's message loop",
                "the app stopped",
            )
            if problem is not None:
                where = f"the crash log could not be written ({problem})"
            return f"pislm stopped unexpectedly; {where}"
        return None

    def exit_code(self, return_code: int | None) -> int:
        if self.fatal or not self.exit_requested:
            return return_code or 1
        return return_code or 0


# -- message handlers ------------------------------------------------------------------------------

_original_dispatch: Callable[[MessagePump, Message], Awaitable[None]] | None = None


def _guard_of(pump: MessagePump) -> ErrorGuard | None:
    try:
        app = pump.app
    except Exception:  # no active app (a pump outside any app)
        return None
    guard = getattr(app, "error_guard", None)
    return guard if isinstance(guard, ErrorGuard) else None


async def _guarded_dispatch(self: MessagePump, message: Message) -> None:
    assert _original_dispatch is not None
    if isinstance(message, _STARTUP_EVENTS):
        await _original_dispatch(self, message)
        return
    try:
        await _original_dispatch(self, message)
    except asyncio.CancelledError as error:
        guard = _guard_of(self)
        if guard is None or not stray_cancel() or not guard.can_continue():
            raise
        guard.report(error, _handler_name(self, message), survived=True)
    except Exception as error:
        guard = _guard_of(self)
        if guard is None or not guard.can_continue():
            raise  # stock: Textual's _handle_exception (which reports it once)
        guard.report(error, _handler_name(self, message), survived=True)


def _handler_name(pump: MessagePump, message: Message) -> str:
    node_id = getattr(pump, "id", None)
    name = type(pump).__name__ + (f"#{node_id}" if node_id else "")
    return f"the {type(message).__name__} handler of {name}"


def install_dispatch_guard() -> None:
    """Wrap `MessagePump._dispatch_message` (idempotent). Apps without an `ErrorGuard` see no
    difference."""
    global _original_dispatch
    if _original_dispatch is None:
        _original_dispatch = MessagePump._dispatch_message
        MessagePump._dispatch_message = _guarded_dispatch  # type: ignore[method-assign]


# -- changes of the widget tree that must not be cancelled half-way --------------------------------

_unfinished: set[asyncio.Future[Any]] = set()  # strong references (the loop keeps weak ones)


async def run_to_end(change: Awaitable[T], owner: MessagePump) -> T:
    """Await `change` (a removal, a mount, a Markdown update) to its end even if the awaiting
    task is cancelled meanwhile (Esc, a new question, a stopped timer): the change runs in a
    task of its own and the caller still gets its CancelledError at once. An error the change
    raises after that is reported through `owner`'s message loop, not lost."""
    task = asyncio.ensure_future(change)
    _unfinished.add(task)
    task.add_done_callback(_unfinished.discard)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            task.add_done_callback(lambda done: _report_late(done, owner))
        raise


def _report_late(task: asyncio.Future[Any], owner: MessagePump) -> None:
    if task.cancelled() or task.exception() is None:
        return
    error = task.exception()

    def reraise() -> None:
        raise error  # type: ignore[misc]

    with contextlib.suppress(Exception):  # the app is gone: nobody to tell
        pump = owner if owner.is_running else owner.app
        pump.call_later(reraise)


def caller_name() -> str:
    """The function that called the caller of this function (for `_handle_exception`)."""
    return sys._getframe(2).f_code.co_name
