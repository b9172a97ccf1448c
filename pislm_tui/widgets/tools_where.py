"""The Where pane: a country in, its capital, coordinates and distance out."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Button, Input, Label

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError, ServerUnreachable
from pislm_tui.long_work import long_work
from pislm_tui.tools.structured import Attempt, Clock
from pislm_tui.tools.where import WhereResult, pick_model, where_country
from pislm_tui.widgets.tools_history import WhereHistory
from pislm_tui.widgets.tools_model_select import ModelSelect
from pislm_tui.widgets.tools_result import WhereCard, wait_line
from pislm_tui.widgets.wait_clock import WaitClock

if TYPE_CHECKING:
    pass


class Found(Message):
    """A new result for the history (posted by the Where and Image panes)."""

    def __init__(self, result: WhereResult) -> None:
        self.result = result
        super().__init__()


class WherePane(AppAccess, Vertical):
    DEFAULT_CSS = """
    WherePane { height: 1fr; padding: 1 1 0 1; }
    WherePane .row { height: 1; margin-bottom: 1; }
    WherePane .row Label { width: auto; padding-right: 1; }
    WherePane .row Input { width: 1fr; margin-right: 1; }
    WherePane .row ModelSelect { margin-right: 1; }
    WherePane .row Button { width: auto; min-width: 0; }
    WherePane WhereCard { margin-bottom: 1; }
    """
    # Whether a question runs: the tab's "Esc Stop" shows only then.
    running: var[bool] = var(False, bindings=True)

    def __init__(self, clock: Clock = time.perf_counter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        # While a question runs: what is asked, how long it has taken, which retry this is.
        self.wait = WaitClock(self, lambda _seconds: self._show_wait())
        self._asking = ""
        self._attempt: Attempt | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("Country")
            yield Input(placeholder="e.g. France", id="where-country", compact=True, max_length=100)
            yield ModelSelect(id="where-model")
            yield Button("Find", id="where-find", compact=True, variant="primary")
        yield WhereCard(
            "Type a country and press Enter: its capital, coordinates and distance from you.",
            id="where-card",
        )
        yield WhereHistory(id="where-history")

    @property
    def card(self) -> WhereCard:
        return self.query_one("#where-card", WhereCard)

    def model_wanted(self) -> str | None:
        return self.pislm.settings.tools.model or self.pislm.current_model

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.find(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.find(self.query_one("#where-country", Input).value)

    def find(self, country: str) -> None:
        self.run_where(country)

    @long_work(exclusive=True, group="tools-where")
    async def run_where(self, country: str) -> None:
        app = self.pislm
        card = self.card
        try:
            model = await pick_model(app.backend, self.model_wanted())
            self._asking = f"Asking {model} for the capital of {country.strip() or '…'}…"
            self._attempt = None
            self.wait.start()
            self._show_wait()
            result = await where_country(
                app.backend,
                app.settings.tools,
                country,
                model=model,
                on_attempt=self._on_attempt,
                clock=self.clock,
            )
        except PislmError as exc:
            card.show_error(str(exc))
            if isinstance(exc, ServerUnreachable):
                app.check_connection()
            return
        finally:
            self.wait.stop()
        card.show_result(result)
        self.post_message(Found(result))

    def _on_attempt(self, attempt: Attempt) -> None:
        self._attempt = attempt
        self._show_wait()

    def _show_wait(self) -> None:
        if self.wait.running:
            self.card.show_busy(wait_line(self._asking, self.wait.elapsed, self._attempt))

    def on_worker_state_changed(self) -> None:
        self.running = any(w.node is self and w.is_running for w in self.workers)

    def stop(self) -> bool:
        """Cancel a running question; True when there was one."""
        running = [w for w in self.workers if w.node is self and w.is_running]
        for worker in running:
            worker.cancel()
        if running:
            self.wait.stop()
            self.card.show_busy("Stopped.")
        return bool(running)
