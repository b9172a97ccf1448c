"""Textual's web driver (what textual-serve runs the app with), made to survive its parent: when
textual-serve is killed the pipes close, and every write would raise BrokenPipeError out of the
app's shutdown (a traceback per frame, exit status 1). Writes to a pipe nobody reads are dropped,
as `hangup.SafeLinuxDriver` drops them for a terminal that is gone; the hang-up itself is seen
by `hangup.watch` on the input pipe, which ends the app. Imported only when TEXTUAL_DRIVER asks
for the web driver."""

from __future__ import annotations

import contextlib
from typing import Any

from textual.drivers.web_driver import WebDriver

NAME = "textual.drivers.web_driver:WebDriver"  # TEXTUAL_DRIVER as textual-serve sets it


class SafeWebDriver(WebDriver):
    def write(self, data: str) -> None:
        with contextlib.suppress(OSError):
            super().write(data)

    def write_meta(self, data: dict[str, object]) -> None:
        with contextlib.suppress(OSError):
            super().write_meta(data)

    def write_binary_encoded(self, data: tuple[Any, ...]) -> None:
        with contextlib.suppress(OSError):
            super().write_binary_encoded(data)
