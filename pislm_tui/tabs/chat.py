"""The Chat tab: streamed multi-turn chat with the `ollama run --verbose` figures, stop and redo,
images, and chats saved as they happen.

Streaming is kept cheap on purpose (the Pi's cores are busy running the model): the worker
only appends chunks to a buffer (`chat.turn`), a timer at `chat.flush_hz` moves the buffer into
the reply's Markdown, the live figures change at most once a second, and no timer runs while
no reply streams."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Select, Static
from textual.worker import Worker

from pislm_tui.backend.errors import PislmError
from pislm_tui.backend.types import ModelDetails
from pislm_tui.chat.blocks import code_blocks
from pislm_tui.chat.context import context_window, gauge_text, gauge_tooltip
from pislm_tui.chat.conversation import (
    ChatMessage,
    Conversation,
    SessionSettings,
    StoredImage,
    title_from_prompt,
)
from pislm_tui.chat.export import export_markdown
from pislm_tui.chat.images import ImageAttachment
from pislm_tui.chat.store import SessionStore
from pislm_tui.chat.turn import LiveReply, stream_reply
from pislm_tui.models.listing import find_loaded, find_model, normalize_name
from pislm_tui.widgets.chat_log import ChatLog
from pislm_tui.widgets.image_chips import ImageChips
from pislm_tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from pislm_tui.app import PislmApp
    from pislm_tui.widgets.message_view import AssistantMessage


def _message_views() -> Any:
    """`widgets.message_view`, imported on first use (see `ChatTab.on_mount`)."""
    return importlib.import_module("pislm_tui.widgets.message_view")


_PLACEHOLDER = "Ask something…  Enter sends · Ctrl+J new line · Ctrl+F image · F1 keys"


def _empty_hint() -> Static:
    return Static(
        "Type a prompt below and press Enter. The reply streams in with its speed; Esc stops "
        "it. Ctrl+O opens saved chats, Ctrl+S the chat settings, F1 lists every key.",
        id="chat-empty",
    )


class ChatTab(Widget):
    BINDING_GROUP_TITLE = "Chat"
    DEFAULT_CSS = """
    ChatTab {
        height: 1fr;
        layout: vertical;
        #chat-bar { height: 1; padding: 0 1; background: $panel; }
        #chat-model { width: 30; }
        #chat-title { width: 1fr; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
        #chat-context { width: auto; padding: 0 1; color: $text-muted; }
        #chat-empty { color: $text-muted; padding: 1 2; }
        #chat-title.-live { color: $text-accent; }
        #chat-prompt { margin: 0 1; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop", "Stop reply", id="chat.stop"),
        Binding("ctrl+r", "regenerate", "Regenerate", id="chat.regenerate"),
        Binding("ctrl+up", "edit_last", "Edit last prompt", show=False, id="chat.edit_last"),
        Binding("ctrl+f", "attach", "Image", id="chat.attach"),
        Binding("ctrl+n", "new_chat", "New chat", id="chat.new"),
        Binding("ctrl+o", "sessions", "Chats", id="chat.sessions"),
        Binding("ctrl+s", "settings", "Settings", id="chat.settings"),
        Binding("ctrl+t", "toggle_think", "Thinking on/off", show=False, id="chat.think"),
        Binding("ctrl+b", "copy", "Copy", show=False, id="chat.copy"),
        Binding("ctrl+g", "export", "Export to Markdown", show=False, id="chat.export"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store: SessionStore | None = None
        self.conversation: Conversation | None = None
        self._started = False
        self._shown = False
        self._sending = False
        self._runtime_ctx: dict[str, int] = {}  # context size the server runs a model with
        self._live: LiveReply | None = None
        self._reply_view: AssistantMessage | None = None
        self._worker: Worker[None] | None = None
        self._timer: Timer | None = None
        self._last_live_update = 0.0
        self._editing = False
        self._hidden: list[tuple[int, ChatMessage, Widget | None]] = []  # removed if the send works
        self._prompt_backup: tuple[str, list[ImageAttachment]] | None = None

    @property
    def pislm(self) -> PislmApp:
        return self.app  # type: ignore[return-value]

    @property
    def _caps(self) -> dict[str, ModelDetails | None]:
        """What /api/show said of each model asked so far (None: the server does not say),
        shared with the rest of the app."""
        return self.pislm.model_details.known

    # -- layout and start-up -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-bar"):
            yield Select([], prompt="no model", compact=True, id="chat-model")
            yield Static(id="chat-title", markup=False)
            yield Static(id="chat-context", markup=False)
        yield ChatLog(id="chat-log")
        yield ImageChips(id="chat-images")
        yield PromptInput(id="chat-prompt", placeholder=_PLACEHOLDER)

    def on_mount(self) -> None:
        # The app's active tab, not Show/Hide events: those do not always arrive.
        self.watch(self.app, "active_tab", self._tab_changed)
        # The message widgets pull in the Markdown parser (~0.1 s of a Pi core): load them
        # beside the idle app after the first frame instead of before it.
        self.call_after_refresh(
            threading.Thread(target=_message_views, name="preload-views", daemon=True).start
        )

    async def _tab_changed(self, tab: str) -> None:
        self._shown = tab == "chat"
        if not self._shown:
            if self._timer is not None:
                self._timer.pause()
        elif not self._started:
            self._started = True
            await self._start()
        elif self._timer is not None:
            self._timer.resume()

    async def _start(self) -> None:
        app = self.pislm
        try:
            self.store = SessionStore(app.paths.sessions_db)
        except PislmError as exc:
            app.show_error(exc, title="Saved chats unavailable")
        prompt = self.query_one(PromptInput)
        if self.store is not None:
            prompt.set_history_source(self.store.recent_prompts)
        conversation = None
        if self.store is not None and app.settings.chat.resume_last:
            try:
                latest = self.store.latest_session_id()
            except PislmError as exc:  # a damaged database: this chat is kept in memory
                app.show_error(exc, title="Saved chats unavailable")
                latest = None
            if latest is not None:
                conversation = self._load(latest)
        await self._show_conversation(conversation or self._new_conversation(), resumed=True)
        self.watch(app, "models", self._models_changed)
        self.watch(app, "current_model", self._model_changed)

    def main_control(self) -> Widget:
        """Focused by the app each time this tab is shown."""
        return self.query_one(PromptInput)

    def on_unmount(self) -> None:
        if self.store is None:
            return
        live, conversation = self._live, self.conversation
        if live is not None and conversation is not None and conversation.id is not None:
            # The app is closing mid-reply: keep what arrived, marked stopped.
            message = live.sync()
            message.status = "stopped"
            with contextlib.suppress(PislmError):
                if message.id is not None:
                    self.store.update_message(message)
                elif message.content or message.thinking:
                    self.store.add_message(conversation.id, message)
        self.store.close()
        self.store = None

    # -- conversations ---------------------------------------------------------------------------

    def _new_conversation(self) -> Conversation:
        app = self.pislm
        return Conversation(
            settings=SessionSettings.from_defaults(app.settings.chat, app.current_model)
        )

    def _load(self, session_id: int) -> Conversation | None:
        assert self.store is not None
        try:
            return self.store.load(session_id)
        except PislmError as exc:
            self.pislm.show_error(exc)
            return None

    async def _show_conversation(
        self, conversation: Conversation, *, resumed: bool = False
    ) -> None:
        """Show `conversation`; `resumed`: the last chat, reopened at start."""
        self.conversation = conversation
        log = self.query_one(ChatLog)
        widgets: list[Widget] = []
        if conversation.messages:  # (an empty chat does not need the Markdown widgets yet)
            views = _message_views()
            widgets = [
                views.UserMessage(m) if m.role == "user" else views.AssistantMessage(m)
                for m in conversation.messages
            ]
        with self.app.batch_update():
            await log.messages.remove_children()
            await log.messages.mount_all(widgets or [_empty_hint()])
        log.call_after_refresh(log.scroll_end, animate=False)
        app = self.pislm
        model = conversation.settings.model
        if conversation.id is not None and model != app.current_model:  # a saved chat
            # Its model, if this server has it (the app checks once the models are listed).
            app.follow_chat_model(model, resumed=resumed)
            if resumed and app.settings.model:  # --model wins: the chat goes on with it
                conversation.settings.model = app.current_model
                self._save_settings()
        self._show_title()
        self._show_context()
        self.refresh_bindings()

    def _show_title(self) -> None:
        if self._live is not None:
            return
        title = self.conversation.title if self.conversation else ""
        label = self.query_one("#chat-title", Static)
        label.update(Content(title or "New chat"), layout=False)  # same size: no layout pass
        label.remove_class("-live")

    def _ensure_session(self, first_prompt: str, images: int) -> None:
        conversation = self.conversation
        assert conversation is not None
        if not conversation.title:
            conversation.title = title_from_prompt(first_prompt, images)
            self._show_title()
        if conversation.id is None and self.store is not None:
            conversation.settings.model = self.pislm.current_model
            self.store.create_session(conversation)

    def _save_settings(self) -> None:
        conversation = self.conversation
        if conversation is not None and conversation.id is not None and self.store is not None:
            try:
                self.store.save_settings(conversation.id, conversation.settings)
            except PislmError as exc:
                self.pislm.show_error(exc)

    # -- models ----------------------------------------------------------------------------------

    def _models_changed(self, _models: object) -> None:
        self._refresh_model_select()
        self._fetch_capabilities()

    def _model_changed(self, model: str | None) -> None:
        select = self.query_one("#chat-model", Select)
        if model and select.value != model:
            self._refresh_model_select()
        if self.conversation is not None and model and self.conversation.settings.model != model:
            self.conversation.settings.model = model
            self._save_settings()
        self._show_context()
        if model and model not in self._caps:
            self._fetch_capabilities()
        if model:
            self._fetch_runtime_context(model)  # it may be loaded already

    def _model_label(self, name: str) -> str:
        details = self._caps.get(name)
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

    def _refresh_model_select(self) -> None:
        app = self.pislm
        names = app.chat_models()
        current = app.current_model
        if current and current not in names:
            names.insert(0, current)
        # The capabilities worker can end while the app closes and the picker (or its overlay)
        # is already gone: nothing to show then.
        try:
            select = self.query_one("#chat-model", Select)
            with select.prevent(Select.Changed):
                select.set_options([(Content(self._model_label(n)), n) for n in names])
                if current in names:
                    select.value = current
        except NoMatches:
            return

    @work(exclusive=True, group="chat-caps")
    async def _fetch_capabilities(self) -> None:
        """What each model can do (vision, thinking, context length), asked once per model;
        the current model first."""
        app = self.pislm
        names = app.chat_models()
        if app.current_model in names:
            names.remove(app.current_model)
            names.insert(0, app.current_model)  # type: ignore[arg-type]
        for name in names:
            if name not in self._caps:
                await self._details(name)
        self._refresh_model_select()

    async def _details(self, model: str) -> ModelDetails | None:
        if model not in self._caps:
            try:
                await self.pislm.model_details.get(model)
            except PislmError:
                return None
            self._show_context()
        return self._caps.get(model)

    @on(Select.Changed, "#chat-model")
    def _picked_model(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.pislm.current_model:
            self.pislm.set_model(event.value)

    @work(exclusive=True, group="chat-ctx")
    async def _fetch_runtime_context(self, model: str) -> None:
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
            self._runtime_ctx[normalize_name(model).lower()] = entry.context_length
            self._show_context()

    def _show_context(self) -> None:
        try:
            label = self.query_one("#chat-context", Static)
        except NoMatches:  # a worker (show, ps) ended while the app closes: nothing to show
            return
        conversation = self.conversation
        used = conversation.context_used() if conversation else None
        model = self.pislm.current_model
        kind = self.pislm.backend.kind
        num_ctx = conversation.settings.options.get("num_ctx") if conversation else None
        details = self._caps.get(model) if model else None
        window = context_window(
            num_ctx=num_ctx if kind == "ollama" else None,  # an OpenAI API drops num_ctx
            running=self._runtime_ctx.get(normalize_name(model).lower()) if model else None,
            trained=details.context_length if details is not None else None,
        )
        label.update(gauge_text(used, window))
        label.tooltip = gauge_tooltip(used, window, model, kind) if used else None

    # -- sending ---------------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        return self._live is not None

    @on(PromptInput.Submitted)
    def _submitted(self, event: PromptInput.Submitted) -> None:
        event.stop()
        if self.streaming or self._sending:
            self.pislm.notify(
                "A reply is still arriving; Esc stops it.", severity="warning", timeout=4
            )
            return
        self._sending = True  # set before the worker starts: a second Enter must not send twice
        self._send(event.text)

    @work(group="chat-send")
    async def _send(self, text: str) -> None:
        try:
            await self._send_prompt(text)
        finally:
            self._sending = False

    async def _send_prompt(self, text: str) -> None:
        app = self.pislm
        chips = self.query_one(ImageChips)
        images = chips.images
        if not text.strip() and not images:
            return
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
            return
        if not model:
            app.notify(
                "No model chosen: pick one above, or pull one in the Models tab.",
                severity="error",
                timeout=8,
            )
            return
        if images:
            details = await self._details(model)
            if details is not None and not details.supports_vision:
                app.notify(
                    f"{model} cannot read images. Choose a vision model (such as llava-phi3) "
                    "or remove the images; the prompt is kept.",
                    severity="error",
                    timeout=10,
                    markup=False,
                )
                return
        if self._editing:
            self._hide_last_exchange()
            self._editing = False
        prompt = self.query_one(PromptInput)
        self._prompt_backup = (text, images)
        message = ChatMessage(
            "user", text, images=[StoredImage(image.name, image.data) for image in images]
        )
        conversation = self.conversation
        assert conversation is not None
        try:
            self._ensure_session(text, len(images))
            if self.store is not None and conversation.id is not None:
                self.store.add_message(conversation.id, message)
        except PislmError as exc:
            app.show_error(exc, title="Not saved")
        conversation.messages.append(message)
        prompt.remember(text)
        with self.app.batch_update():  # one frame for the whole send
            prompt.set_text("")
            await chips.clear()
            await self._start_reply(_message_views().UserMessage(message))

    async def _mount_messages(self, *widgets: Widget) -> None:
        log = self.query_one(ChatLog)
        for empty in log.query("#chat-empty"):
            await empty.remove()
        await log.messages.mount_all(widgets)

    async def _start_reply(self, prompt_view: Widget | None) -> None:
        conversation = self.conversation
        assert conversation is not None
        model = self.pislm.current_model or conversation.settings.model
        request = conversation.request(model)
        reply = ChatMessage("assistant", model=model)
        live = LiveReply(reply)
        log = self.query_one(ChatLog)
        view = _message_views().AssistantMessage(reply, streaming=True, page_lines=log.page_lines)
        self._live, self._reply_view = live, view
        conversation.messages.append(reply)
        log.scroll_end(animate=False, immediate=True)  # follow this reply (anchored)
        await self._mount_messages(*(w for w in (prompt_view, view) if w is not None))
        self._last_live_update = 0.0
        self._pause_blink(True)
        self._show_live()
        self.refresh_bindings()  # Esc (stop) appears in the footer, Ctrl+R goes
        self._timer = self.set_interval(1 / self.pislm.settings.chat.flush_hz, self._flush)
        if not self._shown:  # sent from elsewhere (the palette) while hidden
            self._timer.pause()
        self._worker = self.run_worker(
            self._stream(live, request), group="chat-stream", exclusive=True
        )

    async def _stream(self, live: LiveReply, request: Any) -> None:
        conversation = self.conversation
        assert conversation is not None
        session = conversation.id
        save_failed = False

        def save(message: ChatMessage) -> None:
            nonlocal save_failed
            if self.store is None or session is None or save_failed:
                return
            try:
                if message.id is None:
                    self.store.add_message(session, message)
                else:
                    self.store.update_message(message)
            except PislmError as exc:
                save_failed = True
                self.pislm.show_error(exc, title="Not saved")

        try:
            await stream_reply(
                self.pislm.backend,
                request,
                live,
                save=save,
                save_every_s=self.pislm.settings.chat.save_every_s,
            )
        except asyncio.CancelledError:
            await self._end_reply(live)
            raise
        except PislmError as exc:
            await self._fail_reply(live, exc)
            return
        if live.message.status == "error":
            self.pislm.check_connection()  # a cut stream may mean the server is gone
        await self._end_reply(live)

    async def _flush(self) -> None:
        """Timer: move what arrived into the reply, follow it, refresh the live figures."""
        live, view = self._live, self._reply_view
        if live is None or view is None:
            return
        content, thinking = live.take()
        if content or thinking:
            await view.add(content, thinking)
            log = self.query_one(ChatLog)
            log.call_after_refresh(log.follow, view)
        now = time.monotonic()
        if now - self._last_live_update >= 1.0:
            self._last_live_update = now
            self._show_live()
            view.update_thinking_title()

    def _show_live(self) -> None:
        """The live figures take the place of the chat's title while a reply streams (one line
        that changes at most once a second; nothing moves)."""
        live = self._live
        if live is None:
            self._show_title()
            return
        if live.first_token is None:
            waited = time.monotonic() - live.started
            text = f"waiting for the first token · {waited:.0f} s · Esc stops"
        else:
            rate = live.rate()
            speed = f"{rate:.1f} tok/s" if rate else "…"
            what = "thinking · " if live.thinking_tokens and not live.tokens else ""
            count = live.tokens + live.thinking_tokens
            text = f"{what}{speed} · {count} tokens · Esc stops"
        title = self.query_one("#chat-title", Static)
        title.update(text, layout=False)  # same size: no layout pass (once a second)
        title.add_class("-live")

    async def _end_reply(self, live: LiveReply) -> None:
        """The reply ended (complete, stopped or cut off): show all of it with its figures."""
        self._stop_timer()
        view = self._reply_view
        with self.app.batch_update():  # the final frame, at once
            if view is not None:
                content, thinking = live.take()
                if content or thinking:
                    await view.add(content, thinking)
                await view.finish(live.message)
            self._live = self._reply_view = None
            self._worker = None
            self._show_live()
            self._commit_hidden()
            self._show_context()
            self.refresh_bindings()  # Esc (stop) goes from the footer, Ctrl+R comes back
        model = live.message.model
        if model and live.message.stats:
            self._fetch_runtime_context(model)  # the size it was just run with
        if model and live.message.status == "complete":
            self.pislm.remember_model(model)  # it answered: the default next time

    async def _fail_reply(self, live: LiveReply, error: PislmError) -> None:
        """Nothing arrived: take the exchange back and give the prompt back."""
        self._stop_timer()
        conversation = self.conversation
        assert conversation is not None
        if self._reply_view is not None:
            await self._reply_view.remove()
        if live.message in conversation.messages:
            conversation.messages.remove(live.message)
        self._live = self._reply_view = None
        self._worker = None
        self._show_live()
        self.refresh_bindings()
        backup, self._prompt_backup = self._prompt_backup, None
        if backup is not None:  # a new prompt, not a regenerate: take it back too
            last = conversation.messages[-1] if conversation.messages else None
            if last is not None and last.role == "user":
                conversation.messages.pop()
                await self._remove_view_of(last)
                self._delete_stored([last])
            prompt = self.query_one(PromptInput)
            if not prompt.text.strip():
                prompt.set_text(backup[0])
                chips = self.query_one(ImageChips)
                for image in backup[1]:
                    await chips.add(image)
        if self._hidden and backup is not None:
            self._editing = True  # the edited prompt is back in the box: Enter retries the edit
        self._restore_hidden()
        if conversation.id is not None and not conversation.messages and self.store is not None:
            with contextlib.suppress(PislmError):  # an empty chat left behind is harmless
                self.store.delete_session(conversation.id)
            conversation.id = None
            conversation.title = ""
            self._show_title()
        if not conversation.messages:
            await self._mount_messages(_empty_hint())
        self.pislm.show_error(error, title="No reply")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._pause_blink(False)

    def _pause_blink(self, pause: bool) -> None:
        """No blinking cursor while a reply streams: each blink is a repaint, and the eyes are
        on the reply."""
        prompt = self.query_one(PromptInput)
        if pause:
            self._blink, prompt.cursor_blink = prompt.cursor_blink, False
        else:
            prompt.cursor_blink = (
                getattr(self, "_blink", prompt.cursor_blink) and not self.pislm.ssh
            )

    async def _remove_view_of(self, message: ChatMessage) -> None:
        for view in self.query_one(ChatLog).messages.children:
            if getattr(view, "message", None) is message:
                await view.remove()
                return

    def _delete_stored(self, messages: list[ChatMessage]) -> None:
        conversation = self.conversation
        ids = [m.id for m in messages if m.id is not None]
        if self.store is None or conversation is None or conversation.id is None or not ids:
            return
        try:
            self.store.delete_messages(conversation.id, ids)  # type: ignore[arg-type]
        except PislmError as exc:
            self.pislm.show_error(exc)

    # -- stop, regenerate, edit --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.streaming or self._editing
        if action in ("regenerate", "edit_last"):
            conversation = self.conversation
            return not self.streaming and bool(
                conversation and conversation.last_index("user") is not None
            )
        return True

    def action_stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        elif self._editing:
            self._editing = False
            self.query_one(PromptInput).set_text("")
            self.pislm.notify("Edit cancelled.", timeout=3)

    def _hide_last_exchange(self, *, from_role: str = "user") -> None:
        """Take the last exchange out of the chat (from its last `from_role` message on); it is
        deleted for good once the new reply starts, and put back if the request fails."""
        conversation = self.conversation
        assert conversation is not None
        start = conversation.last_index(from_role)  # type: ignore[arg-type]
        if start is None:
            return
        log = self.query_one(ChatLog)
        views = {id(getattr(w, "message", None)): w for w in log.messages.children}
        for index in range(len(conversation.messages) - 1, start - 1, -1):
            message = conversation.messages.pop(index)
            view = views.get(id(message))
            if view is not None:
                view.display = False
            self._hidden.insert(0, (index, message, view))

    def _restore_hidden(self) -> None:
        conversation = self.conversation
        assert conversation is not None
        for index, message, view in self._hidden:
            conversation.messages.insert(index, message)
            if view is not None:
                view.display = True
        self._hidden.clear()

    def _commit_hidden(self) -> None:
        hidden, self._hidden = self._hidden, []
        self._delete_stored([message for _, message, _ in hidden])
        for _, _, view in hidden:
            if view is not None:
                view.remove()

    @work(group="chat-send")
    async def action_regenerate(self) -> None:
        conversation = self.conversation
        if self.streaming or self._sending or conversation is None or not conversation.messages:
            return
        if not (self.pislm.current_model or conversation.settings.model):
            self.pislm.notify("No model chosen: pick one above.", severity="error", timeout=6)
            return
        self._sending = True
        try:
            if conversation.messages[-1].role == "assistant":
                self._hide_last_exchange(from_role="assistant")
            self._prompt_backup = None
            await self._start_reply(None)
        finally:
            self._sending = False

    def action_edit_last(self) -> None:
        conversation = self.conversation
        if self.streaming or conversation is None:
            return
        index = conversation.last_index("user")
        if index is None:
            return
        message = conversation.messages[index]
        self.query_one(PromptInput).set_text(message.content)
        self._editing = True
        self.query_one(PromptInput).focus()
        self.pislm.notify(
            "Editing the last prompt: Enter sends it in place of the last exchange, Esc cancels.",
            timeout=6,
        )

    # -- images ------------------------------------------------------------------------------------

    def on_image_chips_removed(self, _event: ImageChips.Removed) -> None:
        if not self.query_one(ImageChips).images:
            self.query_one(PromptInput).focus()  # the focused chip is gone

    @work(group="chat-dialog")
    async def action_attach(self) -> None:
        from pislm_tui.screens.chat_attach import AttachImageScreen

        model = self.pislm.current_model
        details = await self._details(model) if model else None
        warning = None
        if details is not None and not details.supports_vision:
            warning = f"{model} cannot read images: choose a vision model before sending."
        chips = self.query_one(ImageChips)
        start = chips.images[-1].path.parent if chips.images else Path.cwd()
        image = await self.app.push_screen_wait(AttachImageScreen(start, warning))
        if image is not None:
            await chips.add(image)
        self.query_one(PromptInput).focus()

    # -- chats -------------------------------------------------------------------------------------

    def _busy(self) -> bool:
        if self.streaming:
            self.pislm.notify(
                "A reply is still arriving; Esc stops it first.", severity="warning", timeout=4
            )
            return True
        return False

    async def action_new_chat(self) -> None:
        if self._busy():
            return
        self._editing = False
        prompt = self.query_one(PromptInput)
        # An unsent prompt (one that failed comes back to the box) must not run into the next
        # one: the new chat starts empty, and the prompt waits in the history.
        if prompt.stash():
            await self.query_one(ImageChips).clear()
            self.pislm.notify("The unsent prompt is in the history: ↑ brings it back.", timeout=5)
        await self._show_conversation(self._new_conversation())
        prompt.focus()

    @work(group="chat-dialog")
    async def action_sessions(self) -> None:
        from pislm_tui.screens.chat_sessions import SessionsScreen

        if self._busy():
            return
        if self.store is None:
            self.pislm.notify(
                "Saved chats are not available (see the earlier error).", severity="error"
            )
            return
        current = self.conversation.id if self.conversation else None
        result = await self.app.push_screen_wait(
            SessionsScreen(self.store, self.pislm.paths.exports_dir, current)
        )
        if current is not None and current in result.deleted:
            await self._show_conversation(self._new_conversation())
        elif current is not None and current in result.renamed and self.conversation is not None:
            self.conversation.title = result.renamed[current]
            self._show_title()
        if result.open is not None and result.open != current:
            conversation = self._load(result.open)
            if conversation is not None:
                self._editing = False
                await self._show_conversation(conversation)
        self.query_one(PromptInput).focus()

    @work(group="chat-dialog")
    async def action_settings(self) -> None:
        from pislm_tui.screens.chat_settings import ChatSettingsScreen

        conversation = self.conversation
        if conversation is None:
            return
        app = self.pislm
        settings = conversation.settings.model_copy(update={"model": app.current_model})
        models = [(self._model_label(name), name) for name in app.chat_models()]
        details = self._caps.get(app.current_model or "")
        thinking = None if details is None else details.supports_thinking
        result = await app.push_screen_wait(ChatSettingsScreen(settings, models, thinking))
        if result is None:
            return
        conversation.settings = result.settings
        self._save_settings()
        if result.settings.model and result.settings.model != app.current_model:
            app.set_model(result.settings.model)
        if result.save_as_default:
            s = result.settings
            known = {
                k: v for k, v in s.options.items() if k in app.settings.chat.options.model_fields
            }
            updates = {
                "model": s.model,
                "chat": {
                    "system_prompt": s.system_prompt,
                    "options": {k: known.get(k) for k in app.settings.chat.options.model_fields},
                    "keep_alive": s.keep_alive,
                    "think": s.think,
                },
            }
            if app.save_settings(updates):
                app.notify("Saved as the defaults for new chats.", timeout=4)
        self._show_context()
        self.query_one(PromptInput).focus()

    def action_toggle_think(self) -> None:
        conversation = self.conversation
        model = self.pislm.current_model
        if conversation is None or not model:
            return
        details = self._caps.get(model)
        if details is not None and not details.supports_thinking:
            self.pislm.notify(
                f"{model} cannot think (the server lists no thinking capability for it): "
                "Ctrl+T works with models that do, such as qwen3.",
                severity="warning",
                timeout=6,
                markup=False,
            )
            return
        current = conversation.settings.think
        effective = current if current is not None else bool(details and details.supports_thinking)
        conversation.settings.think = not effective
        self._save_settings()
        state = "on" if conversation.settings.think else "off"
        self.pislm.notify(f"Thinking {state} for this chat.", timeout=3)

    @work(group="chat-dialog")
    async def action_copy(self) -> None:
        from pislm_tui.screens.chat_copy import CopyScreen

        conversation = self.conversation
        replies = (
            [m for m in reversed(conversation.messages) if m.role == "assistant" and m.content]
            if conversation
            else []
        )
        if not replies:
            self.pislm.notify("Nothing to copy yet.", timeout=3)
            return
        choices = [
            (f"Last reply · {len(replies[0].content.splitlines())} lines", replies[0].content)
        ]
        for reply in replies:
            for block in code_blocks(reply.content):
                choices.append((f"Code: {block.label}", block.code))
                if len(choices) > 20:
                    break
        text = (
            choices[0][1]
            if len(choices) == 1
            else await self.app.push_screen_wait(CopyScreen(choices))
        )
        if text is not None:
            self.app.copy_to_clipboard(text)
            self.pislm.notify(f"Copied {len(text):,} characters to the clipboard.", timeout=3)

    @work(group="chat-dialog")
    async def action_export(self) -> None:
        conversation = self.conversation
        if conversation is None or not conversation.messages:
            self.pislm.notify("Nothing to export yet.", timeout=3)
            return
        try:
            path = await asyncio.to_thread(
                export_markdown, conversation, self.pislm.paths.exports_dir
            )
        except OSError as exc:
            self.pislm.notify(f"cannot write the export: {exc}", severity="error", markup=False)
            return
        self.pislm.notify(f"Exported to {path}", title="Export", timeout=10, markup=False)
