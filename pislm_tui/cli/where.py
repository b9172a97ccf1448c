"""`pislm where` — not built yet (its issue adds it)."""

from __future__ import annotations

import argparse

from pislm_tui.backend.errors import UsageError


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    for name in ("where",):
        p = sub.add_parser(name, parents=parents, help="(not built yet)")
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(handler=_not_built)


def _not_built(args: argparse.Namespace, ctx: object) -> int:
    raise UsageError(f"'pislm {args.command}' is not built yet")
