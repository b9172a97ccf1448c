"""A small MCP server built with the SDK's `MCPServer` (mcp 2.x; `FastMCP` in 1.x).

    python -m tests.mcp_servers.demo                 # stdio
    python -m tests.mcp_servers.demo --http PORT     # streamable HTTP on 127.0.0.1:PORT/mcp
    python -m tests.mcp_servers.demo --exit-at-start # writes why on stderr, exits 3
    python -m tests.mcp_servers.demo --hang-at-start # never answers

`DEMO_PIDFILE` (env): the process writes its pid there (the tests check none is left)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("demo")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """The text in capitals."""
    return text.upper()


@server.tool()
async def slow(seconds: float) -> str:
    """Wait that many seconds, then answer."""
    await asyncio.sleep(seconds)
    return "done"


@server.tool()
def broken() -> str:
    """A tool that always fails."""
    raise ToolError("the demo database is locked")


@server.tool()
def die() -> str:
    """The server process ends at once (a crash)."""
    os._exit(70)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int)
    parser.add_argument("--exit-at-start", action="store_true")
    parser.add_argument("--hang-at-start", action="store_true")
    args = parser.parse_args()
    if pidfile := os.environ.get("DEMO_PIDFILE"):
        with Path(pidfile).open("a") as f:
            f.write(f"{os.getpid()}\n")
    if args.exit_at_start:
        print("demo: cannot open /nonexistent/demo.db", file=sys.stderr, flush=True)
        sys.exit(3)
    if args.hang_at_start:
        while True:
            time.sleep(60)
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()


if __name__ == "__main__":
    main()
