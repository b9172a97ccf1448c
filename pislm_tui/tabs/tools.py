"""The Tools tab. Not built yet: issue #7 adds it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widget import Widget
from textual.widgets import Static


class ToolsTab(Widget):
    DEFAULT_CSS = """
    ToolsTab { height: 1fr; }
    ToolsTab .not-built { width: auto; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static("The Tools tab is not built yet (issue #7).", classes="not-built")
