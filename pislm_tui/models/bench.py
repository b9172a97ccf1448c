"""A fair speed comparison of models: per model a warm-up request (not counted; it reports the
load time) then N measured runs of the same prompt. Rates come from the server's nanosecond
figures (`GenerationStats`), never from wall-clock time or rounded seconds. Between models the
previous one is unloaded (optional) so two models never compete for a Pi's RAM and cores, and
each warm-up measures a cold load.

`BenchRunner` keeps its `result` up to date while it runs, so a cancelled bench still shows what
was measured. `export_bench` writes the result as CSV (the summary table) and JSON (everything)."""

from __future__ import annotations

import asyncio
import csv
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pislm_tui.backend.base import Backend
from pislm_tui.backend.errors import BadResponse, PislmError, ServerUnreachable, UsageError
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.backend.types import Message
from pislm_tui.text import clean_output

DEFAULT_PROMPT = "What is the capital of France?"
Phase = Literal["unload", "warm-up", "run", "done"]


@dataclass(frozen=True, slots=True)
class Spread:
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread | None:
        known = [v for v in values if v is not None]
        if not known:
            return None
        return cls(statistics.median(known), min(known), max(known))

    def to_json(self) -> dict[str, float]:
        return {"median": self.median, "min": self.min, "max": self.max}


@dataclass
class ModelBench:
    """The figures of one model. `runs` holds only the measured runs (not the warm-up)."""

    model: str
    planned_runs: int
    warmup: GenerationStats | None = None
    runs: list[GenerationStats] = field(default_factory=list)
    answer: str = ""  # what the model said in the warm-up (cleaned), to judge the quality too
    error: str | None = None
    error_code: int | None = None  # the CLI exit code of the error

    @property
    def complete(self) -> bool:
        return self.error is None and len(self.runs) == self.planned_runs

    @property
    def load_s(self) -> float | None:
        """The warm-up's load time: the cold load when the model was unloaded first."""
        return self.warmup.load_s if self.warmup else None

    @property
    def eval_rate(self) -> Spread | None:
        return Spread.of([r.eval_rate for r in self.runs])

    @property
    def prompt_eval_rate(self) -> Spread | None:
        return Spread.of([r.prompt_eval_rate for r in self.runs])

    @property
    def total_s(self) -> Spread | None:
        return Spread.of([r.total_s for r in self.runs])

    @property
    def eval_count(self) -> Spread | None:
        return Spread.of(
            [float(r.eval_count) if r.eval_count is not None else None for r in self.runs]
        )

    def to_json(self) -> dict[str, Any]:
        def spread(s: Spread | None) -> dict[str, float] | None:
            return s.to_json() if s else None

        return {
            "model": self.model,
            "runs": len(self.runs),
            "complete": self.complete,
            "error": self.error,
            "load_duration_s": self.load_s,
            "prompt_eval_rate": spread(self.prompt_eval_rate),
            "eval_rate": spread(self.eval_rate),
            "total_duration_s": spread(self.total_s),
            "eval_count": spread(self.eval_count),
            "answer": self.answer,
            "warmup": self.warmup.to_json() if self.warmup else None,
            "run_figures": [r.to_json() for r in self.runs],
        }


@dataclass
class BenchResult:
    prompt: str
    runs: int
    models: list[ModelBench]
    host: str
    unload: bool
    started_at: datetime
    finished_at: datetime | None = None
    cancelled: bool = False
    error: str | None = None  # what stopped the whole bench (the server went away)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None and not self.cancelled and self.error is None

    def measured(self) -> list[ModelBench]:
        """Models with at least one measured run."""
        return [m for m in self.models if m.runs]

    def to_json(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "runs": self.runs,
            "host": self.host,
            "unload_between_models": self.unload,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "cancelled": self.cancelled,
            "error": self.error,
            "models": [m.to_json() for m in self.models],
        }


CSV_FIELDS = (
    "model", "runs", "load_duration_s",
    "prompt_eval_rate_median", "prompt_eval_rate_min", "prompt_eval_rate_max",
    "eval_rate_median", "eval_rate_min", "eval_rate_max",
    "total_duration_s_median", "total_duration_s_min", "total_duration_s_max",
    "eval_count_median", "error",
)  # fmt: skip


