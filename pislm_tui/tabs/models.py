"""The Models tab. Not built yet: issue #5 adds it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.widget import Widget
from textual.widgets import Static


class ModelsTab(Widget):
    DEFAULT_CSS = """
    ModelsTab { height: 1fr; }
    ModelsTab .not-built { width: auto; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static("The Models tab is not built yet (issue #5).", classes="not-built")
