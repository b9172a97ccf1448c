"""`pislm bench --hosts pi5,jetson --models llama3.2:1b`: the same models and prompt on each
host, one host after the other, in one table (`hosts.bench`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pislm_tui.backend.errors import EXIT_OK, EXIT_SERVER, UsageError
from pislm_tui.cli.common import CliContext, aligned_table, print_error, print_json


async def bench_on_hosts(args: argparse.Namespace, ctx: CliContext, prompt: str, runs: int) -> int:
    from pislm_tui.hosts.bench import HOSTS_HEADER, bench_hosts, hosts_rows
    from pislm_tui.hosts.named import pick_hosts
    from pislm_tui.models.bench_results import export_bench

    if not args.models:
        raise UsageError(
            "--hosts needs --models: the same model on each host",
            "e.g. pislm bench --hosts pi5,jetson --models llama3.2:1b",
        )
    settings = ctx.settings
    hosts = pick_hosts(settings, args.hosts)
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    def progress(host: Any, p: Any) -> None:
        print(f"{host.label} [{p.step}/{p.steps}] {p.describe()}", file=sys.stderr, flush=True)

    m = settings.models
    benches = await bench_hosts(
        settings, hosts, models, prompt, runs,
        unload=m.bench_unload and not args.keep_loaded,
        max_tokens=args.max_tokens or m.bench_max_tokens,
        run_timeout=args.timeout or m.bench_timeout,
        on_progress=progress,
    )  # fmt: skip
    exports = []
    if not args.no_export:
        exports = [
            export_bench(b.result, ctx.paths.bench_dir) for b in benches if b.result.measured()
        ]
    if args.json:
        print_json(
            {"hosts": [b.to_json() for b in benches], "export": [str(e.json) for e in exports]}
        )
    else:
        print(f"prompt: {prompt!r} · {runs} run(s) per model after a warm-up, host after host")
        print(
            aligned_table(HOSTS_HEADER, hosts_rows(benches), right=set(range(2, len(HOSTS_HEADER))))
        )
        print()
        for b in benches:  # whose heat the conditions columns show, or why they are n/a
            why = b.conditions.get("unavailable")
            read_on = b.conditions.get("read_on")
            print(f"{b.host.label}: conditions " + (f"n/a ({why})" if why else f"from {read_on}"))
        for e in exports:
            print(f"saved {e.csv}")
    failed = False
    for b in benches:
        if b.result.error:
            print_error(f"{b.host.label}: {b.result.error}")
            failed = True
        for mb in b.result.models:
            if mb.error and not b.result.error:
                print_error(f"{b.host.label}: {mb.model}: {mb.error}")
                failed = True
    return EXIT_SERVER if failed else EXIT_OK
