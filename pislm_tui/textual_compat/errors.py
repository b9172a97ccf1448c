"""Textual's path for unhandled errors (reaches "app.errors", "message_pump.dispatch" and
"errors.callers" in guard.py), for `crash.ErrorGuard`: the policy (log, notify, go on or stop)
is there; how Textual is asked and answered is here.

Textual ends the app on the first unhandled exception and has no public hook to do otherwise:

- `App._handle_exception` gets the errors of timers, workers, callbacks, the screen output and
  the app's start. `catch_unhandled(app)` replaces it on that app only (the class is not
  touched, as output.py does for `_display`), names where the error came from by the Textual
  function that called it (`CALLERS`), and asks the app's `error_guard` first.
- `MessagePump._dispatch_message`: an error in a message handler would also stop the message
  loop of the widget that raised it (Textual removes that widget, or ends the app when the handler
  is the app's own, as for every key binding's action). `guard_message_handlers()` wraps it once
  for the process; apps without an `error_guard` see no difference.
- Textual's test harness (`run_test`) raises the app's first unhandled error, kept in
  `App._exception`, when the test ends: `fail_run_test` puts a survived error there, so the test
  that met it still fails.

Where the guard says no (`survival_note()` is not None), nothing here is used: Textual ends the
app on the first unhandled error, as it would without pislm."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual import events
from textual.message_pump import MessagePump

from pislm_tui.textual_compat.guard import missing_live, usable, verdict

if TYPE_CHECKING:
    from textual.app import App
    from textual.message import Message

# The Textual functions (8.2) that call `App._handle_exception`, by what they run. Their owners
# are the "errors.callers" row in guard.py (a test checks that both say the same, and that each
# of them still calls `_handle_exception`).
CALLERS = {
    "_tick": "a timer",
    "_run": "a worker",
    "_flush_next_callbacks": "a callback",
    "_process_messages_loop": "an idle handler",
    "_display": "the screen output",
    "_refresh_layout": "the layout",
    "_log": "the log",
}
# Errors raised while a widget is composed or mounted, or while the app starts, stay fatal: a
# widget that never started cannot be used, nor removed cleanly. (`app_prelude` is a function
# inside `App._process_messages`: the test finds it there.)
STARTUP_CALLERS = frozenset({"_pre_process", "_compose", "_process_messages", "app_prelude"})
_STARTUP_EVENTS = (events.Load, events.Compose, events.Mount)


@runtime_checkable
class ErrorPolicy(Protocol):
    """What an app's `error_guard` answers (crash.ErrorGuard)."""

    def unhandled(self, error: Exception, where: str, starting: bool) -> bool:
        """An error Textual would end the app for: True if the app goes on."""
        ...

    def handler_failed(self, error: BaseException, where: str) -> bool:
        """An error (or a stray CancelledError) out of a message handler: True if it was
        reported and the handler's message loop goes on; False: Textual's own way."""
        ...


def _policy_of(app: object) -> ErrorPolicy | None:
    policy = getattr(app, "error_guard", None)
    return policy if isinstance(policy, ErrorPolicy) else None


def survival_note() -> str | None:
    """One line when the error survival cannot run on this Textual; None when it can."""
    found = verdict()
    note = found.survival_note()
    if note is None and not inspect.iscoroutinefunction(MessagePump._dispatch_message):
        note = f"error survival: off (textual {found.textual} dispatches messages differently)"
    return note


# -- App._handle_exception ------------------------------------------------------------------------


class _UnhandledErrors:
    """One app's `_handle_exception`: the app's `error_guard` first, Textual's own if it says no."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.textual_handle_exception = app._handle_exception  # Textual's own, bound to the app
        app._handle_exception = self.handle  # type: ignore[method-assign]

    def handle(self, error: Exception) -> None:
        caller = sys._getframe(1).f_code.co_name  # the Textual function that met the error
        policy = _policy_of(self.app)
        where = CALLERS.get(caller, caller)
        if policy is None or not policy.unhandled(error, where, caller in STARTUP_CALLERS):
            self.textual_handle_exception(error)


def catch_unhandled(app: App[Any]) -> bool:
    """Route `app`'s unhandled errors through its `error_guard` (idempotent). Returns whether
    they are; when not, Textual handles them its own way (the app ends)."""
    if not usable("app.errors") or missing_live(app, "app.errors"):
        return False
    current = vars(app).get("_handle_exception")
    if not isinstance(getattr(current, "__self__", None), _UnhandledErrors):
        _UnhandledErrors(app)
    return True


def fail_run_test(app: App[Any], error: Exception) -> None:
    """Keep `error` where Textual's `run_test` looks when the test ends (the first one only):
    a survived error must still fail the test that met it."""
    if usable("app.errors") and not missing_live(app, "app.errors") and app._exception is None:
        app._exception = error
        app._exception_event.set()


# -- MessagePump._dispatch_message -----------------------------------------------------------------

_textual_dispatch: Callable[[MessagePump, Message], Awaitable[None]] | None = None


async def _guarded_dispatch(self: MessagePump, message: Message) -> None:
    assert _textual_dispatch is not None
    if isinstance(message, _STARTUP_EVENTS):
        await _textual_dispatch(self, message)
        return
    try:
        await _textual_dispatch(self, message)
    except (Exception, asyncio.CancelledError) as error:
        try:
            policy = _policy_of(self.app)
        except Exception:  # no active app (a pump outside any app)
            policy = None
        if policy is None or not policy.handler_failed(error, _handler_name(self, message)):
            raise  # stock: Textual's _handle_exception (which reports it once)


def _handler_name(pump: MessagePump, message: Message) -> str:
    node_id = getattr(pump, "id", None)
    name = type(pump).__name__ + (f"#{node_id}" if node_id else "")
    return f"the {type(message).__name__} handler of {name}"


def guard_message_handlers() -> bool:
    """Wrap `MessagePump._dispatch_message` (idempotent). Returns whether it is wrapped."""
    global _textual_dispatch
    if _textual_dispatch is None:
        if survival_note() is not None:
            return False
        _textual_dispatch = MessagePump._dispatch_message
        MessagePump._dispatch_message = _guarded_dispatch  # type: ignore[method-assign]
    return True
