"""`pislm models | pull | rm | ps`: the `ollama list/pull/rm/ps` set (`pislm bench`, the speed
comparison, is cli/bench.py). Progress bars (Rich) only when stdout is a terminal; plain lines
otherwise, so output can be piped and logged."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import EXIT_OK
from pislm_tui.cli.common import aligned_table, print_error, print_json
from pislm_tui.models.listing import (
    human_ago,
    loaded_json,
    model_json,
    short_digest,
    time_left,
)
from pislm_tui.sizes import decimal_bytes

if TYPE_CHECKING:
    from pislm_tui.cli.common import CliContext
    from pislm_tui.models.pull import PullTracker


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", parents=parents, help="list the installed models")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--fit",
        action="store_true",
        help="will each model fit in this machine's memory (weights + KV cache), and the "
        "fastest that fits by the bench history (★)",
    )
    p.add_argument(
        "--ctx", metavar="N", type=int, help="the context for --fit (default: chat num_ctx, 4096)"
    )
    p.set_defaults(handler=cmd_models)

    p = sub.add_parser("pull", parents=parents, help="download a model (progress per layer)")
    p.add_argument("name", metavar="NAME", help="e.g. llama3.2:1b")
    p.set_defaults(handler=cmd_pull)

    p = sub.add_parser("rm", parents=parents, help="delete installed models")
    p.add_argument("names", metavar="NAME", nargs="+")
    p.set_defaults(handler=cmd_rm)

    p = sub.add_parser("ps", parents=parents, help="list the models loaded in memory")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_ps)


def _now() -> datetime:
    return datetime.now().astimezone()


# -- models / ps ------------------------------------------------------------------------------


async def cmd_models(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.fit or args.ctx is not None:
        from pislm_tui.cli.fit import models_fit

        return await models_fit(args, ctx)
    models = await ctx.backend.list_models()
    if args.json:
        print_json({"models": [model_json(m) for m in models]})
        return EXIT_OK
    if not models:
        print("no models installed — pull one with `pislm pull llama3.2:1b`")
        return EXIT_OK
    now = _now()
    rows = [
        (
            m.name,
            short_digest(m.digest),
            decimal_bytes(m.size),
            m.family or "—",
            m.parameter_size or "—",
            m.quantization or "—",
            human_ago(m.modified_at, now),
        )
        for m in models
    ]
    print(aligned_table(("NAME", "ID", "SIZE", "FAMILY", "PARAMS", "QUANT", "MODIFIED"), rows))
    return EXIT_OK


async def cmd_ps(args: argparse.Namespace, ctx: CliContext) -> int:
    loaded = await ctx.backend.loaded()
    now = _now()
    if args.json:
        print_json({"models": [loaded_json(m, now) for m in loaded]})
        return EXIT_OK
    if not loaded:
        print("no model is loaded")
        return EXIT_OK
    rows = [
        (
            m.name,
            decimal_bytes(m.size),
            m.processor,
            str(m.context_length or "—"),
            time_left(m.expires_at, now),
        )
        for m in loaded
    ]
    print(aligned_table(("NAME", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"), rows))
    return EXIT_OK


# -- rm ---------------------------------------------------------------------------------------


async def cmd_rm(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.backend.errors import ModelNotFound, PislmError

    failed: PislmError | None = None
    for name in args.names:
        try:
            await ctx.backend.delete(name)
        except ModelNotFound as exc:
            # Not "pull it": the user wants it gone, and it is not there.
            print_error(f"model '{name}' is not installed{await _near_names(ctx, name)}")
            failed = failed or exc
            continue
        except PislmError as exc:
            print_error(str(exc))
            failed = failed or exc
            continue
        print(f"deleted '{name}'")
    return failed.exit_code if failed else EXIT_OK


async def _near_names(ctx: CliContext, name: str) -> str:
    """` — did you mean a or b?` from the installed models (`pislm models` lists them all)."""
    import difflib

    from pislm_tui.backend.errors import PislmError

    try:
        installed = [m.name for m in await ctx.backend.list_models()]
    except PislmError:
        return ""
    if not installed:
        return " — no model is installed"
    bases = {n.split(":", 1)[0]: n for n in installed}  # `llama` is near `llama3.2:1b` too
    near = difflib.get_close_matches(name, installed, n=3, cutoff=0.6)
    near += [bases[b] for b in difflib.get_close_matches(name, list(bases), n=3, cutoff=0.6)]
    near = list(dict.fromkeys(near))[:3]
    if not near:
        return " — `pislm models` lists the installed ones"
    return f" — did you mean {' or '.join(near)}?"


# -- pull -------------------------------------------------------------------------------------


async def cmd_pull(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.models.pull import check_model_name, pull_model

    name = check_model_name(args.name)
    if sys.stdout.isatty():
        await _pull_with_bars(ctx, name)
    else:
        printer = _PlainPullPrinter()
        await pull_model(ctx.backend, name, printer.update)
    return EXIT_OK


class _PlainPullPrinter:
    """One line per status change, and per layer at each 10 % step: readable in a log."""

    def __init__(self) -> None:
        self.status = ""
        self.steps: dict[str, int] = {}

    def update(self, tracker: PullTracker) -> None:
        status = tracker.status
        if status != self.status:
            self.status = status
            if status == "pulling manifest" or not status.startswith("pulling "):
                print(status, flush=True)  # layer lines are printed below, with their figures
        for layer in tracker.layers.values():
            if layer.fraction is None:
                continue
            step = int(layer.fraction * 10)
            if step > self.steps.get(layer.digest, -1):
                self.steps[layer.digest] = step
                done = f"{decimal_bytes(layer.completed)} / {decimal_bytes(layer.total)}"
                print(f"pulling {layer.short}: {step * 10:3d}% ({done})", flush=True)


async def _pull_with_bars(ctx: CliContext, name: str) -> None:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from pislm_tui.models.pull import pull_model

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=False),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as progress:
        status_task = progress.add_task(f"{name}: starting", total=None)

        def update(tracker: PullTracker) -> None:
            progress.update(status_task, description=f"{name}: {tracker.status}")
            for digest, layer in tracker.layers.items():
                if digest not in tasks:
                    tasks[digest] = progress.add_task(f"  {layer.short}", total=layer.total)
                progress.update(tasks[digest], total=layer.total, completed=layer.completed)
            if tracker.done:
                progress.update(status_task, total=1, completed=1)

        await pull_model(ctx.backend, name, update)
