"""One chat as the Chat tab runs it, without Textual: the conversation on screen, its saved copy
(every SQLite call off the event loop, through `AsyncSessionStore`), the reply arriving, the
undo of a regenerate or an edit, and the figures the context gauge shows.

The tab keeps only what is drawn: it asks this object what changed and moves the widgets to
match. Failures to save are reported through `report(error, title)` and never stop the chat:
it goes on in memory, and the user's prompt and the reply are kept either way."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pislm_tui.backend.errors import PislmError
from pislm_tui.backend.types import ModelDetails, Role
from pislm_tui.chat.async_store import AsyncSessionStore, Report
from pislm_tui.chat.blocks import code_blocks
from pislm_tui.chat.context import context_window, gauge_text, gauge_tooltip
from pislm_tui.chat.conversation import (
    ChatMessage,
    ChatRequest,
    Conversation,
    SessionSettings,
    StoredImage,
    title_from_prompt,
)
from pislm_tui.chat.images import ImageAttachment
from pislm_tui.chat.turn import LiveReply
from pislm_tui.models.listing import normalize_name

NOT_SAVED = "Not saved"
UNAVAILABLE = "Saved chats unavailable"


def _ignore(_error: PislmError, _title: str) -> None:
    """For writes whose failure does no harm (an empty chat left behind, a last save at exit)."""


@dataclass
class TakenBack:
    """What a request that failed before any text took back, for the tab to redraw."""

    reply: ChatMessage  # the empty reply, out of the chat
    prompt: ChatMessage | None = None  # the new prompt, out of the chat (not for a regenerate)
    text: str | None = None  # the prompt's text and images, for the box (a new prompt only)
    images: list[ImageAttachment] = field(default_factory=list)
    restored: list[ChatMessage] = field(default_factory=list)  # the hidden exchange, back
    emptied: bool = False  # nothing is left: the chat is new again (its saved copy deleted)


class ChatSession:
    def __init__(self, conversation: Conversation, report: Report) -> None:
        self.conversation = conversation
        self.store: AsyncSessionStore | None = None
        self.live: LiveReply | None = None  # the reply arriving
        self.editing = False  # the last prompt is in the box: sending replaces the last exchange
        self._report = report
        self._hidden: list[tuple[int, ChatMessage]] = []  # out of the chat until the reply starts
        self._prompt_backup: tuple[str, list[ImageAttachment]] | None = None
        self._reply_save_failed = False
        self._running_ctx: dict[str, int] = {}  # context size the server runs a model with

    @property
    def streaming(self) -> bool:
        return self.live is not None

    # -- opening, loading, closing ---------------------------------------------------------------

    async def open(self, path: Path, *, resume: bool) -> Conversation | None:
        """Open the saved chats (off the loop); returns the latest chat when `resume`. A store
        that cannot be opened or read is reported: chats are then kept in memory only."""
        try:
            self.store = await AsyncSessionStore.open(path)
        except PislmError as exc:
            self._report(exc, UNAVAILABLE)
            return None
        if not resume:
            return None
        try:
            latest = await self.store.latest_session_id()
        except PislmError as exc:  # a damaged database: this chat is kept in memory
            self._report(exc, UNAVAILABLE)
            return None
        return None if latest is None else await self.load(latest)

    async def load(self, session_id: int) -> Conversation | None:
        """A saved chat (not shown yet: `show` it); None, reported, when it cannot be read."""
        if self.store is None:
            return None
        try:
            return await self.store.load(session_id)
        except PislmError as exc:
            self._report(exc, "Error")
            return None

    def show(self, conversation: Conversation) -> None:
        self.conversation = conversation

    async def close(self) -> None:
        """The app is closing: a reply still arriving is kept as far as it came, marked
        stopped; then the store closes, after every save made before."""
        store, live, conversation = self.store, self.live, self.conversation
        if store is None:
            return
        if live is not None and conversation.id is not None:
            message = live.sync()
            message.status = "stopped"
            session_id = conversation.id

            def keep() -> None:
                if message.id is not None:
                    store.db.update_message(message)
                elif message.content or message.thinking:
                    store.db.add_message(session_id, message)

            store.submit(keep, report=_ignore, title=NOT_SAVED)
        self.store = None
        await store.close()

    # -- settings ----------------------------------------------------------------------------------

    def save_settings(self) -> None:
        """Save the chat's settings with it (once it is saved; a chat being saved gets them)."""
        store, conversation = self.store, self.conversation
        if store is None:
            return

        def save() -> None:  # in the store's thread, after the chat's own insert
            if conversation.id is not None:
                store.db.save_settings(conversation.id, conversation.settings)

        store.submit(save, report=self._report, title="Error")

    def use_host(self, host: str | None) -> None:
        """The chat goes on with another host (only one nothing was said in yet)."""
        store, conversation = self.store, self.conversation
        conversation.host = host
        if store is None:
            return

        def save() -> None:
            if conversation.id is not None:
                store.db.set_host(conversation.id, host)

        store.submit(save, report=self._report, title="Error")

    def use_model(self, model: str | None) -> None:
        if self.conversation.settings.model != model:
            self.conversation.settings.model = model
            self.save_settings()

    def apply_settings(self, settings: SessionSettings) -> None:
        self.conversation.settings = settings
        self.save_settings()

    def toggle_think(self, details: ModelDetails | None) -> bool | None:
        """Thinking on/off for this chat; returns the new state, or None (nothing changed) when
        the server says the model cannot think."""
        if details is not None and not details.supports_thinking:
            return None
        settings = self.conversation.settings
        effective = (
            settings.think
            if settings.think is not None
            else bool(details and details.supports_thinking)
        )
        settings.think = not effective
        self.save_settings()
        return settings.think

    # -- sending -----------------------------------------------------------------------------------

    async def add_prompt(
        self, text: str, images: list[ImageAttachment], model: str | None
    ) -> ChatMessage:
        """The user's prompt joins the chat, saved with its images (a new chat is saved first,
        with `model`). The save runs off the loop; its failure is reported, the chat goes on."""
        self._prompt_backup = (text, images)
        message = ChatMessage(
            "user", text, images=[StoredImage(image.name, image.data) for image in images]
        )
        conversation = self.conversation
        if not conversation.title:
            conversation.title = title_from_prompt(text, len(images))
        store = self.store
        if store is not None:
            if conversation.id is None:
                conversation.settings.model = model

            def save() -> None:
                if conversation.id is None:
                    store.db.create_session(conversation)
                store.db.add_message(conversation.id, message)  # type: ignore[arg-type]

            try:
                await store.run(save)
            except PislmError as exc:
                self._report(exc, NOT_SAVED)
            else:
                store.remember_prompt(text)
        conversation.messages.append(message)
        return message

    def start_reply(self, model: str) -> tuple[LiveReply, ChatRequest]:
        """The request for the whole chat, and the reply that will hold the answer."""
        request = self.conversation.request(model)
        reply = ChatMessage("assistant", model=model)
        self.live = LiveReply(reply)
        self.conversation.messages.append(reply)
        self._reply_save_failed = False
        return self.live, request

    def save_reply(self, message: ChatMessage) -> None:
        """The arriving reply's save (`stream_reply`'s `save`, at a cadence and at the end):
        added the first time, updated after, in order, off the loop. The first failure is
        reported and ends this reply's saves."""
        store, conversation = self.store, self.conversation
        if store is None or self._reply_save_failed:
            return

        def save() -> None:
            if conversation.id is None or self._reply_save_failed:
                return
            if message.id is None:
                store.db.add_message(conversation.id, message)
            else:
                store.db.update_message(message)

        store.submit(save, report=self._reply_not_saved, title=NOT_SAVED)

    def _reply_not_saved(self, error: PislmError, title: str) -> None:
        if not self._reply_save_failed:
            self._reply_save_failed = True
            self._report(error, title)

    def end_reply(self) -> list[ChatMessage]:
        """The reply ended (complete, stopped or cut off): the exchange it replaces goes for
        good. Returns that exchange's messages (their views go)."""
        self.live = None
        return self.commit_hidden()

    def reply_failed(self) -> TakenBack:
        """Nothing arrived: the exchange is taken back, the prompt returns to the box, and an
        edited or regenerated exchange is put back where it was."""
        live, self.live = self.live, None
        assert live is not None
        conversation = self.conversation
        messages = conversation.messages
        for index, message in enumerate(messages):
            if message is live.message:
                del messages[index]
                break
        back = TakenBack(reply=live.message)
        backup, self._prompt_backup = self._prompt_backup, None
        if backup is not None:  # a new prompt, not a regenerate: take it back too
            back.text, back.images = backup
            last = messages[-1] if messages else None
            if last is not None and last.role == "user":
                messages.pop()
                back.prompt = last
                self._delete_stored([last])
                if self.store is not None:
                    self.store.forget_prompt(last.content)
            if self._hidden:
                self.editing = True  # the edited prompt is back in the box: Enter retries it
        back.restored = self.restore_hidden()
        if conversation.id is not None and not messages and self.store is not None:
            # An empty chat left behind is harmless: a failure to delete it is not reported.
            self.store.submit(
                self.store.db.delete_session, conversation.id, report=_ignore, title=""
            )
            conversation.id = None
            conversation.title = ""
            back.emptied = True
        return back

    # -- regenerate, edit: the undo ------------------------------------------------------------

    def can_redo(self) -> bool:
        """Regenerate and edit need a prompt, and no reply arriving."""
        return not self.streaming and self.conversation.last_index("user") is not None

    def hide_last_exchange(self, *, from_role: Role = "user") -> list[ChatMessage]:
        """Take the last exchange out of the chat (from its last `from_role` message on). It is
        deleted for good once the new reply starts, and put back if the request fails. Returns
        the messages taken out (their views hide)."""
        messages = self.conversation.messages
        start = self.conversation.last_index(from_role)
        if start is None:
            return []
        taken: list[ChatMessage] = []
        for index in range(len(messages) - 1, start - 1, -1):
            message = messages.pop(index)
            self._hidden.insert(0, (index, message))
            taken.insert(0, message)
        return taken

    def restore_hidden(self) -> list[ChatMessage]:
        hidden, self._hidden = self._hidden, []
        for index, message in hidden:
            self.conversation.messages.insert(index, message)
        return [message for _, message in hidden]

    def commit_hidden(self) -> list[ChatMessage]:
        hidden, self._hidden = self._hidden, []
        gone = [message for _, message in hidden]
        self._delete_stored(gone)
        return gone

    def prepare_regenerate(self) -> list[ChatMessage]:
        """Ask again: the last reply (if the chat ends with one) is hidden. Returns it."""
        self._prompt_backup = None
        if self.conversation.messages and self.conversation.messages[-1].role == "assistant":
            return self.hide_last_exchange(from_role="assistant")
        return []

    def start_edit(self) -> str | None:
        """The last prompt's text, to edit in the box (None: there is none)."""
        index = self.conversation.last_index("user")
        if self.streaming or index is None:
            return None
        self.editing = True
        return self.conversation.messages[index].content

    def _delete_stored(self, messages: list[ChatMessage]) -> None:
        store, session_id = self.store, self.conversation.id
        if store is None or session_id is None or not messages:
            return

        def delete() -> None:  # the ids are read here: set by the inserts queued before
            ids = [m.id for m in messages if m.id is not None]
            if ids:
                store.db.delete_messages(session_id, ids)

        store.submit(delete, report=self._report, title="Error")

    # -- the context gauge -----------------------------------------------------------------------

    def note_running_context(self, model: str, size: int) -> None:
        """The context size the server runs `model` with (`ollama ps`)."""
        self._running_ctx[normalize_name(model).lower()] = size

    def gauge(
        self, model: str | None, kind: str, details: ModelDetails | None
    ) -> tuple[str, str | None]:
        """The gauge's text and tooltip (see `chat.context`)."""
        conversation = self.conversation
        used = conversation.context_used()
        num_ctx = conversation.settings.options.get("num_ctx")
        window = context_window(
            num_ctx=num_ctx if kind == "ollama" else None,  # an OpenAI API drops num_ctx
            running=self._running_ctx.get(normalize_name(model).lower()) if model else None,
            trained=details.context_length if details is not None else None,
        )
        tooltip = gauge_tooltip(used, window, model, kind) if used else None
        return gauge_text(used, window), tooltip


