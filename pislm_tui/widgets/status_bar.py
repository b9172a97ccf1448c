"""The top line: app name, connection state (server kind, version, model count, address), the
live strip (cores, temperature, RAM) and the current model. Redrawn only when one of those
changes, so an idle app writes nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from pislm_tui.backend.health import ConnectionState
from pislm_tui.widgets.live_strip import LiveStrip


def connection_text(state: ConnectionState) -> Content:
    address = state.url.removeprefix("http://")
    if state.status == "connecting":
        return Content.assemble(("◌ ", "$text-muted"), f"connecting to {address}…")
    if state.status == "connected":
        server = "Ollama" if state.kind == "ollama" else "OpenAI-compatible"
        version = f" {state.version}" if state.version else ""
        count = state.model_count
        return Content.assemble(
            ("● ", "$success"),
            "connected · ",
            (f"{server}{version}", "bold"),
            f" · {count} model{'s' if count != 1 else ''} · {address}",
        )
    return Content.assemble(("○ ", "$error"), (state.error or "not connected", "$error"))


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
        #status-name { width: auto; padding: 0 1; background: $primary; color: $text; text-style: bold; }
        #status-connection { width: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
        #status-model { width: auto; max-width: 32; padding: 0 1; color: $accent; text-wrap: nowrap; text-overflow: ellipsis; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("pislm", id="status-name")
        yield Static(id="status-connection", markup=False)
        yield LiveStrip(id="status-strip")  # cores, temperature, RAM (issue #4)
        yield Static(id="status-model", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self._show_connection)
        self.watch(self.app, "current_model", self._show_model)

    def _show_connection(self, state: ConnectionState) -> None:
        self.query_one("#status-connection", Static).update(connection_text(state))

    def _show_model(self, model: str | None) -> None:
        self.query_one("#status-model", Static).update(model or "no model")