def csv_rows(result: BenchResult) -> list[dict[str, Any]]:
    rows = []
    for m in result.models:
        row: dict[str, Any] = {"model": m.model, "runs": len(m.runs), "load_duration_s": m.load_s}
        for name, spread in (
            ("prompt_eval_rate", m.prompt_eval_rate),
            ("eval_rate", m.eval_rate),
            ("total_duration_s", m.total_s),
        ):
            for stat in ("median", "min", "max"):
                row[f"{name}_{stat}"] = getattr(spread, stat) if spread else None
        count = m.eval_count
        row["eval_count_median"] = count.median if count else None
        row["error"] = m.error or ""
        rows.append(row)
    return rows


@dataclass(frozen=True, slots=True)
class BenchProgress:
    """Where the bench is: `step` requests done out of `steps`."""

    model: str
    model_index: int  # 0-based
    model_count: int
    phase: Phase
    run: int  # 0 = warm-up, 1..runs = measured runs
    runs: int
    step: int
    steps: int
    last: GenerationStats | None = None  # set once a request has finished: its figures

    @property
    def fraction(self) -> float:
        return self.step / self.steps if self.steps else 1.0

    def describe(self) -> str:
        """While a request runs (`last` None): what runs; after it: what it measured."""
        where = f"{self.model} ({self.model_index + 1}/{self.model_count})"
        if self.phase == "done":
            return "finished"
        if self.phase == "unload":
            return f"{where} · unloading for a cold start…"
        label = "warm-up" if self.phase == "warm-up" else f"run {self.run}/{self.runs}"
        if self.last is None:
            return f"{where} · {label}{' (loading)' if self.phase == 'warm-up' else ''}…"
        rate = self.last.eval_rate
        figures = f"{rate:.2f} tok/s" if rate is not None else "no rate"
        if self.phase == "warm-up" and self.last.load_s is not None:
            figures = f"loaded in {self.last.load_s:.2f} s · {figures}"
        return f"{where} · {label}: {figures}"


ProgressCallback = Callable[[BenchProgress], None]

SUMMARY_HEADER = ("Model", "Load s", "Prompt t/s", "Eval t/s", "min", "max", "Total s", "Tokens")


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def summary_rows(result: BenchResult) -> list[tuple[str, ...]]:
    """The table both the app and the CLI show: one row per model, `SUMMARY_HEADER` columns.
    Eval rate as median, min, max; the other figures as medians; load from the warm-up."""
    rows = []
    for m in result.models:
        if not m.runs:
            rows.append(
                (m.model, _f(m.load_s), "—", "—", "—", "—", "—", "failed" if m.error else "—")
            )
            continue
        ev, pe, total, count = m.eval_rate, m.prompt_eval_rate, m.total_s, m.eval_count
        rows.append((
            m.model,
            _f(m.load_s),
            _f(pe.median if pe else None, 1),
            _f(ev.median if ev else None),
            _f(ev.min if ev else None),
            _f(ev.max if ev else None),
            _f(total.median if total else None),
            _f(count.median if count else None, 0),
        ))  # fmt: skip
    return rows


