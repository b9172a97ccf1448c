"""The Monitor tab. Not built yet: issue #4 adds it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widget import Widget
from textual.widgets import Static


class MonitorTab(Widget):
    DEFAULT_CSS = """
    MonitorTab { height: 1fr; }
    MonitorTab .not-built { width: auto; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static("The Monitor tab is not built yet (issue #4).", classes="not-built")
