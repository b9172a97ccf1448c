"""The RAG tab. Not built yet: issue #6 adds it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widget import Widget
from textual.widgets import Static


class RagTab(Widget):
    DEFAULT_CSS = """
    RagTab { height: 1fr; }
    RagTab .not-built { width: auto; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static("The RAG tab is not built yet (issue #6).", classes="not-built")