class BenchRunner:
    def __init__(
        self,
        backend: Backend,
        models: Sequence[str],
        prompt: str = DEFAULT_PROMPT,
        runs: int = 3,
        *,
        unload: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC).astimezone(),
    ) -> None:
        models = list(dict.fromkeys(m.strip() for m in models if m.strip()))
        if not models:
            raise UsageError("no models to bench", "pick at least one model")
        if not prompt.strip():
            raise UsageError("the bench prompt is empty")
        if runs < 1:
            raise UsageError(f"runs must be at least 1, not {runs}")
        self.backend = backend
        self.now = now
        self.result = BenchResult(
            prompt=prompt,
            runs=runs,
            models=[ModelBench(m, runs) for m in models],
            host=backend.url,
            unload=unload,
            started_at=now(),
        )
        self._step = 0

    @property
    def steps(self) -> int:
        return len(self.result.models) * (self.result.runs + 1)

    async def run(self, on_progress: ProgressCallback | None = None) -> BenchResult:
        """Bench every model in turn. A model that fails (missing, cannot chat) gets its error
        and the others go on; an unreachable server stops the bench (`result.error`). Cancelling
        the task stops at once and marks the result cancelled."""
        result = self.result
        report = on_progress or (lambda _p: None)
        try:
            for index, bench in enumerate(result.models):
                try:
                    await self._bench_model(index, bench, report)
                except ServerUnreachable as exc:
                    bench.error, bench.error_code = str(exc), exc.exit_code
                    result.error = str(exc)
                    break
                except PislmError as exc:
                    bench.error, bench.error_code = str(exc), exc.exit_code
                # Skipped steps of a failed model still count, so the bar reaches the end.
                self._step = (index + 1) * (result.runs + 1)
        except asyncio.CancelledError:
            result.cancelled = True
            result.finished_at = self.now()
            raise
        result.finished_at = self.now()
        last = result.models[-1].model
        report(self._progress(len(result.models) - 1, last, "done", result.runs, None))
        return result

    def _progress(
        self, index: int, model: str, phase: Phase, run: int, last: GenerationStats | None
    ) -> BenchProgress:
        return BenchProgress(
            model, index, len(self.result.models), phase, run, self.result.runs,
            self._step, self.steps, last,
        )  # fmt: skip

    async def _bench_model(self, index: int, bench: ModelBench, report: ProgressCallback) -> None:
        runs, model = self.result.runs, bench.model
        if self.result.unload:
            report(self._progress(index, model, "unload", 0, None))
            await self.backend.unload(model)  # a cold start for a fair load time
        report(self._progress(index, model, "warm-up", 0, None))
        bench.warmup, answer = await self._one(model)
        bench.answer = clean_output(answer).strip()
        self._step += 1
        report(self._progress(index, model, "warm-up", 0, bench.warmup))
        for run in range(1, runs + 1):
            report(self._progress(index, model, "run", run, None))
            stats, _ = await self._one(model)
            bench.runs.append(stats)
            self._step += 1
            report(self._progress(index, model, "run", run, stats))
        if self.result.unload:
            try:
                await self.backend.unload(model)  # free the RAM for the next model
            except ServerUnreachable:
                raise
            except PislmError:
                pass  # the figures are in; a failed unload must not discard them

    async def _one(self, model: str) -> tuple[GenerationStats, str]:
        text: list[str] = []
        stats: GenerationStats | None = None
        async for chunk in self.backend.chat(model, [Message("user", self.result.prompt)]):
            text.append(chunk.content)
            if chunk.done:
                stats = chunk.stats
        if stats is None or stats.eval_count is None:
            raise BadResponse("the reply carried no timing figures", "the bench needs them")
        return stats, "".join(text)


async def run_bench(
    backend: Backend,
    models: Sequence[str],
    prompt: str = DEFAULT_PROMPT,
    runs: int = 3,
    *,
    unload: bool = True,
    on_progress: ProgressCallback | None = None,
) -> BenchResult:
    return await BenchRunner(backend, models, prompt, runs, unload=unload).run(on_progress)


# -- export -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchExport:
    csv: Path
    json: Path


def export_bench(result: BenchResult, directory: Path) -> BenchExport:
    """Write `bench-YYYYmmdd-HHMMSS.csv` and `.json` into `directory` (created if needed)."""
    stamp = result.started_at.strftime("%Y%m%d-%H%M%S")  # in the clock's own (local) zone
    try:
        directory.mkdir(parents=True, exist_ok=True)
        base = directory / f"bench-{stamp}"
        n = 1
        while base.with_suffix(".csv").exists() or base.with_suffix(".json").exists():
            n += 1
            base = directory / f"bench-{stamp}-{n}"
        csv_path, json_path = base.with_suffix(".csv"), base.with_suffix(".json")
        with csv_path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(csv_rows(result))
        json_path.write_text(
            json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise UsageError(
            f"cannot write the bench results to {directory}: {exc.strerror or exc}",
            "check the disk space and the permissions of the data directory",
        ) from None
    return BenchExport(csv_path, json_path)
