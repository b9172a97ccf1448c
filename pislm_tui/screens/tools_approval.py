"""The dialog an MCP tool call waits on before it runs (unless its server trusts the tool):
the call with its arguments and the server it goes to. The Function Calling tab and the Chat
tab (with tools on) ask through the same dialog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pislm_tui.chat.turn import call_text
from pislm_tui.screens.dialog import ConfirmScreen
from pislm_tui.text import clean_output

if TYPE_CHECKING:
    from pislm_tui.tools.mcp_tools import McpCallRequest


def approval_screen(request: McpCallRequest) -> ConfirmScreen:
    """`y` (or the Run button) runs the call; Esc or `n` refuses it (the model is told)."""
    call = call_text(request.name, request.arguments)
    where = clean_output(f"from the MCP server {request.server!r} ({request.transport})")
    return ConfirmScreen(
        f"Run {clean_output(request.name)}?",
        f"{call}\n{where}\n\ny runs it · Esc or n refuses (the model is told)",
        "Run",
    )
