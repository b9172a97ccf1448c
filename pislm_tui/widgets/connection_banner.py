"""A line under the status bar while the server cannot be used: what is wrong and what to do.
Hidden when connected."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import var
from textual.widgets import Static

from pislm_tui.backend.health import ConnectionState


class ConnectionBanner(Static):
    DEFAULT_CSS = """
    ConnectionBanner {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $error 20%;
        color: $foreground;
        display: none;
    }
    ConnectionBanner.-shown { display: block; }
    """
    shown: var[bool] = var(False, toggle_class="-shown")

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self._show)

    def _show(self, state: ConnectionState) -> None:
        down = state.status in ("unreachable", "error")
        self.shown = down
        if down:
            self.update(
                Content.assemble(
                    (f"{state.hint[:1].upper()}{state.hint[1:]}. " if state.hint else "", ""),
                    ("Retrying automatically.", "$text-muted"),
                )
            )
