"""The terminal shadow in the app's output path (reach "app.display" in guard.py).

Textual has no public hook between a compositor update and the bytes written for it, so one
app's `_display` (that instance only; the class is not touched) is replaced by `ShadowOutput`,
which sends only the cells that changed since the last frame (`display.TerminalShadow`), in one
write, and nothing at all when nothing changed. Textual's own path writes every repainted cell
in three writes.

It steps aside for good (Textual's own `_display` from then on) under a driver it was not proven
with: textual-serve's web driver (xterm.js in a browser), inline and headless runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.color import ColorSystem
from rich.console import COLOR_SYSTEMS, Console, RenderableType
from rich.control import Control

from pislm_tui.display import TerminalShadow
from pislm_tui.repeat_probe import PROBE, PROBE_CELLS, RepeatProbe
from pislm_tui.textual_compat.guard import missing_live, usable
from pislm_tui.textual_compat.updates import CompositorUpdate, readable

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

# Synchronized output (DEC mode 2026): the terminal shows a frame only once all of it is there.
SYNC_START = "\x1b[?2026h"
SYNC_END = "\x1b[?2026l"


def color_system(console: Console) -> ColorSystem | None:
    """The console's colour system (None: no colour), through Rich's public names."""
    name = console.color_system
    return COLOR_SYSTEMS.get(name) if name else None


def unusable(app: App[Any]) -> list[str]:
    """What keeps the shadow out of this app's output ([] when it can go in)."""
    if not usable("app.display"):
        return ["App._display"]
    return [f"App.{name}" for name in missing_live(app, "app.display")] + readable()


class ShadowOutput:
    """One app's output through a `TerminalShadow`. Create it only when `unusable(app)` is []."""

    def __init__(self, app: App[Any], probe_repeats: bool = False) -> None:
        self.app = app
        self.shadow = TerminalShadow()
        # Whether the terminal repeats characters (REP) is asked with the first frame; until
        # it has answered, every cell is written out.
        self._probe = RepeatProbe() if probe_repeats else None
        self._probe_sent = False
        self._textual_display = app._display  # Textual's own, bound to the app
        app._display = self.display  # type: ignore[method-assign]
        self.active = True

    def step_aside(self) -> None:
        """Textual's own output from now on."""
        if self.active:
            self.active = False
            del self.app._display  # the instance's; the class's method shows again

    def forget(self) -> None:
        """The terminal's content is unknown (a resume, Ctrl+L)."""
        self.shadow.forget()

    def cursor_report(self, x: int, y: int) -> None:
        """The terminal's cursor report: an answer to the REP probe (others are not asked)."""
        if self._probe is not None and self._probe_sent:
            verdict = self._probe.answer(x, y)
            if verdict is not None:
                self.shadow.repeats = verdict

    def close(self) -> None:
        """Leave no colour behind for the shell (the shadow's last look stays set)."""
        driver = self.app._driver
        if self.active and driver is not None:
            driver.write("\x1b[0m")

    def display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        app = self.app
        shadow = self.shadow
        driver = app._driver
        if driver is not None and (driver.is_web or driver.is_inline or driver.is_headless):
            self.step_aside()
            self._textual_display(screen, renderable)
            return
        if (
            driver is None
            or not isinstance(renderable, CompositorUpdate)
            or app._batch_count
            or not app._running
            or app._closed
        ):
            self._textual_display(screen, renderable)
            # Textual's output ends each run with an SGR reset; when it wrote nothing (nothing to
            # show, a batch, a driver gone), the terminal keeps the shadow's last look.
            if (
                renderable is not None
                and driver is not None
                and not app._batch_count
                and app._running
                and not app._closed
            ):
                shadow.styles_reset()
            return
        try:
            shadow.resize(*app.size)
            # The probe goes with the first frame that writes the cells it draws on.
            probe = (
                self._probe is not None
                and not self._probe_sent
                and not shadow.known(0, PROBE_CELLS)
            )
            sequence = shadow.diff(renderable, color_system(app.console))
            if sequence is None:  # an update of a kind the shadow does not know
                sequence = renderable.render_segments(app.console)
                shadow.styles_reset()
            cursor = app.screen.outer_size.clamp_offset(app.cursor_position)
            if sequence or cursor != app._previous_cursor_position:
                sequence += Control.move_to(*cursor).segment.text
                # One run of cells cannot tear: synchronized output only for more.
                if app._sync_available and shadow.last_runs > 1:
                    sequence = f"{SYNC_START}{sequence}{SYNC_END}"
                if probe and shadow.known(0, PROBE_CELLS):
                    # This frame writes the cells the probe draws on: covered at once.
                    self._probe_sent = True
                    sequence = PROBE + sequence
                driver.write(sequence)
                driver.flush()
                app._previous_cursor_position = cursor
        except Exception as error:
            app._handle_exception(error)
        finally:
            app.post_display_hook()
