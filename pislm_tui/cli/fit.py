"""`pislm models --fit [--ctx N] [--json]`: will each installed model fit in this machine's
memory (models/fit.py), and which one to pick: the fastest that fits by the bench history."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import EXIT_OK, PislmError, UsageError
from pislm_tui.cli.common import aligned_table, print_json
from pislm_tui.sizes import decimal_bytes

if TYPE_CHECKING:
    from pislm_tui.cli.common import CliContext
    from pislm_tui.models.fit import Fit


async def models_fit(args: argparse.Namespace, ctx: CliContext) -> int:
    from dataclasses import replace

    from pislm_tui.models.bench_history import BenchHistory, pick_fastest
    from pislm_tui.models.details import ModelDetailsCache
    from pislm_tui.models.fit import DEFAULT_NUM_CTX, estimate, judge
    from pislm_tui.models.listing import chat_model_names

    num_ctx = args.ctx or ctx.settings.chat.options.num_ctx or DEFAULT_NUM_CTX
    if num_ctx < 1:
        raise UsageError(f"--ctx must be at least 1, not {num_ctx}")
    backend = ctx.backend
    models = await backend.list_models()
    cache = ModelDetailsCache(backend)

    async def info(name: str) -> dict[str, Any]:
        try:
            details = await cache.get(name)
        except PislmError:
            return {}
        return details.model_info if details else {}

    infos = await asyncio.gather(*(info(m.name) for m in models))
    loaded = await backend.loaded()
    available, swap_free, why = await _memory(ctx)
    fits: list[Fit] = [
        judge(
            estimate(m.name, m.size, model_info, num_ctx),
            available=available,
            swap_free=swap_free,
            loaded=loaded,
            max_loaded=ctx.settings.models.max_loaded,
            why_unknown=why,
        )
        for m, model_info in zip(models, infos, strict=True)
    ]
    history = BenchHistory(ctx.paths.bench_db)
    try:
        medians = history.medians(backend.url)
    finally:
        history.close()
    chat = set(chat_model_names(models))
    ok = [f.need.model for f in fits if f.verdict in ("fits", "evict") and f.need.model in chat]
    pick = pick_fastest(medians, ok)
    fits = [replace(f, fastest=f.need.model == pick) for f in fits]
    if args.json:
        print_json({
            "num_ctx": num_ctx,
            "available_bytes": available,
            "swap_free_bytes": swap_free,
            "unknown_reason": why if available is None else None,
            "pick": pick,
            "models": [f.to_json() for f in fits],
        })  # fmt: skip
        return EXIT_OK
    _print(fits, num_ctx, available, swap_free, why)
    return EXIT_OK


async def _memory(ctx: CliContext) -> tuple[int | None, int | None, str]:
    """RAM available and free swap of the server's machine (this one, or the host's over its
    ssh), read by the sampler."""
    from pislm_tui.cli.common import REMOTE_CONDITIONS

    sampler = ctx.conditions_sampler()
    if sampler is None:
        return None, None, REMOTE_CONDITIONS.split(";")[0]
    try:
        sample = await sampler.sample(detail=False, wait_slow=True)  # over ssh: a real one
    finally:
        await sampler.aclose()
    if sample.ram is None:
        return None, None, sample.why("ram")
    return sample.ram.available, sample.swap.available if sample.swap else None, ""


def _print(
    fits: list[Fit], num_ctx: int, available: int | None, swap: int | None, why: str
) -> None:

    if available is None:
        print(f"memory unknown: {why}")
    else:
        print(f"num_ctx {num_ctx:,} · {decimal_bytes(available)} RAM available · "
              f"{decimal_bytes(swap or 0)} swap free")  # fmt: skip
    rows = [
        (
            ("★ " if f.fastest else "") + f.need.model,
            decimal_bytes(f.need.total),
            decimal_bytes(f.need.weights),
            "—" if f.need.kv_cache is None else decimal_bytes(f.need.kv_cache),
            f.verdict + (f" ({', '.join(f.evict)})" if f.evict else ""),
        )
        for f in fits
    ]
    print(aligned_table(("NAME", "NEED", "WEIGHTS", "KV CACHE", "FIT"), rows, right={1, 2, 3}))
    if any(f.fastest for f in fits):
        print("★ the fastest installed model that fits, by the bench history")
