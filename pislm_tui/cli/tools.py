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


# -- pislm bench --tools ----------------------------------------------------------------------


async def cmd_tools_bench(args: argparse.Namespace, ctx: CliContext) -> int:
    """`pislm bench --tools [--models A,B] [--runs N]`: the scoreboard, saved and exported."""
    import asyncio
    import sys

    from pislm_tui.backend.errors import UsageError
    from pislm_tui.tools.scoreboard import ScoreboardRunner, ScoreProgress, tool_models
    from pislm_tui.tools.scoreboard_store import export_scoreboard, save_scoreboard

    runs = args.runs if args.runs is not None else ctx.settings.models.bench_runs
    if runs < 1:
        raise UsageError(f"--runs must be 1 or more, not {runs}")
    if args.models:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
    else:
        models = await tool_models(ctx.backend)
        if not models:
            raise UsageError("no installed model can call tools", "pull one, e.g. qwen3:1.7b")
    runner = ScoreboardRunner(ctx.backend, ctx.settings.tools, models, runs, photo=photo_task(args))

    def progress(p: ScoreProgress) -> None:  # stderr: stdout carries the result
        print(f"tools bench {p.describe()}", file=sys.stderr, flush=True)

    try:
        board = await runner.run(progress)
    except (KeyboardInterrupt, asyncio.CancelledError):
        board = runner.board
        board.cancelled = True
        print("tools bench stopped; the tasks that finished are kept", file=sys.stderr)
    saved = await asyncio.to_thread(save_scoreboard, board, ctx.paths.data_dir)
    export = None
    if not args.no_export and board.results:
        export = await asyncio.to_thread(export_scoreboard, board, ctx.paths.bench_dir)
    if args.json:
        data: dict[str, Any] = board.to_json()
        data["saved"] = str(saved)
        data["export"] = {"csv": str(export.csv), "json": str(export.json)} if export else None
        print_json(data)
        return 130 if board.cancelled else 0
    print(_scores_table(board))
    print(f"\n{board.recommendation()}")
    if export:
        print(f"\nsaved {export.csv}\n      {export.json}")
    return 130 if board.cancelled else 0  # as an interrupted command, the kept tasks printed


def photo_task(args: argparse.Namespace) -> Any:
    """`--image PATH --image-city "CITY, COUNTRY" [--image-at LAT,LON]`: the scoreboard's
    image → city task (None without --image)."""
    from pislm_tui.backend.errors import UsageError

    if not getattr(args, "image", None):
        if getattr(args, "image_city", None) or getattr(args, "image_at", None):
            raise UsageError("--image-city and --image-at go with --image PATH")
        return None
    if not args.tools:
        raise UsageError("--image goes with --tools (the tool scoreboard)")
    from pislm_tui.chat.images import load_image
    from pislm_tui.tools.gazetteer import GAZETTEER, Capital, names_match
    from pislm_tui.tools.scoreboard import PhotoTask

    if not args.image_city:
        raise UsageError(
            "--image needs --image-city: the place the photo shows", 'e.g. "Cusco, Peru"'
        )
    city, _, country = (part.strip() for part in args.image_city.partition(","))
    known = next((c for c in GAZETTEER if names_match(city, c)), None)
    if args.image_at:
        try:
            lat, lon = (float(x) for x in args.image_at.split(","))
        except ValueError:
            raise UsageError(
                f"--image-at {args.image_at!r} is not LAT,LON", "e.g. --image-at=-13.53,-71.97"
            ) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise UsageError(f"--image-at {args.image_at} is off the globe")
        place = Capital(country or (known.country if known else ""), city, lat, lon)
    elif known is not None:
        place = known
    else:
        raise UsageError(
            f"where is {city}? give its coordinates", "--image-at LAT,LON (e.g. -13.53,-71.97)"
        )
    return PhotoTask(load_image(args.image), place)


def _scores_table(board: Any) -> str:
    header = ("MODEL", "VALID", "RIGHT", "RETRIES", "LATENCY")
    rows = [
        (
            s.model,
            f"{s.valid_rate:.0%}",
            f"{s.correct_rate:.0%}",
            "—" if s.mean_retries is None else f"{s.mean_retries:.1f}",
            "—" if s.median_latency_s is None else f"{s.median_latency_s:.1f} s",
        )
        for s in board.scores()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "   ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
