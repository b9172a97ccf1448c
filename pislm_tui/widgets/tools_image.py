"""The Image pane: step 1, a vision model describes a photo (streamed); step 2, the city,
country and coordinates are extracted from that description; then the distance."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.widgets import Button, Input, Label, Static

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError, ServerUnreachable
from pislm_tui.long_work import long_work
from pislm_tui.tools.structured import Attempt, Clock
from pislm_tui.tools.where import pick_model, where_image
from pislm_tui.widgets.tools_history import WhereHistory
from pislm_tui.widgets.tools_model_select import ModelSelect
from pislm_tui.widgets.tools_result import WhereCard, wait_line
from pislm_tui.widgets.tools_where import Found
from pislm_tui.widgets.wait_clock import WaitClock

if TYPE_CHECKING:
    from pislm_tui.chat.images import ImageAttachment


class ImagePane(AppAccess, Vertical):
    DEFAULT_CSS = """
    ImagePane { height: 1fr; padding: 1 1 0 1; }
    ImagePane .row { height: 1; margin-bottom: 1; }
    ImagePane .row Label { width: auto; padding-right: 1; }
    ImagePane .row Input { width: 1fr; margin-right: 1; }
    ImagePane .row Button { width: auto; min-width: 0; margin-right: 1; }
    ImagePane .row ModelSelect { margin-right: 1; }
    ImagePane .step { height: 1; color: $text-muted; padding: 0 1; }
    ImagePane .step.-active { color: $accent; text-style: bold; }
    ImagePane #image-description-box { height: auto; max-height: 5; padding: 0 1; }
    ImagePane #image-description { height: auto; }
    ImagePane WhereCard { margin-bottom: 1; }
    """
    # Whether a question runs: the tab's "Esc Stop" shows only then.
    running: var[bool] = var(False, bindings=True)

    def __init__(self, clock: Clock = time.perf_counter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self._description = ""
        # While a photo is worked on: the step, how long it has taken, which retry this is.
        self.wait = WaitClock(self, lambda _seconds: self._show_wait())
        self._doing = ""
        self._attempt: Attempt | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("Photo")
            yield Input(placeholder="path to a photo (.jpg .png …)", id="image-path", compact=True)
            yield Button("Browse…", id="image-browse", compact=True)
            yield ModelSelect(prompt="vision model", id="image-vision-model")
            yield Button("Go", id="image-go", compact=True, variant="primary")
        yield Label("Step 1 · describe the photo", id="image-step1", classes="step")
        with VerticalScroll(id="image-description-box"):
            yield Static(
                Text(
                    "Pick a photo of a city: a vision model describes it, then the city is found."
                ),
                id="image-description",
            )
        yield Label("Step 2 · find the city", id="image-step2", classes="step")
        yield WhereCard("", id="image-card")
        yield WhereHistory(id="image-history")

    @property
    def card(self) -> WhereCard:
        return self.query_one("#image-card", WhereCard)

    def vision_wanted(self) -> str:
        return self.pislm.settings.tools.vision_model

    def model_wanted(self) -> str | None:
        return self.pislm.settings.tools.model or self.pislm.current_model

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.go(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "image-browse":
            self.browse()
        else:
            self.go(self.query_one("#image-path", Input).value)

    def browse(self) -> None:
        from pislm_tui.screens.chat_attach import AttachImageScreen

        current = self.query_one("#image-path", Input).value.strip()
        start = Path(current).expanduser().parent if current else Path.home()

        def picked(image: ImageAttachment | None) -> None:
            if image is not None:
                box = self.query_one("#image-path", Input)
                box.value = str(image.path)
                self.go(str(image.path))

        self.app.push_screen(AttachImageScreen(start, title="Pick a photo of a city"), picked)

    def go(self, path: str) -> None:
        self.run_image(path)

    def _set_step(self, step: int) -> None:
        self.query_one("#image-step1").set_class(step == 1, "-active")
        self.query_one("#image-step2").set_class(step == 2, "-active")

    def _show_description(self, text: str) -> None:
        self.query_one("#image-description", Static).update(Text(text))

    def _on_text(self, fragment: str) -> None:
        self._description += fragment
        self._show_description(self._description)
        self.query_one("#image-description-box", VerticalScroll).scroll_end(animate=False)

    @long_work(exclusive=True, group="tools-image")
    async def run_image(self, path: str) -> None:
        app = self.pislm
        card = self.card
        self._description = ""
        if not path.strip():
            card.show_error("Type the path of a photo, or Browse… for one.")
            return
        try:
            image = await _read(path)
            model = await pick_model(app.backend, self.model_wanted())
            vision = self.vision_wanted()
            # Text, not markup: a file name may contain [brackets].
            self.query_one("#image-step1", Label).update(
                Text(f"Step 1 · {vision} describes {image.label}")
            )
            self.query_one("#image-step2", Label).update(Text(f"Step 2 · {model} finds the city"))
            self._show_description(f"Sending the photo to {vision}… (Esc stops)")
            self._doing = f"{vision} is describing the photo…"
            self._attempt = None
            self.wait.start()
            self._show_wait()
            result = await where_image(
                app.backend,
                app.settings.tools,
                image,
                model=model,
                vision_model=vision,
                on_text=self._on_text,
                on_step=self._on_step,
                on_attempt=self._on_attempt,
                clock=self.clock,
            )
        except PislmError as exc:
            card.show_error(str(exc))
            self._set_step(0)
            if isinstance(exc, ServerUnreachable):
                app.check_connection()
            return
        finally:
            self.wait.stop()
        self._set_step(0)
        card.show_result(result)
        self.post_message(Found(result))

    def _on_step(self, step: int) -> None:
        self._set_step(step)
        if step == 2:
            self._doing = "Extracting the city, country and coordinates…"
            self._attempt = None
            self.wait.start()  # the time of this step
            self._show_wait()

    def _on_attempt(self, attempt: Attempt) -> None:
        self._attempt = attempt
        self._show_wait()

    def _show_wait(self) -> None:
        if self.wait.running:
            self.card.show_busy(wait_line(self._doing, self.wait.elapsed, self._attempt))

    def on_worker_state_changed(self) -> None:
        self.running = any(w.node is self and w.is_running for w in self.workers)

    def stop(self) -> bool:
        running = [w for w in self.workers if w.node is self and w.is_running]
        for worker in running:
            worker.cancel()
        if running:
            self.wait.stop()
            self._set_step(0)
            self.card.show_busy("Stopped.")
        return bool(running)


async def _read(path: str) -> Any:
    """Read the file off the event loop (photos are megabytes; the Pi's SD card is slow)."""
    import asyncio

    from pislm_tui.chat.images import load_image

    return await asyncio.to_thread(load_image, path)
