"""A bench's figures and their forms: per model the warm-up and the measured runs (`ModelBench`),
the whole bench (`BenchResult`), the summary table the app and the CLI show, and the CSV/JSON
export. Rates come from the server's nanosecond figures (`GenerationStats`)."""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pislm_tui.backend.errors import UsageError
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.monitor.conditions import RunConditions


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
    # the machine's conditions of each measured run (None: not recorded), parallel to `runs`
    conditions: list[RunConditions | None] = field(default_factory=list)
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

    def _recorded(self) -> list[RunConditions]:
        return [c for c in self.conditions if c is not None]

    @property
    def peak_temp_c(self) -> float | None:
        temps = [c.peak_temp_c for c in self._recorded() if c.peak_temp_c is not None]
        return max(temps) if temps else None

    @property
    def min_arm_mhz(self) -> float | None:
        clocks = [c.min_arm_mhz for c in self._recorded() if c.min_arm_mhz is not None]
        return min(clocks) if clocks else None

    @property
    def throttled_runs(self) -> int | None:
        """Measured runs during which the Pi throttled (their speed is not comparable); None
        when the throttle bits were not known for any run."""
        known = [c for c in self._recorded() if c.start.throttle or c.end.throttle]
        return sum(c.throttled for c in known) if known else None

    @property
    def joules_per_token(self) -> Spread | None:
        return Spread.of([
            c.joules_per_token(r.eval_count) if c else None
            for r, c in zip(self.runs, self.conditions, strict=False)
        ])  # fmt: skip

    @property
    def energy_why(self) -> str | None:
        """Why there is no energy figure (the first recorded run's reason)."""
        recorded = self._recorded()
        if not recorded:
            return "conditions not recorded"
        return None if self.joules_per_token else recorded[0].energy_why

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
            "peak_temp_c": self.peak_temp_c,
            "min_arm_mhz": None if self.min_arm_mhz is None else round(self.min_arm_mhz),
            "throttled_runs": self.throttled_runs,
            "joules_per_token": spread(self.joules_per_token),
            "energy_unavailable": self.energy_why,
            "answer": self.answer,
            "warmup": self.warmup.to_json() if self.warmup else None,
            "run_figures": [r.to_json() for r in self.runs],
            "run_conditions": [
                c.to_json(r.eval_count) if c else None
                for r, c in zip(self.runs, self.conditions, strict=False)
            ],
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
    "eval_count_median", "peak_temp_c", "min_arm_mhz", "throttled_runs",
    "joules_per_token_median", "error",
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
        jpt = m.joules_per_token
        row["peak_temp_c"], row["min_arm_mhz"] = m.peak_temp_c, m.min_arm_mhz
        row["throttled_runs"] = m.throttled_runs
        row["joules_per_token_median"] = jpt.median if jpt else None
        row["error"] = m.error or ""
        rows.append(row)
    return rows


SUMMARY_HEADER = (
    "Model", "Load s", "Prompt t/s", "Eval t/s", "min", "max", "Total s", "Tokens",
    "Peak °C", "Low MHz", "Throttled", "J/tok",
)  # fmt: skip
NA = "n/a"


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def summary_rows(result: BenchResult) -> list[tuple[str, ...]]:
    """The table both the app and the CLI show: one row per model, `SUMMARY_HEADER` columns.
    Eval rate as median, min, max; the other figures as medians; load from the warm-up."""
    rows = []
    for m in result.models:
        if not m.runs:
            failed = "failed" if m.error else "—"
            rows.append((m.model, _f(m.load_s), *["—"] * 9, failed))
            continue
        ev, pe, total, count = m.eval_rate, m.prompt_eval_rate, m.total_s, m.eval_count
        rows.append((
            m.model,
            _f(m.load_s),
            _f(pe.median if pe else None, 1),
            # a speed measured while the Pi throttled is marked: it is not comparable
            _f(ev.median if ev else None) + ("!" if m.throttled_runs else ""),
            _f(ev.min if ev else None),
            _f(ev.max if ev else None),
            _f(total.median if total else None),
            _f(count.median if count else None, 0),
            *conditions_cells(m),
        ))  # fmt: skip
    return rows


def conditions_cells(m: ModelBench) -> tuple[str, str, str, str]:
    """Peak °C, lowest MHz, throttled runs ("YES 2/3", "no", "n/a") and J/token (median)."""
    peak, low, jpt = m.peak_temp_c, m.min_arm_mhz, m.joules_per_token
    throttled = m.throttled_runs
    mark = "no" if throttled == 0 else NA if throttled is None else f"YES {throttled}/{len(m.runs)}"
    return (
        NA if peak is None else f"{peak:.0f}",
        NA if low is None else f"{low:.0f}",
        mark,
        NA if jpt is None else f"{jpt.median:.2f}",
    )


# -- export -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BenchExport:
    csv: Path
    json: Path


def free_export_base(directory: Path, name: str) -> Path:
    """`directory/name` (created), or `name-2`, `-3`… when its .csv or .json is already there
    (two runs in the same second keep both)."""
    directory.mkdir(parents=True, exist_ok=True)
    base, n = directory / name, 1
    while base.with_suffix(".csv").exists() or base.with_suffix(".json").exists():
        n += 1
        base = directory / f"{name}-{n}"
    return base


def export_bench(result: BenchResult, directory: Path) -> BenchExport:
    """Write `bench-YYYYmmdd-HHMMSS.csv` and `.json` into `directory` (created if needed)."""
    stamp = result.started_at.strftime("%Y%m%d-%H%M%S")  # in the clock's own (local) zone
    try:
        base = free_export_base(directory, f"bench-{stamp}")
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
