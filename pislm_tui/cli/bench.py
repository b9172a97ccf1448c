"""`pislm bench`: a fair speed comparison of models (a warm-up, then N runs each: median, min,
max), exported to CSV/JSON and compared with the bench history; `--hosts` runs it on several
machines (cli/bench_hosts.py), `--tools` is the tool scoreboard (cli/tools.py). Progress goes to
stderr: a Rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import (
    EXIT_MODEL_NOT_FOUND,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    UsageError,
)
from pislm_tui.cli.common import aligned_table, print_error, print_json

if TYPE_CHECKING:
    from pislm_tui.cli.common import CliContext
    from pislm_tui.models.bench import BenchProgress
    from pislm_tui.models.bench_history import Comparison
    from pislm_tui.models.bench_results import BenchResult


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bench",
        parents=parents,
        help="compare models' speed: a warm-up, then N runs each (median, min, max)",
    )
    p.add_argument("--models", metavar="A,B", help="models to compare (default: the chat model)")
    p.add_argument(
        "--hosts",
        metavar="all|NAME,...",
        help="run the same bench on each named host in turn, one table",
    )
    p.add_argument("--prompt", metavar="TEXT", help="the prompt (default from the config)")
    p.add_argument("--runs", metavar="N", type=int, help="measured runs per model (default 3)")
    p.add_argument(
        "--keep-loaded",
        action="store_true",
        help="do not unload each model before and after its runs (config: models.bench_unload)",
    )
    p.add_argument(
        "--max-tokens",
        metavar="N",
        type=int,
        help="stop each reply after N tokens (default 256; config: models.bench_max_tokens)",
    )
    p.add_argument(
        "--timeout",
        metavar="S",
        type=float,
        help="give up on a model whose request takes longer than S seconds, its load included "
        "(default 300; config: models.bench_timeout)",
    )
    p.add_argument("--no-export", action="store_true", help="do not write the CSV/JSON files")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--tools",
        action="store_true",
        help="the tool scoreboard instead: which model gets the function-calling tasks right "
        "(default models: every installed one that can call tools)",
    )
    p.add_argument(
        "--image",
        metavar="PATH",
        help="with --tools: a photo of a known place; vision models also do the lab's "
        "image → city on it (needs --image-city)",
    )
    p.add_argument(
        "--image-city",
        metavar="CITY",
        help='the place the photo shows, e.g. "Cusco, Peru" (a capital of the scoreboard\'s '
        "gazetteer needs nothing more; elsewhere give --image-at)",
    )
    p.add_argument(
        "--image-at", metavar="LAT,LON", help="the place's coordinates (within 50 km is right)"
    )
    p.set_defaults(handler=cmd_bench)


async def _bench_models(args: argparse.Namespace, ctx: CliContext) -> list[str]:
    """--models, else the configured chat model, else the app's default chat model (never an
    embedding model: the bench measures chat replies)."""
    if args.models:
        return [m.strip() for m in args.models.split(",") if m.strip()]
    if ctx.settings.model:
        return [ctx.settings.model]
    from pislm_tui.models.choice import default_chat_model  # the app's rule

    return [await default_chat_model(ctx.backend)]


def _positive(value: float | None, flag: str) -> None:
    if value is not None and value <= 0:
        raise UsageError(f"{flag} must be more than 0, not {value:g}")


async def cmd_bench(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.tools:  # the tool scoreboard (cli/tools.py)
        from pislm_tui.cli.tools import cmd_tools_bench

        return await cmd_tools_bench(args, ctx)
    from pislm_tui.models.bench import BenchRunner
    from pislm_tui.models.bench_results import export_bench

    settings = ctx.settings.models
    runs = args.runs if args.runs is not None else settings.bench_runs
    prompt = args.prompt if args.prompt is not None else settings.bench_prompt
    _positive(args.max_tokens, "--max-tokens")
    _positive(args.timeout, "--timeout")
    if args.hosts:
        from pislm_tui.cli.bench_hosts import bench_on_hosts

        return await bench_on_hosts(args, ctx, prompt, runs)
    models = await _bench_models(args, ctx)
    # An OpenAI-compatible server cannot unload: its models stay as they are.
    unload = settings.bench_unload and not args.keep_loaded and ctx.backend.kind == "ollama"
    sampler = ctx.conditions_sampler()  # each run's temperature, clock, throttling, energy
    runner = BenchRunner(
        ctx.backend, models, prompt, runs, unload=unload,
        max_tokens=args.max_tokens or settings.bench_max_tokens,
        run_timeout=args.timeout or settings.bench_timeout,
        sampler=sampler, drive=1.0,
    )  # fmt: skip

    # Progress goes to stderr (stdout carries the result): a bar on a terminal, else lines.
    try:
        if sys.stderr.isatty():
            result = await _bench_with_bar(runner)
        else:
            result = await runner.run(_plain_bench_progress)
    finally:
        if sampler is not None:
            await sampler.aclose()

    export = None
    if not args.no_export and result.measured():
        export = export_bench(result, ctx.paths.bench_dir)
    history = _record_history(ctx, result)

    if args.json:
        data: dict[str, Any] = result.to_json()
        data["export"] = {"csv": str(export.csv), "json": str(export.json)} if export else None
        data["history"] = [c.to_json() for c in history]
        print_json(data)
    else:
        _print_bench(result)
        for comparison in history:
            print(comparison.text())
        if export:
            print(f"\nsaved {export.csv}\n      {export.json}")
    return _bench_exit_code(result)


def _record_history(ctx: CliContext, result: BenchResult) -> list[Comparison]:
    """Store the bench in the history and compare (blocking SQLite is fine in a command)."""
    from pislm_tui.models.bench_history import BenchHistory

    if not result.measured():
        return []
    history = BenchHistory(ctx.paths.bench_db)
    try:
        return history.record(result)
    finally:
        history.close()


def _bench_exit_code(result: BenchResult) -> int:
    failed = [m for m in result.models if m.error]
    for m in failed:
        print_error(f"{m.model}: {m.error}")
    if result.error:
        return 3
    if not failed:
        return EXIT_OK
    codes = {m.error_code for m in failed}
    if len(codes) == 1 and codes <= {EXIT_MODEL_NOT_FOUND, EXIT_USAGE}:
        return codes.pop()  # all missing, or all unfit (embedding models)
    return EXIT_SERVER


def _plain_bench_progress(p: BenchProgress) -> None:
    """A line on stderr as each request starts and as it ends (what it measured, or why the
    model failed), so a log shows at once what the bench is waiting for."""
    print(f"[{p.step}/{p.steps}] {p.describe()}", file=sys.stderr, flush=True)


async def _bench_with_bar(runner: Any) -> BenchResult:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("bench"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        refresh_per_second=2,  # the clock moves by seconds; over SSH every redraw is bytes
    ) as progress:
        task = progress.add_task("", total=runner.steps)

        def update(p: BenchProgress) -> None:
            progress.update(task, completed=p.step, description=p.describe())

        return await runner.run(update)


def _print_bench(result: BenchResult) -> None:
    from pislm_tui.models.bench_results import SUMMARY_HEADER, summary_rows

    print(f"prompt: {result.prompt!r} · {result.runs} run(s) per model after a warm-up")
    print(
        aligned_table(
            SUMMARY_HEADER, summary_rows(result), right=set(range(1, len(SUMMARY_HEADER)))
        )
    )
    if any(m.throttled_runs for m in result.models):
        print("! the Pi throttled during a run: that speed is not comparable")
    missing = {m.energy_why for m in result.measured() if m.energy_why}
    if missing:
        print(f"J/tok n/a: {'; '.join(sorted(missing))}")
    measured = [(m.model, m.eval_rate.median) for m in result.measured() if m.eval_rate]
    if measured:
        top = max(rate for _, rate in measured) or 1.0
        width = max(len(name) for name, _ in measured)
        print("\neval rate (median tok/s)")
        for name, rate in measured:
            bar = "█" * max(1, round(30 * rate / top))
            print(f"{name.ljust(width)}  {bar} {rate:.2f}")
