"""The Chat tab: streamed multi-turn chat with the `ollama run --verbose` figures, stop and redo,
images, and chats saved as they happen.

Thin: the chat itself (the conversation, its saved copy off the event loop, the undo of a
regenerate or an edit, the gauge's figures) is `chat.session.ChatSession`; this widget draws
it, with mixins: its keys and dialogs (`tabs/chat_actions.py`), its models (the picker, the
capabilities, the context gauge: `tabs/chat_models.py`), its host, its tools, and the reply as it
streams (`tabs/chat_reply.py`).

Streaming is kept cheap on purpose (the Pi's cores are busy running the model): the worker
only appends chunks to a buffer (`chat.turn`), a timer at `chat.flush_hz` moves the buffer into
the reply's Markdown, the live figures change at most once a second, and no timer runs while
no reply streams."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import Worker

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError
from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
from pislm_tui.chat.session import ChatSession
from pislm_tui.long_work import long_work
from pislm_tui.tabs.chat_actions import ChatActions
from pislm_tui.tabs.chat_hosts import ChatHosts
from pislm_tui.tabs.chat_models import ChatModels
from pislm_tui.tabs.chat_reply import ChatReply, empty_hint, message_views
from pislm_tui.tabs.chat_tools import ChatTools
from pislm_tui.widgets.chat_header import ChatHeader
from pislm_tui.widgets.chat_log import ChatLog
from pislm_tui.widgets.image_chips import ImageChips
from pislm_tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from pislm_tui.chat.async_store import AsyncSessionStore
    from pislm_tui.chat.store import SessionStore
    from pislm_tui.widgets.message_view import AssistantMessage


_PLACEHOLDER = "Ask something…  Enter sends · Ctrl+J new line · Ctrl+F image · F1 keys"


class ChatTab(AppAccess, ChatActions, ChatModels, ChatHosts, ChatTools, ChatReply, Widget):
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
            threading.Thread(target=message_views, name="preload-views", daemon=True).start
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
        self._lead_frames()

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
            views = message_views()
            widgets = [
                views.UserMessage(m) if m.role == "user" else views.AssistantMessage(m)
                for m in conversation.messages
            ]
        with self.app.batch_update():
            await log.messages.remove_children()
            await log.messages.mount_all(widgets or [empty_hint()])
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
            await self._start_reply(message_views().UserMessage(message))

    async def _mount_messages(self, *widgets: Widget) -> None:
        log = self.query_one(ChatLog)
        for empty in log.query("#chat-empty"):
            await empty.remove()
        await log.messages.mount_all(widgets)

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
