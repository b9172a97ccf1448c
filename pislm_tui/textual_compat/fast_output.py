"""The two output layers of one app, switched together by `display.fast_output`: partial updates
rendered from what changed (`compositor`) and only changed cells sent to the terminal (`output`,
the terminal shadow, with REP where the terminal shows it can, unless `display.repeat_characters`
is off).
Both are off, and Textual runs its own way, when the setting says so or
when this Textual is not one they were verified with (then `note` says why, once, in the logs),
and under a driver other than the terminal's (textual-serve's web driver for `pislm web`: the
layers were proven against a terminal, and xterm.js gets Textual's own output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App
from textual.drivers.linux_driver import LinuxDriver

from pislm_tui.textual_compat import compositor
from pislm_tui.textual_compat.guard import LOG_NAME, log_note, verdict
from pislm_tui.textual_compat.output import ShadowOutput, unusable

__all__ = ["LOG_NAME", "FastOutput"]


class FastOutput:
    def __init__(self, app: App[Any], wanted: bool, repeat: bool = True) -> None:
        self.wanted = wanted
        self.note: str | None = None  # why the layers are off although wanted
        self.output: ShadowOutput | None = None
        if wanted and not issubclass(app.driver_class, LinuxDriver):
            self.note = f"fast output: off under {app.driver_class.__name__} (proven on a terminal)"
        elif wanted:
            found = verdict()
            self.note = found.note()
            if self.note is None:
                missing = compositor.unusable() + unusable(app)
                if missing:
                    self.note = (
                        f"fast output: off (textual {found.textual} has no {', '.join(missing)})"
                    )
        if not wanted or self.note is not None:
            compositor.enable(False)
            return
        compositor.enable(True)
        # Runs of one character repeated by the terminal (REP) once it has shown it can.
        self.output = ShadowOutput(app, probe_repeats=repeat)

    @property
    def on(self) -> bool:
        return self.output is not None

    def cursor_report(self, x: int, y: int) -> None:
        """The terminal's answer to the REP probe."""
        if self.output is not None:
            self.output.cursor_report(x, y)

    def forget(self) -> None:
        """What the terminal shows is unknown (a resume from suspend, Ctrl+L)."""
        if self.output is not None:
            self.output.forget()

    def close(self) -> None:
        """The app ends: colours reset, and Textual's compositor as it came."""
        if self.output is not None:
            self.output.close()
            compositor.enable(False)

    def report(self, log: Any, data_dir: Path) -> None:
        """The note, if any: one line in the Textual log and in `pislm.log` in the data dir."""
        log_note(self.note, log, data_dir)
