"""Ending well when the terminal goes away (SSH dropped, window closed) or a signal asks.

Python dies at once on SIGHUP and SIGTERM, before the Chat tab saves the reply that is arriving
and before the terminal is restored. And when SIGHUP does not come (ignored, or the terminal is
not the process's controlling one) Textual keeps running on a dead terminal: its input thread
spins at 100% CPU (select says readable, read says end of file) and its output thread dies on
the first EIO, after which the app blocks for good once 30 frames are queued. So:

- SIGHUP and SIGTERM end the app as Ctrl+Q does (unless the user's shell ignores them);
- a thread sleeps in poll() on the terminal and ends the app when it hangs up;
- `SafeLinuxDriver` drops writes to a terminal that is gone instead of losing its output thread
  (`textual_compat.drivers`: Textual offers no public way to give the driver its file).

Under textual-serve (TEXTUAL_DRIVER names Textual's web driver) the app talks over pipes, not a
terminal: the same poll() thread watches the input pipe, so a textual-serve that is killed (its
end of the pipe closes) ends the app instead of leaving it running with nobody to talk to.
Without a terminal and without such a driver the app does not start at all (cli/terminal.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import select
import signal
import stat
import sys
import threading
from typing import Any

from textual.app import App
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

from pislm_tui.cli.terminal import driver_from_environment
from pislm_tui.textual_compat.drivers import drop_writes_when_gone


class SafeLinuxDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        drop_writes_when_gone(self)


def driver_class() -> type[Driver] | None:
    """The driver for `App(driver_class=...)`: ours for a terminal, ours for textual-serve's web
    driver; None (Textual imports it) for any other that TEXTUAL_DRIVER names."""
    name = driver_from_environment()
    if name is None:
        return SafeLinuxDriver
    from pislm_tui import web_driver

    return web_driver.SafeWebDriver if name == web_driver.NAME else None


def input_fileno(app: App[Any]) -> int | None:
    """The file the app's input comes from, whose hang-up ends the app: the terminal, or the
    pipe from textual-serve (both read stdin); None for a driver that reads no file (headless,
    tests) or one we do not know."""
    if app.is_headless or sys.__stdin__ is None:
        return None
    if issubclass(app.driver_class, LinuxDriver) or app.is_web:
        return sys.__stdin__.fileno()  # LinuxDriver.fileno; the web driver's is its output
    return None


def _can_hang_up(fileno: int) -> bool:
    """A terminal, a pipe or a socket: poll() reports when the other end goes away."""
    try:
        mode = os.fstat(fileno).st_mode
    except OSError:
        return False
    return os.isatty(fileno) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def watch(app: App[Any], fileno: int | None) -> None:
    """From the app's mount, on its event loop: end it on SIGHUP/SIGTERM and on a hang-up of
    its input `fileno` (exit code 128 + the signal, as a shell reports it)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGHUP, signal.SIGTERM):
        if signal.getsignal(sig) is signal.SIG_DFL:  # nohup and friends are obeyed
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, functools.partial(app.exit, return_code=128 + sig))
    if fileno is None or not _can_hang_up(fileno):
        return

    def wait() -> None:
        poller = select.poll()
        poller.register(fileno, 0)  # no events asked for: only hang-up and errors come back
        while not poller.poll():
            pass
        with contextlib.suppress(RuntimeError):  # the loop is closed: the app has ended
            loop.call_soon_threadsafe(functools.partial(app.exit, return_code=128 + signal.SIGHUP))

    threading.Thread(target=wait, name="pislm-hangup", daemon=True).start()
