"""The one typed way for a widget, screen or command provider to reach the `PislmApp` and the
state it shares (settings, paths, backend, connection, models, the monitor feed… see
docs/DEVELOPING.md, "A tab"):

    class ModelsTab(AppAccess, Widget):
        def on_mount(self) -> None:
            interval = self.pislm.settings.models.refresh_interval

Textual types `self.app` as a plain `App` (use it for Textual's own API: notify, push_screen);
`self.pislm` is the same object typed as `PislmApp`. No casts, no `# type: ignore`, no
`app: PislmApp` annotations elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from pislm_tui.app import PislmApp


class AppAccess:
    """A mixin for any Textual object with an `app` (Widget, Screen, command Provider)."""

    __slots__ = ()

    @property
    def pislm(self) -> PislmApp:
        """The running PislmApp (Textual's active app)."""
        return cast("PislmApp", cast(Any, self).app)
