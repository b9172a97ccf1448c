"""The Chat tab's tools (a mixin of `ChatTab`): per chat, off by default, F8 (or the palette's
"Chat: Tools on/off") lets the model call the built-in tools and the MCP servers' tools, as in
the Function Calling tab. A call to an MCP tool that its server does not trust waits for a key
press; the calls and their answers show in the reply (chat/turn.py `stream_reply`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pislm_tui.tabs.chat import ChatTab
    from pislm_tui.tools.mcp_tools import McpCallRequest
    from pislm_tui.tools.registry import ToolRegistry


class ChatTools:
    def action_toggle_tools(self: ChatTab) -> None:
        settings = self.session.conversation.settings
        on = not settings.tools
        self.session.apply_settings(settings.model_copy(update={"tools": on}))
        if on:
            text = (
                "Tools on for this chat: the model may call distance, date and time, Pi status, "
                "document search and your MCP servers' tools (F8 turns them off)."
            )
        else:
            text = "Tools off for this chat."
        self.pislm.notify(text, title="Tools", timeout=5)

    async def _reply_tools(self: ChatTab) -> ToolRegistry | None:
        """The tools this chat's next reply may call; None when tools are off."""
        if not self.session.conversation.settings.tools:
            return None
        from pislm_tui.tools.builtin import ToolContext, default_registry

        app = self.pislm
        registry = default_registry(ToolContext(app.backend, app.settings, app.paths))
        hub = app.mcp_hub()
        if hub:  # servers start on the first reply that may need them
            from pislm_tui.tools.mcp_tools import load_mcp_tools

            toolset = await load_mcp_tools(hub, self._approve_tool)
            for down in toolset.unavailable:
                app.notify(str(down), title="Tools", severity="warning", markup=False)
            registry = registry.with_external(toolset.tools)
        return registry

    async def _approve_tool(self: ChatTab, request: McpCallRequest) -> bool:
        from pislm_tui.screens.tools_approval import approval_screen

        return bool(await self.app.push_screen_wait(approval_screen(request)))
