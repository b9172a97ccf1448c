"""`PullPanel(model_name)`: pulls a model when mounted and shows a bar per layer (MB done/total,
speed, ETA) and the status; cancellable with its button or Esc. When the pull ends it posts
`PullPanel.Finished(model, ok, error)` and its button turns into "Close" (which removes the
panel); the owner may also remove it on `Finished`. Progress lines arrive ~16 times a second
per layer; the screen is updated at a few Hz, and not at all once the pull has ended."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError
from pislm_tui.long_work import long_work
from pislm_tui.models.pull import Clock, LayerProgress, PullTracker, pull_model

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend


def layer_line(layer: LayerProgress, width: int, info_width: int = 0) -> Content:
    """`dde5aa3fc5ff ━━━━━━━━╺━━━━━━  640 MB / 2.0 GB · 12.3 MB/s · ETA 52s`; with `info_width`
    the figures are right-aligned to it, so the bars of all layers line up."""
    info = layer.describe().rjust(info_width)
    bar_w = max(6, width - len(layer.short) - len(info) - 2)
    fraction = layer.fraction or 0.0
    filled = round(bar_w * fraction)
    style = "$success" if layer.done else "$primary"
    return Content.assemble(
        (layer.short, "$text-muted"),
        " ",
        ("━" * filled, style),
        ("╺" if filled < bar_w else "", "$foreground 20%"),
        ("━" * max(0, bar_w - filled - 1), "$foreground 20%"),
        " ",
        info,
    )


def error_text(error: PislmError) -> str:
    """Our message and hint, plus the server's own words when they are not already in it."""
    text = str(error)
    server = getattr(error, "server_message", None)
    if server and server not in text:
        text += f"\nThe server said: {server}"
    return text


class LayerBars(Widget):
    """One line per layer of a `PullTracker`; redrawn when the panel says so."""

    DEFAULT_CSS = "LayerBars { height: auto; }"

    def __init__(self, tracker: PullTracker) -> None:
        super().__init__()
        self.tracker = tracker

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.tracker.layers)

    def render(self) -> Content:
        width = self.content_region.width or self.size.width
        layers = list(self.tracker.layers.values())
        info_width = max((len(layer.describe()) for layer in layers), default=0)
        return Content("\n").join(layer_line(layer, width, info_width) for layer in layers)


class PullPanel(AppAccess, Widget):
    DEFAULT_CSS = """
    PullPanel {
        height: auto;
        border: round $primary;
        border-title-color: $text;
        padding: 0 1;
        #pull-head { height: 1; }
        #pull-status { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
        #pull-button { min-width: 10; margin-left: 1; }
        #pull-error { height: auto; color: $error; display: none; }
        &.-failed { border: round $error; }
        &.-failed #pull-error { display: block; }
        &.-done { border: round $success; }
        &.-cancelled { border: round $warning; }
    }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel pull", id="models.pull_cancel"),
    ]

    class Finished(Message):
        """The pull ended: `ok` on success; `error` on failure; neither when cancelled."""

        def __init__(
            self, panel: PullPanel, model: str, ok: bool, error: PislmError | None
        ) -> None:
            super().__init__()
            self.panel = panel
            self.model = model
            self.ok = ok
            self.error = error

        @property
        def control(self) -> PullPanel:
            return self.panel

        @property
        def cancelled(self) -> bool:
            return not self.ok and self.error is None

    def __init__(
        self,
        model_name: str,
        *,
        backend: Backend | None = None,
        clock: Clock = time.monotonic,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model_name = model_name.strip()
        self.tracker = PullTracker(self.model_name, clock=clock)
        self._backend = backend
        self._dirty = False
        self._timer: Timer | None = None

    @property
    def running(self) -> bool:
        return not self.tracker.finished

    def compose(self) -> ComposeResult:
        with Horizontal(id="pull-head"):
            yield Static(id="pull-status", markup=False)
            yield Button("Cancel", id="pull-button", compact=True, variant="error")
        yield LayerBars(self.tracker)
        yield Static(id="pull-error", markup=False)

    def on_mount(self) -> None:
        self.border_title = Content(f"Pulling {self.model_name}")
        self._show()
        hz = 2.0 if getattr(self.app, "ssh", False) else 5.0
        self._timer = self.set_interval(1 / hz, self._flush)
        self._pull()

    @long_work(exclusive=True, group="pull", exit_on_error=False)
    async def _pull(self) -> None:
        backend = self._backend or self.pislm.backend
        await pull_model(backend, self.model_name, self._on_update, tracker=self.tracker)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The end of the pull, however it came (also a cancel before the request started)."""
        if event.worker.node is not self or event.worker.group != "pull":
            return
        event.stop()
        if event.state == WorkerState.SUCCESS:
            self._end(ok=True, error=None)
        elif event.state == WorkerState.CANCELLED:
            self.tracker.cancelled = True
            self._end(ok=False, error=None)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            if not isinstance(error, PislmError):  # a bug: still show it, never crash the app
                error = PislmError(f"the pull failed unexpectedly: {type(error).__name__}: {error}")
            self.tracker.error = error
            self._end(ok=False, error=error)
            check = getattr(self.app, "check_connection", None)  # the server may be gone
            if check is not None:
                check()

    def _on_update(self, tracker: PullTracker) -> None:
        self._dirty = True  # drawn by the timer: a few frames a second is plenty

    def _flush(self) -> None:
        if self._dirty:
            self._dirty = False
            self._show()

    def _show(self) -> None:
        t = self.tracker
        status = t.summary() if t.layers or t.finished else t.status
        if not t.finished and t.layers and t.status and not t.status.startswith("pulling "):
            status = f"{t.status} · {status}"  # "verifying sha256 digest" etc.
        self.query_one("#pull-status", Static).update(status)
        self.query_one(LayerBars).refresh(layout=True)

    def _end(self, *, ok: bool, error: PislmError | None) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        state = self.tracker.state
        title = {"done": "Pulled", "failed": "Pull failed:", "cancelled": "Pull cancelled:"}
        self.border_title = Content(f"{title.get(state, 'Pulling')} {self.model_name}")
        self.add_class(f"-{state}")
        if error is not None:
            self.query_one("#pull-error", Static).update(error_text(error))
        button = self.query_one("#pull-button", Button)
        button.label = "Close"
        button.variant = "default"
        self._show()
        self.post_message(self.Finished(self, self.model_name, ok, error))

    # -- cancel / close -------------------------------------------------------------------------

    @on(Button.Pressed, "#pull-button")
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        """Cancel a running pull; close a finished panel."""
        if self.running:
            self.cancel()
        else:
            self.remove()

    def cancel(self) -> None:
        self.workers.cancel_group(self, "pull")
