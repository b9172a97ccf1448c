"""`pislm monitor`: the machine's CPU, memory, temperature, throttling, fan and Ollama's loaded
models without the full app.

    pislm monitor                 a plain page redrawn every second (Ctrl-C quits)
    pislm monitor --once [--json] one sample (two /proc/stat readings 0.5 s apart)
    pislm monitor --json          one JSON object per line, every interval (JSON Lines)
    pislm monitor --hosts all     one row per named host (`--once --json`: one document)

With `--host NAME` whose [hosts.NAME] has `ssh`, the figures are that machine's, over ssh.

When stdout is not a terminal the page becomes one summary line per sample. An unreachable
server is not an error here: Ollama's part of the sample reads n/a with the reason."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from datetime import datetime
from typing import Any, TextIO

from pislm_tui.backend.errors import UsageError
from pislm_tui.cli.common import CliContext, print_json

ONCE_INTERVAL = 0.5  # seconds between the two CPU readings of --once


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "monitor",
        parents=parents,
        help="CPU per core, memory, temperature, throttling, fan and Ollama's loaded models",
        description="Watch this machine (the Pi running Ollama) without the full app.",
    )
    p.add_argument("--once", action="store_true", help="print one sample and exit")
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON: one document with --once, else one object per line (JSON Lines)",
    )
    p.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="time between samples (default: monitor.interval, 1 s)",
    )
    p.add_argument("--count", type=int, metavar="N", help="stop after N samples")
    p.add_argument(
        "--hosts",
        metavar="all|NAME,...",
        help="one row per named host (server, model in memory, load, temperature, throttling)",
    )
    p.set_defaults(handler=run)


async def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.monitor import Sampler, sample_once

    settings = ctx.settings.monitor
    interval = settings.interval if args.interval is None else args.interval
    if not 0.1 <= interval <= 3600:
        raise UsageError(f"--interval {interval:g}: give seconds between 0.1 and 3600")
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be 1 or more")
    if args.hosts is not None:
        from pislm_tui.cli.fleet import run_hosts

        return await run_hosts(args, ctx, interval)
    from pislm_tui.hosts.machines import remote_monitor
    from pislm_tui.hosts.named import current_host

    host = current_host(ctx.settings, ctx.loaded.host_name)
    remote = remote_monitor(host, ctx.settings, loaded=ctx.backend.loaded)
    if remote is not None:  # the host's machine, over its ssh
        return await _run_remote(args, remote, interval, settings.top_processes)
    sources = {
        "proc_root": settings.proc_root,
        "sys_root": settings.sys_root,
        "vcgencmd": settings.vcgencmd or None,
        "loaded": ctx.backend.loaded,
        "top": settings.top_processes,
    }
    if args.once:
        sample = await sample_once(interval=ONCE_INTERVAL, **sources)  # type: ignore[arg-type]
        if args.json:
            print_json(sample.to_json())
        else:
            _print_page(sample, sys.stdout, settings.top_processes)
        return 0

    sampler = Sampler(slow_interval=settings.vcgencmd_interval, **sources)  # type: ignore[arg-type]
    out = sys.stdout
    live = out.isatty() and not args.json
    shown = 0
    last_page: list[str] = []
    try:
        if live:
            out.write("\x1b[?25l\x1b[H\x1b[2J")  # hide the cursor, clear once
        await sampler.sample(detail=True, wait_slow=True)  # the CPU baseline
        while args.count is None or shown < args.count:
            await asyncio.sleep(interval)
            sample = await sampler.sample(detail=True)
            shown += 1
            if args.json:
                out.write(json.dumps(sample.to_json(), ensure_ascii=False, default=str) + "\n")
            elif live:
                last_page = _redraw(sample, out, last_page, interval, settings.top_processes)
            else:
                from pislm_tui.monitor.report import one_line

                stamp = datetime.now().strftime("%H:%M:%S")
                out.write(f"{stamp} {one_line(sample)}\n")
            out.flush()
    except asyncio.CancelledError:
        pass  # Ctrl-C: asyncio cancels the task; leave quietly with exit 0
    finally:
        if live:
            out.write("\x1b[?25h\n")
            out.flush()
        await sampler.aclose()
    return 0


async def _run_remote(args: argparse.Namespace, remote: Any, interval: float, top: int) -> int:
    """Another machine's figures (`monitor.remote.RemoteMonitor`), as lines or JSON Lines."""
    from pislm_tui.monitor.report import one_line

    shown, count = 0, 1 if args.once else args.count
    try:
        await remote.sample(detail=True, wait_slow=True)  # the CPU baseline
        while count is None or shown < count:
            await asyncio.sleep(ONCE_INTERVAL if args.once else interval)
            sample = await remote.sample(detail=True, wait_slow=True)
            if remote.error is not None and args.once:
                raise remote.error
            shown += 1
            if args.json and args.once:
                print_json(sample.to_json())
            elif args.json:
                sys.stdout.write(json.dumps(sample.to_json(), ensure_ascii=False) + "\n")
            elif args.once:
                _print_page(sample, sys.stdout, top)
            else:
                sys.stdout.write(f"{datetime.now():%H:%M:%S} {one_line(sample)}\n")
            sys.stdout.flush()
    except asyncio.CancelledError:
        pass
    finally:
        await remote.aclose()
    return 0


def _print_page(sample: object, out: TextIO, top: int) -> None:
    from pislm_tui.monitor.report import page

    width = shutil.get_terminal_size((80, 24)).columns
    out.write("\n".join(page(sample, width=width, top=top)) + "\n")  # type: ignore[arg-type]


def _redraw(sample: object, out: TextIO, last: list[str], interval: float, top: int) -> list[str]:
    """Rewrite the screen in place, and only when the page changed."""
    from pislm_tui.monitor.report import page

    size = shutil.get_terminal_size((80, 24))
    header = f"pislm monitor · every {interval:g} s · Ctrl-C quits"
    lines = [header, *page(sample, width=size.columns, top=top, clip=True)][
        : max(1, size.lines - 1)
    ]  # type: ignore[arg-type]
    if lines != last:
        out.write("\x1b[H" + "".join(f"{line}\x1b[K\n" for line in lines) + "\x1b[J")
    return lines
