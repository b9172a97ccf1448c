"""The tool scoreboard kept: every task's result in SQLite (`<data dir>/tool_scores.db`, one row
per task, a bench per `started_at`), and a CSV (one row per model) and JSON (everything) export
beside the speed bench's, as `tools-bench-YYYYmmdd-HHMMSS.*`. Blocking: call from a thread."""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pislm_tui.backend.errors import UsageError
from pislm_tui.models.bench_results import free_export_base
from pislm_tui.tools.scoreboard import Scoreboard, TaskResult

DB_NAME = "tool_scores.db"
CSV_FIELDS = ["model", "tasks", "valid_rate", "correct_rate", "mean_retries", "median_latency_s",
              "recommended"]  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS task_results (
    bench TEXT NOT NULL,            -- the bench's start, ISO 8601
    model TEXT NOT NULL,
    task TEXT NOT NULL,             -- json | json_schema | tool_call
    country TEXT NOT NULL,
    round INTEGER NOT NULL,
    valid INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    retries INTEGER,
    latency_s REAL NOT NULL,
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS task_results_bench ON task_results (bench);
CREATE TABLE IF NOT EXISTS benches (
    bench TEXT PRIMARY KEY,         -- the bench's start, ISO 8601
    models TEXT NOT NULL,           -- JSON list, in the order asked
    runs INTEGER NOT NULL,
    cancelled INTEGER NOT NULL
);
"""


def _store_error(where: Path, exc: Exception) -> UsageError:
    return UsageError(
        f"cannot save the tool scoreboard in {where}: {exc}",
        "check the disk space and the permissions of the data directory",
    )


def save_scoreboard(board: Scoreboard, data_dir: Path) -> Path:
    path = data_dir / DB_NAME
    rows = [
        (board.started_at.isoformat(timespec="seconds"), r.model, r.task, r.country, r.round,
         int(r.valid), int(r.correct), r.retries, r.latency_s, r.error)
        for r in board.results
    ]  # fmt: skip
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as db:
            db.executescript(_SCHEMA)
            db.execute(
                "INSERT OR REPLACE INTO benches VALUES (?,?,?,?)",
                (rows[0][0] if rows else board.started_at.isoformat(timespec="seconds"),
                 json.dumps(board.models), board.runs, int(board.cancelled)),
            )  # fmt: skip
            db.executemany("INSERT INTO task_results VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        db.close()
    except (OSError, sqlite3.Error) as exc:
        raise _store_error(path, exc) from None
    return path


def load_scoreboards(data_dir: Path) -> list[Scoreboard]:
    """Every saved bench, oldest first (for the scoreboard's history and the tests)."""
    from datetime import datetime

    path = data_dir / DB_NAME
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path) as db:
            db.executescript(_SCHEMA)
            rows = db.execute("SELECT * FROM task_results ORDER BY rowid").fetchall()
            benches = {b: (json.loads(m), r, bool(c)) for b, m, r, c in db.execute(
                "SELECT bench, models, runs, cancelled FROM benches")}  # fmt: skip
        db.close()
    except sqlite3.Error as exc:
        raise _store_error(path, exc) from None
    boards: dict[str, Scoreboard] = {}
    for bench, model, task, country, round_no, valid, correct, retries, latency, error in rows:
        if bench not in boards:
            models, runs, cancelled = benches.get(bench, ([], 0, False))
            boards[bench] = Scoreboard(
                datetime.fromisoformat(bench), list(models), runs, [], cancelled
            )
        board = boards[bench]
        if model not in board.models:
            board.models.append(model)
        board.runs = max(board.runs, round_no + 1)
        result = TaskResult(
            model, task, country, round_no, bool(valid), bool(correct), retries, latency, error
        )
        board.results.append(result)
    return list(boards.values())


@dataclass(frozen=True, slots=True)
class ScoreboardExport:
    csv: Path
    json: Path


def export_scoreboard(board: Scoreboard, directory: Path) -> ScoreboardExport:
    stamp = board.started_at.strftime("%Y%m%d-%H%M%S")
    best = board.best()
    try:
        base = free_export_base(directory, f"tools-bench-{stamp}")
        csv_path, json_path = base.with_suffix(".csv"), base.with_suffix(".json")
        with csv_path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for score in board.scores():
                row = score.to_json()
                row["recommended"] = best is not None and best.model == score.model
                writer.writerow({k: row[k] for k in CSV_FIELDS})
        json_path.write_text(
            json.dumps(board.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise UsageError(
            f"cannot write the scoreboard to {directory}: {exc.strerror or exc}",
            "check the disk space and the permissions of the data directory",
        ) from None
    return ScoreboardExport(csv_path, json_path)
