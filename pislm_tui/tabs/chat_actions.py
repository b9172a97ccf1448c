"""The Chat tab's keys: stop, regenerate, edit the last prompt, new chat, and those that open a
dialog (saved chats, settings, image, copy) or act on the whole chat (thinking on/off, export).
A mixin of `ChatTab` (tabs/chat.py), which draws the chat; what these do to the chat itself is
`chat.session.ChatSession`'s. SQLite and file writes run off the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from pislm_tui.backend.errors import PislmError
from pislm_tui.chat.export import export_markdown
from pislm_tui.chat.session import copy_choices, default_updates
from pislm_tui.long_work import long_work
from pislm_tui.widgets.image_chips import ImageChips
from pislm_tui.widgets.prompt_input import PromptInput

if TYPE_CHECKING:
    from pislm_tui.tabs.chat import ChatTab


class ChatActions:
    def action_stop(self: ChatTab) -> None:
        if self._worker is not None:
            self._worker.cancel()
        elif self.session.editing:
            self.session.editing = False
            self.query_one(PromptInput).set_text("")
            self.pislm.notify("Edit cancelled.", timeout=3)

    @long_work(group="chat-send")
    async def action_regenerate(self: ChatTab) -> None:
        session = self.session
        if self.streaming or self._sending or not session.conversation.messages:
            return
        if not (self.pislm.current_model or session.conversation.settings.model):
            self.pislm.notify("No model chosen: pick one above.", severity="error", timeout=6)
            return
        self._sending = True
        try:
            self._hide_views(session.prepare_regenerate())
            await self._start_reply(None)
        finally:
            self._sending = False

    def action_edit_last(self: ChatTab) -> None:
        text = self.session.start_edit()
        if text is None:
            return
        prompt = self.query_one(PromptInput)
        prompt.set_text(text)
        prompt.focus()
        self.pislm.notify(
            "Editing the last prompt: Enter sends it in place of the last exchange, Esc cancels.",
            timeout=6,
        )

    def on_image_chips_removed(self: ChatTab, _event: ImageChips.Removed) -> None:
        if not self.query_one(ImageChips).images:
            self.query_one(PromptInput).focus()  # the focused chip is gone

    def _busy(self: ChatTab) -> bool:
        if self.streaming or self._sending:  # (a prompt being saved: its reply comes next)
            self.pislm.notify(
                "A reply is still arriving; Esc stops it first.", severity="warning", timeout=4
            )
            return True
        return False

    async def action_new_chat(self: ChatTab) -> None:
        if self._busy():
            return
        self.session.editing = False
        prompt = self.query_one(PromptInput)
        # An unsent prompt (one that failed comes back to the box) must not run into the next
        # one: the new chat starts empty, and the prompt waits in the history.
        if prompt.stash():
            await self.query_one(ImageChips).clear()
            self.pislm.notify("The unsent prompt is in the history: ↑ brings it back.", timeout=5)
        await self._show_conversation(self._new_conversation())
        prompt.focus()

    @work(group="chat-dialog")
    async def action_sessions(self: ChatTab) -> None:
        from pislm_tui.screens.chat_sessions import SessionsScreen

        if self._busy():
            return
        chats = self.chats
        if chats is None:
            self.pislm.notify(
                "Saved chats are not available (see the earlier error).", severity="error"
            )
            return
        current = self.conversation.id if self.conversation else None
        try:
            listed = await chats.list_sessions()  # before the screen opens: it shows them at once
        except PislmError as exc:
            self.pislm.notify(str(exc), severity="error", markup=False)
            listed = []
        result = await self.app.push_screen_wait(
            SessionsScreen(chats, self.pislm.paths.exports_dir, current, listed)
        )
        conversation = self.session.conversation
        if current is not None and current in result.deleted:
            await self._show_conversation(self._new_conversation())
        elif current is not None and current in result.renamed:
            conversation.title = result.renamed[current]
            self._show_title()
        if result.open is not None and result.open != current:
            opened = await self.session.load(result.open)
            if opened is not None:
                self.session.editing = False
                await self._show_conversation(opened)
        self.query_one(PromptInput).focus()

    @work(group="chat-dialog")
    async def action_settings(self: ChatTab) -> None:
        from pislm_tui.screens.chat_settings import ChatSettingsScreen

        conversation = self.conversation
        if conversation is None:
            return
        app = self.pislm
        settings = conversation.settings.model_copy(update={"model": app.current_model})
        models = [(self.model_label(name), name) for name in app.chat_models()]
        details = self._details(app.current_model)
        thinking = None if details is None else details.supports_thinking
        result = await app.push_screen_wait(ChatSettingsScreen(settings, models, thinking))
        if result is None:
            return
        self.session.apply_settings(result.settings)
        if result.settings.model and result.settings.model != app.current_model:
            app.set_model(result.settings.model)
        if result.save_as_default:
            options = list(app.settings.chat.options.model_fields)
            if app.save_settings(default_updates(result.settings, options)):
                app.notify("Saved as the defaults for new chats.", timeout=4)
        self._show_context()
        self.query_one(PromptInput).focus()

    def action_toggle_think(self: ChatTab) -> None:
        model = self.pislm.current_model
        if self.conversation is None or not model:
            return
        state = self.session.toggle_think(self._details(model))
        if state is None:
            self.pislm.notify(
                f"{model} cannot think (the server lists no thinking capability for it): "
                "Ctrl+T works with models that do, such as qwen3.",
                severity="warning",
                timeout=6,
                markup=False,
            )
            return
        self.pislm.notify(f"Thinking {'on' if state else 'off'} for this chat.", timeout=3)

    @work(group="chat-dialog")
    async def action_attach(self: ChatTab) -> None:
        from pislm_tui.screens.chat_attach import AttachImageScreen

        model = self.pislm.current_model
        details = await self.ask_details(model) if model else None
        warning = None
        if details is not None and not details.supports_vision:
            warning = f"{model} cannot read images: choose a vision model before sending."
        chips = self.query_one(ImageChips)
        start = chips.images[-1].path.parent if chips.images else Path.cwd()
        image = await self.app.push_screen_wait(AttachImageScreen(start, warning))
        if image is not None:
            await chips.add(image)
        self.query_one(PromptInput).focus()

    @work(group="chat-dialog")
    async def action_copy(self: ChatTab) -> None:
        from pislm_tui.screens.chat_copy import CopyScreen

        choices = copy_choices(self.conversation) if self.conversation else []
        if not choices:
            self.pislm.notify("Nothing to copy yet.", timeout=3)
            return
        text = (
            choices[0][1]
            if len(choices) == 1
            else await self.app.push_screen_wait(CopyScreen(choices))
        )
        if text is not None:
            self.app.copy_to_clipboard(text)
            self.pislm.notify(f"Copied {len(text):,} characters to the clipboard.", timeout=3)

    @work(group="chat-dialog")
    async def action_export(self: ChatTab) -> None:
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
