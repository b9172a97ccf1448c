"""The Chat tab's hosts: a chat remembers the host it was held with (`Conversation.host`, saved
with it). Switching host starts a new chat unless nothing was said yet; opening a chat held with
another named host switches to it. A mixin of `ChatTab` (tabs/chat.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pislm_tui.chat.conversation import Conversation
    from pislm_tui.tabs.chat import ChatTab


class ChatHosts:
    async def _host_changed(self: ChatTab, _name: str) -> None:
        """Another host: a chat already held keeps its host (a new chat starts here); an empty
        one moves along."""
        app = self.pislm
        here = app.host.name or app.host.url
        conversation = self.session.conversation
        if conversation.host == here:
            return  # the switch followed this chat (it was opened from the list)
        if conversation.messages and not self._busy():
            await self._show_conversation(self._new_conversation())
            self.app.notify(
                f"A new chat on {app.host.label}; the last one stays with {conversation.host} "
                "(Ctrl+O opens it)",
                title="Host",
                timeout=6,
                markup=False,
            )
        elif not conversation.messages:
            self.session.use_host(here)

    def _follow_host(self: ChatTab, conversation: Conversation, *, resumed: bool) -> None:
        """A saved chat held with another named host: opened from the list, it goes on there;
        resumed at start, the host asked for wins (and the chat's host is named)."""
        app = self.pislm
        held = conversation.host
        if conversation.id is None or not held or held in (app.host.name, app.host.url):
            return
        if held in app.settings.hosts and not resumed:
            app.switch_host(held)
        else:
            self.app.notify(
                f"This chat was held with {held}; now on {app.host.label}",
                title="Host",
                timeout=6,
                markup=False,
            )
