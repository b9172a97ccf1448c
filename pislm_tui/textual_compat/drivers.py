"""The terminal driver's output file (reach "linux_driver.file" in guard.py). A write to a
terminal that has hung up raises EIO in Textual's output thread, which then dies, and the app
blocks once 30 frames are queued. Textual lets no one else give the driver its file, so the one
it opened is wrapped."""

from __future__ import annotations

import contextlib
from typing import IO, Any

from pislm_tui.textual_compat.guard import missing_live, usable


class _TerminalFile:
    """The driver's output file; a write to a terminal that is gone is dropped, not raised."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def write(self, text: str) -> int:
        try:
            return self._file.write(text)
        except OSError:  # EIO after a hang-up: nobody can see it any more
            return 0

    def flush(self) -> None:
        with contextlib.suppress(OSError):
            self._file.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def drop_writes_when_gone(driver: Any) -> bool:
    """Wrap a `LinuxDriver`'s output file (from its `__init__`, before the writer thread starts).
    Returns whether it is wrapped."""
    if not usable("linux_driver.file") or missing_live(driver, "linux_driver.file"):
        return False
    if not isinstance(driver._file, _TerminalFile):
        driver._file = _TerminalFile(driver._file)
    return True
