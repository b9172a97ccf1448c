"""The Chat tab: streamed multi-turn chat with the `ollama run --verbose` figures, stop and redo,
images, and chats saved as they happen.

Thin: the chat itself (the conversation, its saved copy off the event loop, the undo of a
regenerate or an edit, the gauge's figures) is `chat.session.ChatSession`; this widget draws
it, with two mixins: its keys and dialogs (`tabs/chat_actions.py`) and its models (the picker,
the capabilities, the context gauge: `tabs/chat_models.py`).

Streaming is kept cheap on purpose (the Pi's cores are busy running the model): the worker
only appends chunks to a buffer (`chat.turn`), a timer at `chat.flush_hz` moves the buffer into
the reply's Markdown, the live figures change at most once a second, and no timer runs while
no reply streams."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError
from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
from pislm_tui.chat.session import ChatSession, TakenBack, live_figures
from pislm_tui.chat.turn import LiveReply, stream_reply
from pislm_tui.crash import run_to_end
from pislm_tui.long_work import long_work, mark_long
from pislm_tui.monitor_feed import reply_recording
from pislm_tui.tabs.chat_actions import ChatActions
from pislm_tui.tabs.chat_hosts import ChatHosts
from pislm_tui.tabs.chat_models import ChatModels
from pislm_tui.tabs.chat_tools import ChatTools
from pislm_tui.widgets.chat_header import ChatHeader
from pislm_tui.widgets.chat_log import ChatLog
from pislm_tui.widgets.image_chips import ImageChips
from pislm_tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from pislm_tui.chat.async_store import AsyncSessionStore
    from pislm_tui.chat.store import SessionStore
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


class ChatTab(AppAccess, ChatActions, ChatModels, ChatHosts, ChatTools, Widget):
    BINDING_GROUP_TITLE = "Chat"
    DEFAULT_CSS = """
    ChatTab {
        height: 1fr;
        layout: vertical;
        #chat-empty { color: $text-muted; padding: 1 2; }
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
        Binding("f8", "toggle_tools", "Tools on/off", show=False, id="chat.tools"),
        Binding("ctrl+b", "copy", "Copy", show=False, id="chat.copy"),
        Binding("ctrl+g", "export", "Export to Markdown", show=False, id="chat.export"),
    ]

    # What the footer's keys hang on (`check_action`): the chat on screen (Ctrl+R needs a
    # prompt to redo) and a reply arriving (Esc stops it; Ctrl+R waits).
    conversation: var[Conversation | None] = var(
        None, init=False, always_update=True, bindings=True
    )
    streaming: var[bool] = var(False, init=False, bindings=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = ChatSession(Conversation(settings=SessionSettings()), self._report)
        self._started = False
        self._ready = asyncio.Event()  # set once _start has shown the chat to go on with
        self._visible = False
        self._sending = False
        self._reply_view: AssistantMessage | None = None
        self._worker: Worker[None] | None = None
        self._timer: Timer | None = None
        # A flush runs to its end under this lock, and the timer stops under it: stopping the
        # timer never cancels a flush while the reply's Markdown removes a block (issue #12).
        self._flushing = asyncio.Lock()
        self._last_live_update = 0.0

    @property
    def store(self) -> SessionStore | None:
        """The saved chats' database (read by tests; the tab goes through the session)."""
        return self.session.store.db if self.session.store is not None else None

    @property
    def chats(self) -> AsyncSessionStore | None:
        return self.session.store

    @property
    def header(self) -> ChatHeader:
        return self.query_one(ChatHeader)

    def _report(self, error: PislmError, title: str) -> None:
        self.pislm.show_error(error, title=title)

    def watch_conversation(self, conversation: Conversation | None) -> None:
        if conversation is not None:
            self.session.show(conversation)

    # -- layout and start-up -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ChatHeader(id="chat-bar")
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

    def _tab_changed(self, tab: str) -> None:
        self._visible = tab == "chat"
        if not self._visible:
            if self._timer is not None:
                self._timer.pause()
        elif not self._started:
            self._started = True
            self._start()
        elif self._timer is not None:
            self._timer.resume()

    @work(group="chat-start")
    async def _start(self) -> None:
        """A worker: while the store opens in its thread, this tab's messages (the focus on its
        way up to the tab bar) keep moving."""
        app = self.pislm
        try:
            resumed = await self.session.open(
                app.paths.sessions_db, resume=app.settings.chat.resume_last
            )
            if not self.query(ChatLog):  # the app closed while the store opened: nothing to show
                return
            if self.chats is not None:
                self.query_one(PromptInput).set_history_source(self.chats.recent_prompts)
            await self._show_conversation(resumed or self._new_conversation(), resumed=True)
        finally:
            self._ready.set()
        self.watch(app, "models", self._models_changed)
        self.watch(app, "current_model", self._model_changed)
        self.watch(app, "host_name", self._host_changed, init=False)

    def main_control(self) -> Widget:
        """Focused by the app each time this tab is shown."""
        return self.query_one(PromptInput)

    async def on_unmount(self) -> None:
        await self.session.close()  # a reply still arriving is kept, marked stopped

    # -- conversations ---------------------------------------------------------------------------

    def _new_conversation(self) -> Conversation:
        app = self.pislm
        return Conversation(
            settings=SessionSettings.from_defaults(app.settings.chat, app.current_model),
            host=app.host.name or app.host.url,
        )

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
        self._follow_host(conversation, resumed=resumed)
        model = conversation.settings.model
        if conversation.id is not None and model != app.current_model:  # a saved chat
            # Its model, if this server has it (the app checks once the models are listed).
            app.follow_chat_model(model, resumed=resumed)
            if resumed and app.settings.model:  # --model wins: the chat goes on with it
                self.session.use_model(app.current_model)
        self._show_title()
        self._show_context()

    def _show_title(self) -> None:
        self.header.title = self.session.conversation.title or "New chat"

    # -- sending ---------------------------------------------------------------------------------

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

    @long_work(group="chat-send")
    async def _send(self, text: str) -> None:
        try:
            if self._started:  # a prompt sent while the saved chats open goes to the chat shown
                await self._ready.wait()
            await self._send_prompt(text)
        finally:
            self._sending = False

    async def _send_prompt(self, text: str) -> None:
        chips = self.query_one(ImageChips)
        images = chips.images
        if not text.strip() and not images:
            return
        model = await self._model_for(images)  # says why when there is none
        if model is None:
            return
        self.warn_if_it_will_not_fit(model)
        if self.session.editing:
            self._hide_views(self.session.hide_last_exchange())
            self.session.editing = False
        prompt = self.query_one(PromptInput)
        message = await self.session.add_prompt(text, images, model)  # saved off the loop
        self._show_title()
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
        session = self.session
        live, request = session.start_reply(
            self.pislm.current_model or session.conversation.settings.model  # type: ignore[arg-type]
        )
        self.streaming = True  # Esc (stop) appears in the footer, Ctrl+R goes
        log = self.query_one(ChatLog)
        view = _message_views().AssistantMessage(
            live.message, streaming=True, page_lines=log.page_lines
        )
        self._reply_view = view
        log.scroll_end(animate=False, immediate=True)  # follow this reply (anchored)
        await self._mount_messages(*(w for w in (prompt_view, view) if w is not None))
        self._last_live_update = 0.0
        self._pause_blink(True)
        self._show_live()
        self._timer = self.set_interval(1 / self.pislm.settings.chat.flush_hz, self._flush)
        if not self._visible:  # sent from elsewhere (the palette) while hidden
            self._timer.pause()
        self._worker = mark_long(
            self.run_worker(self._stream(live, request), group="chat-stream", exclusive=True)
        )

    async def _stream(self, live: LiveReply, request: Any) -> None:
        recording = reply_recording(self.pislm)  # the machine's conditions meanwhile
        if recording is not None:
            recording.begin()
        try:
            await stream_reply(
                self.pislm.backend,
                request,
                live,
                save=self.session.save_reply,  # off the loop, in order
                save_every_s=self.pislm.settings.chat.save_every_s,
                tools=await self._reply_tools(),
                max_rounds=self.pislm.settings.tools.max_rounds,
            )
        except asyncio.CancelledError:
            if recording is not None:
                recording.abandon()
            await self._end_reply(live)
            raise
        except PislmError as exc:
            if recording is not None:
                recording.abandon()
            await self._fail_reply(exc)
            return
        if recording is not None:
            live.message.conditions = await recording.stop()
        if live.message.status == "error":
            self.pislm.check_connection()  # a cut stream may mean the server is gone
        await self._end_reply(live)

    async def _flush(self) -> None:
        """Timer: move what arrived into the reply, follow it, refresh the live figures."""
        if self.session.live is None or self._reply_view is None:
            return

        async def flush() -> None:
            async with self._flushing:
                if self._timer is not None:  # (stopped while this tick waited: nothing to do)
                    await self._flush_now()

        await run_to_end(flush(), self)

    async def _flush_now(self) -> None:
        live, view = self.session.live, self._reply_view
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
        self.header.live = live_figures(self.session.live)

    async def _end_reply(self, live: LiveReply) -> None:
        """The reply ended (complete, stopped or cut off): show all of it with its figures."""
        await self._stop_flushing()
        view = self._reply_view
        if view is not None and not view.query("ReplyMarkdown"):
            view = None  # taken down with the app; the reply itself is saved by stream_reply
        with self.app.batch_update():  # the final frame, at once
            if view is not None:
                content, thinking = live.take()
                if content or thinking:
                    await view.add(content, thinking)
                await view.finish(live.message)
            self._reply_view = None
            self._worker = None
            for gone in self._views_of(self.session.end_reply()):
                gone.remove()
            self._show_live()
            self._show_context()
            self.streaming = False  # Esc (stop) goes from the footer, Ctrl+R comes back
        model = live.message.model
        if model and live.message.stats:
            self._fetch_runtime_context(model)  # the size it was just run with
        if model and live.message.status == "complete":
            self.pislm.remember_model(model)  # it answered: the default next time

    async def _fail_reply(self, error: PislmError) -> None:
        """Nothing arrived: take the exchange back and give the prompt back."""
        await self._stop_flushing()
        back: TakenBack = self.session.reply_failed()
        if self._reply_view is not None:
            await self._reply_view.remove()
        self._reply_view = None
        self._worker = None
        self._show_live()
        self.streaming = False
        if back.text is not None:  # a new prompt, not a regenerate: it goes back to the box
            if back.prompt is not None:
                for view in self._views_of([back.prompt]):
                    await view.remove()
            prompt = self.query_one(PromptInput)
            if not prompt.text.strip():
                prompt.set_text(back.text)
                chips = self.query_one(ImageChips)
                for image in back.images:
                    await chips.add(image)
        for view in self._views_of(back.restored):
            view.display = True
        if back.emptied:
            self._show_title()
        if not self.session.conversation.messages:
            await self._mount_messages(_empty_hint())
        self.pislm.show_error(error, title="No reply")

    async def _stop_flushing(self) -> None:
        """Stop the flush timer once no flush is running (see `_flushing`)."""
        async with self._flushing:
            self._stop_timer()

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

    def _views_of(self, messages: list[ChatMessage]) -> list[Widget]:
        """The widgets that show `messages` (by identity), in the log's order."""
        wanted = {id(m) for m in messages}
        return [
            view
            for view in self.query_one(ChatLog).messages.children
            if id(getattr(view, "message", None)) in wanted
        ]

    def _hide_views(self, messages: list[ChatMessage]) -> None:
        for view in self._views_of(messages):
            view.display = False

    # -- keys ----------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.streaming or self.session.editing
        if action in ("regenerate", "edit_last"):
            return self.conversation is not None and self.session.can_redo()
        return True
