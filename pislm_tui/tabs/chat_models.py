"""The Chat tab's models: the picker (with what each model can do), the capabilities asked
once per model through the app's shared /api/show cache (`models.details`), and the context
gauge with the size the server runs the model with. A mixin of `ChatTab` (tabs/chat.py); the
header line that shows them is `widgets.chat_header.ChatHeader`, fed through its reactives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.css.query import NoMatches
from textual.widgets import Select

from pislm_tui.backend.errors import PislmError
from pislm_tui.backend.types import ModelDetails
from pislm_tui.models.fit import DEFAULT_NUM_CTX, estimate, judge_against
from pislm_tui.models.listing import find_loaded, find_model, is_loaded
from pislm_tui.models.memory import is_local_server

if TYPE_CHECKING:
    from pislm_tui.chat.images import ImageAttachment
    from pislm_tui.tabs.chat import ChatTab


class ChatModels:
    def _details(self: ChatTab, model: str | None) -> ModelDetails | None:
        """What /api/show said of `model`, if asked yet (the app's cache, shared)."""
        return self.pislm.model_details.known.get(model) if model else None

    def _models_changed(self: ChatTab, _models: object) -> None:
        self._refresh_model_select()
        self._fetch_capabilities()

    def _model_changed(self: ChatTab, model: str | None) -> None:
        if model and self.query_one("#chat-model", Select).value != model:
            self._refresh_model_select()
        if model:
            self.session.use_model(model)
        self._show_context()
        if model and model not in self.pislm.model_details.known:
            self._fetch_capabilities()
        if model:
            self._fetch_runtime_context(model)  # it may be loaded already

    def model_label(self: ChatTab, name: str) -> str:
        details = self._details(name)
        marks = []
        info = find_model(self.pislm.models, name)
        if info is not None and info.remote:
            marks.append("cloud")
        if details is not None:
            if details.supports_vision:
                marks.append("vision")
            if details.supports_thinking:
                marks.append("thinks")
        return f"{name} · {', '.join(marks)}" if marks else name

    def _refresh_model_select(self: ChatTab) -> None:
        app = self.pislm
        names = app.chat_models()
        current = app.current_model
        if current and current not in names:
            names.insert(0, current)
        try:
            header = self.header
        except NoMatches:  # a worker ended while the app closes: nothing to show
            return
        header.picker = (tuple((self.model_label(n), n) for n in names), current)

    @work(exclusive=True, group="chat-caps")
    async def _fetch_capabilities(self: ChatTab) -> None:
        """What each model can do (vision, thinking, context length), asked once per model;
        the current model first."""
        app = self.pislm
        names = app.chat_models()
        if app.current_model in names:
            names.remove(app.current_model)
            names.insert(0, app.current_model)  # type: ignore[arg-type]
        for name in names:
            if name not in app.model_details.known:
                await self.ask_details(name)
        self._refresh_model_select()

    async def ask_details(self: ChatTab, model: str) -> ModelDetails | None:
        if model not in self.pislm.model_details.known:
            try:
                await self.pislm.model_details.get(model)
            except PislmError:
                return None
            self._show_context()
        return self._details(model)

    def on_select_changed(self: ChatTab, event: Select.Changed) -> None:
        # (by name: Textual's @on does not reach a mixin's handlers)
        if event.select.id != "chat-model":
            return
        if isinstance(event.value, str) and event.value != self.pislm.current_model:
            self.pislm.set_model(event.value)

    @work(exclusive=True, group="chat-ctx")
    async def _fetch_runtime_context(self: ChatTab, model: str) -> None:
        """The context size the server actually runs the model with (`ollama ps`, for a loaded
        model): often much smaller than what the model was trained for. Asked when the model
        changes and after each reply (a new num_ctx reloads the model with another size)."""
        app = self.pislm
        if app.backend.kind != "ollama" or not app.connection.connected:
            return  # (an OpenAI-compatible server has no `ps`)
        try:
            loaded = await app.backend.loaded()
        except PislmError:
            return
        entry = find_loaded(model, loaded)
        if entry is not None and entry.context_length:
            self.session.note_running_context(model, entry.context_length)
            self._show_context()

    @work(exclusive=True, group="chat-fit", exit_on_error=False)
    async def warn_if_it_will_not_fit(self: ChatTab, model: str) -> None:
        """A prompt to a model not in memory loads it first. On a Pi, one that will swap to the
        SD card (or not fit at all) makes the reply crawl or fail: say so as it loads, with the
        same verdict as the Models tab. The send goes on (this runs beside it)."""
        app = self.pislm
        info = find_model(app.models, model)
        if app.backend.kind != "ollama" or info is None or not is_local_server(app.backend.url):
            return  # (the memory that counts is another machine's, or unknown)
        try:
            loaded = await app.backend.loaded()
            details = await app.model_details.get(model)
        except PislmError:
            return  # the send itself will say what is wrong
        if details is None or is_loaded(model, loaded):
            return
        sampler = app.monitor.sampler
        memory = sampler.last
        if memory is None or memory.ram is None or sampler.clock() - memory.time > 10:
            memory = await sampler.sample(detail=False)
        num_ctx = self.session.conversation.settings.options.get("num_ctx") or DEFAULT_NUM_CTX
        fit = judge_against(
            estimate(model, info.size, details.model_info, num_ctx),
            memory,
            local=True,
            loaded=loaded,
            max_loaded=app.settings.models.max_loaded,
        )
        if fit.verdict in ("swap", "no"):
            app.notify(
                f"{fit.line()}. Pick a smaller model, or a smaller num_ctx (Ctrl+S).",
                title=f"Loading {model}",
                severity="warning",
                timeout=15,
                markup=False,
            )

    def _show_context(self: ChatTab) -> None:
        model = self.pislm.current_model
        try:
            header = self.header
        except NoMatches:  # a worker (show, ps) ended while the app closes: nothing to show
            return
        header.gauge = self.session.gauge(model, self.pislm.backend.kind, self._details(model))

    async def _model_for(self: ChatTab, images: list[ImageAttachment]) -> str | None:
        """The model a prompt (with `images`) goes to; None, with a notice saying why, when it
        cannot be sent yet. The prompt stays in the box either way."""
        app = self.pislm
        model = app.current_model
        if not model and not app.connection.connected:
            # No model because there is no server (yet): say that, not "pick a model".
            state = app.connection
            reason = state.error or f"not connected to {state.url} yet"
            if state.hint:
                reason = f"{reason} — {state.hint}"
            app.notify(
                f"{reason}. The prompt is kept: press Enter again once connected.",
                title="Not sent",
                severity="error",
                timeout=10,
                markup=False,
            )
            app.check_connection()
            return None
        if not model:
            app.notify(
                "No model chosen: pick one above, or pull one in the Models tab.",
                severity="error",
                timeout=8,
            )
            return None
        if images:
            details = await self.ask_details(model)
            if details is not None and not details.supports_vision:
                app.notify(
                    f"{model} cannot read images. Choose a vision model (such as llava-phi3) "
                    "or remove the images; the prompt is kept.",
                    severity="error",
                    timeout=10,
                    markup=False,
                )
                return None
        return model