def live_figures(live: LiveReply | None, now: float | None = None) -> str:
    """The line that takes the title's place while a reply streams: how long the first token
    takes, then the live speed and count. Empty when no reply streams."""
    if live is None:
        return ""
    if live.first_token is None:
        waited = (time.monotonic() if now is None else now) - live.started
        return f"waiting for the first token · {waited:.0f} s · Esc stops"
    rate = live.rate()
    speed = f"{rate:.1f} tok/s" if rate else "…"
    what = "thinking · " if live.thinking_tokens and not live.tokens else ""
    count = live.tokens + live.thinking_tokens
    return f"{what}{speed} · {count} tokens · Esc stops"


def copy_choices(conversation: Conversation, limit: int = 20) -> list[tuple[str, str]]:
    """What Ctrl+B offers: the last reply whole, then the code blocks of every reply, newest
    first (about `limit` of them)."""
    replies = [m for m in reversed(conversation.messages) if m.role == "assistant" and m.content]
    if not replies:
        return []
    choices = [(f"Last reply · {len(replies[0].content.splitlines())} lines", replies[0].content)]
    for reply in replies:
        for block in code_blocks(reply.content):
            choices.append((f"Code: {block.label}", block.code))
            if len(choices) > limit:
                break
    return choices


def default_updates(settings: SessionSettings, option_names: list[str]) -> dict[str, Any]:
    """The config changes that make `settings` the defaults for new chats (every known option
    written: one cleared here is cleared there too)."""
    known = {k: v for k, v in settings.options.items() if k in option_names}
    return {
        "model": settings.model,
        "chat": {
            "system_prompt": settings.system_prompt,
            "options": {k: known.get(k) for k in option_names},
            "keep_alive": settings.keep_alive,
            "think": settings.think,
        },
    }
