"""`pislm tools ls`: the built-in tools and each MCP server's tools, or why a server is
unavailable. Each configured server is started, asked for its tools, and ended."""

from __future__ import annotations

import argparse
from typing import Any

from pislm_tui.cli.common import CliContext, print_json

EPILOG = """\
MCP servers come from [mcp.servers.NAME] in the config file: `command` (+ `args`, `env`) for a
stdio server, or `url` for streamable HTTP; `trust = ["tool", ...]` runs those tools without
asking in the Function Calling tab.
JSON output: {"builtin": [{name, description}], "servers": [{name, transport, tools, error}]}.
Exit code 0 even when a server is unavailable (it is listed with the reason)."""


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tools",
        parents=parents,
        help="the tools a model can call: built-ins and MCP servers'",
        description="The tools the Function Calling tab offers a model.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    ls = verbs.add_parser(
        "ls", parents=parents, help="list the built-in tools and each MCP server's tools"
    )
    ls.add_argument("--json", action="store_true", help="print one JSON document")
    ls.set_defaults(handler=run_ls)


async def list_tools(ctx: CliContext) -> dict[str, Any]:
    from pislm_tui.backend.errors import PislmError
    from pislm_tui.backend.mcp import McpHub
    from pislm_tui.tools.builtin import ToolContext, default_registry
    from pislm_tui.tools.mcp_tools import is_trusted

    registry = default_registry(ToolContext(ctx.backend, ctx.settings, ctx.paths))
    builtin = [
        {"name": s["function"]["name"], "description": s["function"]["description"]}
        for s in registry.schemas()
    ]
    hub = McpHub(ctx.settings.mcp, ctx.paths.data_dir / "mcp")
    servers: list[dict[str, Any]] = []
    try:
        for name, connection in hub.connections.items():
            entry: dict[str, Any] = {"name": name, "transport": connection.transport}
            try:
                tools = await connection.tools()
            except PislmError as exc:  # McpServerUnavailable: listed with its reason
                entry.update(tools=[], error=str(exc))
            else:
                trust = ctx.settings.mcp.servers[name].trust
                entry.update(
                    tools=[
                        {
                            "name": t.qualified,
                            "description": t.description,
                            "trusted": is_trusted(trust, name, t.name),
                        }
                        for t in tools
                    ],
                    error=None,
                )
            servers.append(entry)
    finally:
        await hub.aclose()
    disabled = [n for n, c in ctx.settings.mcp.servers.items() if not c.enabled]
    return {"builtin": builtin, "servers": servers, "disabled": disabled}


async def run_ls(args: argparse.Namespace, ctx: CliContext) -> int:
    found = await list_tools(ctx)
    if args.json:
        print_json(found)
        return 0
    print("Built-in tools")
    for tool in found["builtin"]:
        print(f"  {tool['name']:<22} {tool['description']}")
    if not found["servers"] and not found["disabled"]:
        print("\nNo MCP servers configured ([mcp.servers.NAME] in the config file).")
    for server in found["servers"]:
        print(f"\nMCP server {server['name']} ({server['transport']})")
        if server["error"]:
            print(f"  unavailable: {server['error']}")
        for tool in server["tools"]:
            mark = " (trusted)" if tool["trusted"] else ""
            print(f"  {tool['name']:<22} {tool['description']}{mark}")
    for name in found["disabled"]:
        print(f"\nMCP server {name}: disabled (enabled = false)")
    return 0
