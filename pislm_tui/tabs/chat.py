"""The Chat tab. Not built yet: issue #3 adds it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widget import Widget
from textual.widgets import Static


class ChatTab(Widget):
    DEFAULT_CSS = """
    ChatTab { height: 1fr; }
    ChatTab .not-built { width: auto; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static("The Chat tab is not built yet (issue #3).", classes="not-built")
