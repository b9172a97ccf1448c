"""Every bench run kept in SQLite (`bench.db` in the data dir), so a later run is compared with
the earlier ones: "llama3.2:1b: 8.9 tok/s today, 9.0 median of 5 earlier runs". One row per
model and bench, per server; throttled benches are kept but left out of the comparison (their
speed is not comparable). `pick_fastest` reads it for "pick for me".

`BenchHistory` is plain blocking SQLite; `AsyncBenchHistory` runs it in one thread of its own,
as the saved chats do (chat/async_store.py): code on an event loop uses that one."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pislm_tui.backend.errors import UsageError
from pislm_tui.models.bench_results import BenchResult

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_runs (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    model TEXT NOT NULL,
    started_at TEXT NOT NULL,
    eval_rate REAL NOT NULL,          -- median tok/s of the measured runs
    prompt_eval_rate REAL,
    runs INTEGER NOT NULL,
    peak_temp_c REAL,
    min_arm_mhz REAL,
    throttled_runs INTEGER,           -- NULL: throttle bits unknown
    joules_per_token REAL,
    prompt TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bench_runs_model ON bench_runs (host, model, started_at);
"""


@dataclass(frozen=True, slots=True)
class PastRun:
    model: str
    started_at: str
    eval_rate: float
    throttled: bool


@dataclass(frozen=True, slots=True)
class Comparison:
    model: str
    now: float  # tok/s of this bench
    earlier_median: float | None  # of the earlier comparable (not throttled) runs
    earlier_runs: int
    left_out: int  # earlier throttled runs not counted
    throttled_now: bool

    def text(self) -> str:
        head = f"{self.model}: {self.now:.1f} tok/s today"
        if self.throttled_now:
            head += " (throttled: not comparable)"
        if self.earlier_median is None:
            tail = "no earlier run to compare with"
        else:
            runs = "run" if self.earlier_runs == 1 else "runs"
            tail = f"{self.earlier_median:.1f} median of {self.earlier_runs} earlier {runs}"
        if self.left_out:
            tail += f" ({self.left_out} throttled left out)"
        return f"{head}, {tail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "eval_rate": self.now,
            "earlier_median": self.earlier_median,
            "earlier_runs": self.earlier_runs,
            "throttled_left_out": self.left_out,
            "throttled_now": self.throttled_now,
            "text": self.text(),
        }


class BenchHistory:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, check_same_thread=False)
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"cannot open the bench history {path}: {exc}",
                "check the disk space and the permissions of the data directory",
            ) from None

    def close(self) -> None:
        self.db.close()

    def earlier(self, host: str, model: str, before: str) -> list[PastRun]:
        rows = self.db.execute(
            "SELECT model, started_at, eval_rate, COALESCE(throttled_runs, 0) FROM bench_runs"
            " WHERE host = ? AND model = ? AND started_at < ? ORDER BY started_at",
            (host, model, before),
        ).fetchall()
        return [PastRun(m, at, rate, bool(t)) for m, at, rate, t in rows]

    def record(self, result: BenchResult) -> list[Comparison]:
        """Store the bench's measured models and compare each with its earlier runs."""
        started = result.started_at.isoformat()
        out = []
        with self.db:
            for m in result.measured():
                rate = m.eval_rate
                if rate is None:
                    continue
                past = self.earlier(result.host, m.model, started)
                out.append(compare(m.model, rate.median, bool(m.throttled_runs), past))
                pe, jpt = m.prompt_eval_rate, m.joules_per_token
                self.db.execute(
                    "INSERT INTO bench_runs (host, model, started_at, eval_rate,"
                    " prompt_eval_rate, runs, peak_temp_c, min_arm_mhz, throttled_runs,"
                    " joules_per_token, prompt) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        result.host, m.model, started, rate.median, pe.median if pe else None,
                        len(m.runs), m.peak_temp_c, m.min_arm_mhz, m.throttled_runs,
                        jpt.median if jpt else None, result.prompt,
                    ),
                )  # fmt: skip
        return out

    def medians(self, host: str) -> dict[str, float]:
        """Per model, the median tok/s of its comparable (not throttled) benches."""
        rows = self.db.execute(
            "SELECT model, eval_rate FROM bench_runs WHERE host = ?"
            " AND COALESCE(throttled_runs, 0) = 0",
            (host,),
        ).fetchall()
        by_model: dict[str, list[float]] = {}
        for model, rate in rows:
            by_model.setdefault(model, []).append(rate)
        return {model: statistics.median(rates) for model, rates in by_model.items()}


def compare(model: str, now: float, throttled: bool, past: Iterable[PastRun]) -> Comparison:
    past = list(past)
    fair = [p.eval_rate for p in past if not p.throttled]
    return Comparison(
        model=model,
        now=now,
        earlier_median=statistics.median(fair) if fair else None,
        earlier_runs=len(fair),
        left_out=len(past) - len(fair),
        throttled_now=throttled,
    )


def pick_fastest(medians: dict[str, float], candidates: Iterable[str]) -> str | None:
    """The fastest of `candidates` (installed models that fit) by bench history; None when
    none of them was ever benched."""
    known = [(medians[name], name) for name in candidates if name in medians]
    return max(known)[1] if known else None


class AsyncBenchHistory:
    """`BenchHistory` in one thread of its own (SQLite off the event loop, calls in order)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-history")
        self._db: BenchHistory | None = None

    async def _run(self, call: Callable[[BenchHistory], T]) -> T:
        def work() -> T:
            if self._db is None:
                self._db = BenchHistory(self.path)
            return call(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def record(self, result: BenchResult) -> list[Comparison]:
        return await self._run(lambda db: db.record(result))

    async def medians(self, host: str) -> dict[str, float]:
        return await self._run(lambda db: db.medians(host))

    async def close(self) -> None:
        if self._db is not None:
            await self._run(lambda db: db.close())
        self._pool.shutdown(wait=False)
