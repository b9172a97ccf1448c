"""The app's tab bar and panes: Textual's TabbedContent, minus one race.

TabbedContent switches to a pane when it hears that a widget inside it took the focus
(`TabPane.Focused`). That message is queued, so one from before a switch (the Chat prompt
focused at start-up, then F5 pressed at once) arrives after the switch and switches straight
back. Such a message is stale when the focus is no longer inside its pane: it is dropped here,
through Textual's public `prevent_default`, before TabbedContent's own handler sees it.
"""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane


class AppTabs(TabbedContent):
    def on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors:
            event.prevent_default()  # stale: the focus has moved on (or was dropped by a switch)
            event.stop()
