"""`pislm monitor --hosts all|a,b`: one row per host (up/down, version, the model in memory,
CPU load, temperature, throttling, power where known), once (`--once`, `--json`) or every
interval. The rows are `hosts.fleet.Fleet`'s, as the Monitor tab shows them."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pislm_tui.cli.common import CliContext, print_json


async def run_hosts(args: argparse.Namespace, ctx: CliContext, interval: float) -> int:
    from pislm_tui.hosts.fleet import Fleet
    from pislm_tui.hosts.machines import machine_sampler
    from pislm_tui.hosts.named import pick_hosts

    settings = ctx.settings
    hosts = pick_hosts(settings, args.hosts)
    fleet = Fleet(settings, hosts, lambda h: machine_sampler(h, settings))
    shown = 0
    try:
        rows = await fleet.rows()  # the CPU baseline; load, temperature and the servers now
        while True:
            if args.once or shown:
                _print(rows, args.json, header=shown == 0)
                shown += 1
            if args.once or (args.count is not None and shown >= args.count):
                return 0
            await asyncio.sleep(interval)
            rows = await fleet.rows()
    except asyncio.CancelledError:
        return 0  # Ctrl-C
    finally:
        await fleet.aclose()


def _print(rows: list, as_json: bool, *, header: bool) -> None:  # type: ignore[type-arg]
    from pislm_tui.hosts.fleet import COLUMNS, row_cells

    if as_json:
        print_json({"hosts": [row.to_json() for row in rows]})
        return
    table = [row_cells(row) for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(COLUMNS)]
    lines = (
        [] if not header else ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    )
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
