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


def connection_texts(state: ConnectionState, host: str = "") -> list[Content]:
    """The connection state from the longest wording to the shortest: the status line shows
    the longest that fits (at 80 columns the live strip and the model leave ~40). A named
    host (`[hosts.NAME]`) leads every wording."""
    texts = _connection_texts(state)
    if not host:
        return texts
    name = (f"{host} ", "bold")
    return [Content.assemble(t[:2], name, t[2:]) for t in texts]


def _connection_texts(state: ConnectionState) -> list[Content]:
    address = state.url.removeprefix("http://")
    if state.status == "connecting":
        return [
            Content.assemble(("◌ ", "$text-muted"), f"connecting to {address}…"),
            Content.assemble(("◌ ", "$text-muted"), "connecting…"),
        ]
    if state.status == "connected":
        server = "Ollama" if state.kind == "ollama" else "OpenAI-compatible"
        short_server = "Ollama" if state.kind == "ollama" else "OpenAI API"
        version = f" {state.version}" if state.version else ""
        count = state.model_count
        models = f"{count} model{'s' if count != 1 else ''}"
        dot = ("● ", "$success")
        return [
            Content.assemble(
                dot, "connected · ", (f"{server}{version}", "bold"), f" · {models} · {address}"
            ),
            Content.assemble(dot, (f"{server}{version}", "bold"), f" · {models} · {address}"),
            Content.assemble(dot, (f"{short_server}{version}", "bold"), f" · {models}"),
            Content.assemble(dot, (f"{short_server}{version}", "bold")),
            Content.assemble(dot, "connected"),
        ]
    return [Content.assemble(("○ ", "$error"), (state.error or "not connected", "$error"))]


class ConnectionStatus(Static):
    """Shows the longest wording of the connection state that fits its width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._texts: list[Content] = [Content("")]

    def show(self, state: ConnectionState, host: str = "") -> None:
        self._texts = connection_texts(state, host)
        self.refresh()

    def render(self) -> Content:
        room = self.content_size.width
        for text in self._texts:
            if text.cell_length <= room:
                return text
        return self._texts[-1]  # cut with an ellipsis


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
        yield ConnectionStatus(id="status-connection")
        yield LiveStrip(id="status-strip")  # cores, temperature, RAM (issue #4)
        yield Static(id="status-model", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "connection", self._show_connection)
        self.watch(self.app, "host_name", self._show_host)
        self.watch(self.app, "current_model", self._show_model)

    def _show_connection(self, state: ConnectionState) -> None:
        self.query_one(ConnectionStatus).show(state, getattr(self.app, "host_name", ""))

    def _show_host(self, name: str) -> None:
        self._show_connection(getattr(self.app, "connection"))  # noqa: B009

    def _show_model(self, model: str | None) -> None:
        self.query_one("#status-model", Static).update(model or "no model")
