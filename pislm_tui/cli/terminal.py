"""The app needs a terminal: it reads keys from stdin and Textual draws on stderr. Started without
one (`pislm </dev/null >out`, a cron job, a parent that died) Textual's input thread spins at
100 % CPU on the end of the input and the escape codes go into files; so the app refuses to
start, and says which subcommands work in pipes. The subcommands never need a terminal.

The exception is a driver chosen through TEXTUAL_DRIVER: textual-serve (`pislm web`) runs the
app with pipes and Textual's web driver, which speaks its own protocol over them."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

DRIVER_VARIABLE = "TEXTUAL_DRIVER"  # Textual's own variable (textual.constants.DRIVER)


def driver_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The driver Textual is told to use instead of the terminal one, e.g. textual-serve's
    `textual.drivers.web_driver:WebDriver`; None for the terminal."""
    env = os.environ if environ is None else environ
    return env.get(DRIVER_VARIABLE) or None


def _is_terminal(stream: TextIO | None) -> bool:
    if stream is None:
        return False
    try:
        return os.isatty(stream.fileno())
    except (OSError, ValueError):  # closed, or not a real file (pytest's capture)
        return False


def terminal_problem(
    environ: Mapping[str, str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> str | None:
    """One line saying why the app cannot start here, or None when it can."""
    if driver_from_environment(environ):
        return None
    streams = {
        "stdin": stdin if stdin is not None else sys.__stdin__,
        "stdout": stdout if stdout is not None else sys.__stdout__,
        "stderr": stderr if stderr is not None else sys.__stderr__,
    }
    missing = [name for name, stream in streams.items() if not _is_terminal(stream)]
    if not missing:
        return None
    which = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
    verb = "is not a terminal" if len(missing) == 1 else "are not terminals"
    return (
        f"the app needs a terminal, and {which} {verb} — in scripts and pipes use a "
        "subcommand (pislm ask, pislm models, pislm bench…; see pislm --help)"
    )
