"""What an MCP server costs pislm: the time to start one and list its tools, and the time per
tool call, over stdio and over streamable HTTP on loopback, with the tests' demo server
(`tests/mcp_servers/demo.py`, the SDK's `MCPServer`). The reference in the same run: the same
`add` done by the built-in tool registry (no process, no protocol).

    .venv/bin/python bench/mcp_calls.py [--calls 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pislm_tui.backend.mcp import McpHub  # noqa: E402
from pislm_tui.config import McpSettings  # noqa: E402
from pislm_tui.tools.registry import Tool, ToolRegistry  # noqa: E402


class AddArgs(BaseModel):
    a: int
    b: int


async def _add(args: AddArgs) -> int:
    return args.a + args.b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def measure(name: str, settings: McpSettings, calls: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as logs:
        hub = McpHub(settings, Path(logs))
        connection = hub.connections[name]
        started = time.perf_counter()
        await connection.tools()
        start_s = time.perf_counter() - started
        times = []
        for i in range(calls):
            t = time.perf_counter()
            result = await connection.call("add", {"a": i, "b": 1}, timeout=10)
            times.append(time.perf_counter() - t)
            assert result.text == str(i + 1), result
        await hub.aclose()
    return {"start_s": start_s, "call_ms": statistics.median(times) * 1000}


async def reference(calls: int) -> float:
    registry = ToolRegistry([Tool("add", "add", AddArgs, _add)])
    times = []
    for i in range(calls):
        t = time.perf_counter()
        await registry.call("add", {"a": i, "b": 1})
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    env = {"PYTHONPATH": str(ROOT)}
    stdio = McpSettings.model_validate(
        {"servers": {"demo": {"command": sys.executable,
                              "args": ["-m", "tests.mcp_servers.demo"], "env": env}}}
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.mcp_servers.demo", "--http", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,  # uvicorn's access log
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        http = McpSettings.model_validate(
            {"servers": {"web": {"url": f"http://127.0.0.1:{port}/mcp"}}}
        )
        rows = [
            ("stdio (process started)", await measure("demo", stdio, args.calls)),
            ("streamable HTTP (loopback)", await measure("web", http, args.calls)),
        ]
    finally:
        server.terminate()
        server.wait(10)
    builtin = await reference(args.calls)
    print(f"{'transport':<28} {'start+list':>11} {'call (median)':>14}")
    for label, figures in rows:
        print(f"{label:<28} {figures['start_s']:>9.2f} s {figures['call_ms']:>11.2f} ms")
    print(f"{'built-in registry (ref.)':<28} {'—':>11} {builtin:>11.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
