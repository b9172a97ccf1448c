"""One widget per tab (see docs/DEVELOPING.md, "A tab")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from textual.widget import Widget


@runtime_checkable
class TabBody(Protocol):
    """What the app asks of a tab's widget: the control that gets the focus each time the tab
    is shown (by a key, the palette or the mouse), so the tab's keys work at once."""

    def main_control(self) -> Widget | None: ...
