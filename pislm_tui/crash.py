"""Unhandled errors: written to a crash log, shown, and survived.

Textual ends the app on the first unhandled exception. pislm keeps running instead: the error
goes to `crash.log` in the data dir (time, versions, where, traceback) and a notification says
what happened and where the details are; the user's work stays on screen. Textual has no public
hook for this: `textual_compat/errors.py` reaches into it, behind the guard, and asks the app's
`ErrorGuard` (here) what to do:

- errors of timers, workers, callbacks and the screen output (Textual's `_handle_exception`);
  errors while a widget is composed or mounted, or while the app starts or shuts down, still end
  it (stock), but the log gets them and `exit_message()` points to it;
- errors in message handlers, which would otherwise also stop the message loop of the widget
  that raised them (or the app's, for every key binding's action).

On a Textual the guard does not know (`textual_compat.errors.survival_note()`), none of that is
used: the first unhandled error ends the app as stock Textual ends it, and `exit_message()`
still says that pislm stopped and where the log is.

Textual's loops also end, without any message and with exit code 0, when a `CancelledError`
reaches them that is not a cancel of their own task: that is what happens when a task awaiting a
widget removal is cancelled (`AwaitRemove` gathers the removed widgets' tasks, so they are
cancelled half-way and whoever else awaits them gets the CancelledError; issue #12). Such a
stray CancelledError is reported like any error; `run_to_end()` keeps it from arising."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import textual
from textual.app import App
from textual.css.query import NoMatches
from textual.message_pump import MessagePump
from textual.widget import MountError
from textual.worker import Worker, WorkerFailed, WorkerState

from pislm_tui import __version__
from pislm_tui.backend.errors import PislmError
from pislm_tui.textual_compat.errors import (
    catch_unhandled,
    fail_run_test,
    guard_message_handlers,
    survival_note,
)
from pislm_tui.textual_compat.guard import log_note

T = TypeVar("T")

CRASH_LOG = "crash.log"
LOG_CAP_BYTES = 256 * 1024  # then crash.log becomes crash.log.1 (one old file kept)
STORM_ERRORS = 20  # this many errors within STORM_SECONDS: give up and end the app
STORM_SECONDS = 10.0
REPEAT_NOTE_SECONDS = 10.0  # the same error again this soon: logged, not notified again


def stray_cancel() -> bool:
    """A CancelledError arrived, but nobody cancelled the current task: it came from awaiting
    something that was cancelled (see the module docstring)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


# -- the crash log -------------------------------------------------------------------------------


# What a widget that is gone raises: looked for (query_one) or mounted into.
WIDGET_GONE = (NoMatches, MountError)


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
        """`enabled`: whether errors may be survived; by default, whether this Textual allows it
        (`note` says why not)."""
        self.app = app
        self.log = CrashLog(log_path)
        self.note: str | None = None
        if enabled is None:
            self.note = survival_note()
            enabled = self.note is None
        # Every unhandled error is logged where this Textual allows it, survived or not.
        catch_unhandled(app)
        self.enabled = enabled and guard_message_handlers()
        self.exit_requested = False  # app.exit() was called (quit, a signal, a hang-up)
        self.fatal: list[str] = []  # errors that ended the app
        self.survived = 0
        self._recent: deque[float] = deque(maxlen=STORM_ERRORS)
        self._last_note: tuple[str, float] = ("", 0.0)

    def can_continue(self) -> bool:
        if not self.enabled or self.exit_requested or not self.app.is_running:
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
        if not isinstance(error, Exception):  # a stray CancelledError
            stray = RuntimeError(describe(error))
            stray.__cause__ = error
            error = stray
        fail_run_test(self.app, error)

    def report_note(self, log: Any, data_dir: Path) -> None:
        """Why errors cannot be survived on this Textual, if so: one line in the Textual log and
        in `pislm.log` in the data dir."""
        log_note(self.note, log, data_dir)

    # -- what textual_compat.errors asks (its ErrorPolicy) ----------------------------------------

    def unhandled(self, error: Exception, where: str, starting: bool) -> bool:
        """An error Textual would end the app for: True if the app goes on (else: stock)."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        if not starting and not self.app.is_running and isinstance(cause, WIDGET_GONE):
            # A late worker looked for (or mounted into) a widget the closing app already took
            # down: nothing was lost (replies are saved as they come), and a traceback on quit
            # helps nobody.
            return True
        survived = not starting and self.can_continue()
        if isinstance(error, WorkerFailed) and survived:
            self.worker_failed(error.error, where)
            return True
        self.report(error, where, survived)
        return survived

    def handler_failed(self, error: BaseException, where: str) -> bool:
        """An error out of a message handler: True if reported and survived (else: stock, and
        Textual's `_handle_exception` reports it once)."""
        if isinstance(error, asyncio.CancelledError) and not stray_cancel():
            return False  # a cancel of the handler's own task
        if not self.can_continue():
            return False
        self.report(error, where, survived=True)
        return True

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
