"""MCP servers' tools beside the built-ins: named `server.tool`, with the server's own JSON
schema, run only after the user approves each call unless the server's `trust` list names the
tool. Whatever goes wrong (a refusal, a timeout, a crash, the tool's own error) is answered to
the model as an `error: ...` text, so the conversation goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import McpServerUnavailable, PislmError
from pislm_tui.tools.registry import MAX_RESULT_CHARS, ToolOutcome

if TYPE_CHECKING:
    from pislm_tui.backend.mcp import McpConnection, McpHub, McpToolInfo


@dataclass(frozen=True, slots=True)
class McpCallRequest:
    """What the user is asked to approve."""

    server: str
    tool: str
    arguments: dict[str, Any]
    transport: str  # "stdio: npx -y …" or "http: http://…"

    @property
    def name(self) -> str:
        return f"{self.server}.{self.tool}"


Approver = Callable[[McpCallRequest], Awaitable[bool]]


def is_trusted(trust: list[str], server: str, tool: str) -> bool:
    return tool in trust or f"{server}.{tool}" in trust or "*" in trust


@dataclass(frozen=True, slots=True)
class McpTool:
    """One MCP tool as an `ExternalTool` of the registry."""

    info: McpToolInfo
    connection: McpConnection
    trusted: bool
    approve: Approver | None  # None: nothing can approve (a refusal unless trusted)
    timeout: float

    @property
    def name(self) -> str:
        return self.info.qualified

    def schema(self) -> dict[str, Any]:
        parameters = dict(self.info.input_schema) or {"type": "object"}
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.info.description
                or f"{self.info.name} (MCP server {self.info.server})",
                "parameters": parameters,
            },
        }

    async def invoke(self, arguments: dict[str, Any]) -> ToolOutcome:
        name = self.name
        if not self.trusted:
            request = McpCallRequest(
                self.info.server, self.info.name, arguments, self.connection.transport
            )
            allowed = self.approve is not None and await self.approve(request)
            if not allowed:
                return ToolOutcome(
                    name,
                    arguments,
                    False,
                    f"error: the user refused to run {name}; answer without it",
                )
        try:
            result = await self.connection.call(self.info.name, arguments, timeout=self.timeout)
        except PislmError as exc:
            return ToolOutcome(name, arguments, False, f"error: {exc}")
        text = result.text
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + " …(cut)"
        if result.is_error:
            return ToolOutcome(name, arguments, False, f"error: {name} failed: {text}")
        return ToolOutcome(name, arguments, True, text)


@dataclass(frozen=True, slots=True)
class McpToolset:
    """The tools of every server that started, and why the others did not."""

    tools: list[McpTool]
    unavailable: list[McpServerUnavailable]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tools]


async def load_mcp_tools(hub: McpHub, approve: Approver | None) -> McpToolset:
    """Start (if needed) every enabled server at once and wrap its tools."""
    connections = list(hub.connections.values())
    listings = await asyncio.gather(*(c.tools() for c in connections), return_exceptions=True)
    tools: list[McpTool] = []
    unavailable: list[McpServerUnavailable] = []
    for connection, listing in zip(connections, listings, strict=True):
        if isinstance(listing, McpServerUnavailable):
            unavailable.append(listing)
            continue
        if isinstance(listing, BaseException):
            raise listing
        trust = hub.settings.servers[connection.name].trust
        tools.extend(
            McpTool(
                info,
                connection,
                is_trusted(trust, info.server, info.name),
                approve,
                hub.settings.call_timeout,
            )
            for info in listing
        )
    return McpToolset(tools, unavailable)
