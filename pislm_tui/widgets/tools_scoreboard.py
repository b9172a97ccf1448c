"""The Scoreboard pane: which installed model does the lab's function-calling tasks best
(`tools/scoreboard.py`). Models and runs in, progress while it runs (Esc stops it, the tasks
done are kept), then a row per model, best first, and the recommendation. Every finished or
stopped run is saved (SQLite) and exported (CSV/JSON); the last saved one shows on opening."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.widgets import Button, DataTable, Input, Label, ProgressBar

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError, ServerUnreachable, UsageError
from pislm_tui.long_work import long_work
from pislm_tui.text import clean_output
from pislm_tui.tools.scoreboard import Scoreboard, ScoreboardRunner, ScoreProgress, tool_models
from pislm_tui.tools.scoreboard_store import export_scoreboard, load_scoreboards, save_scoreboard
from pislm_tui.tools.structured import Clock

COLUMNS = ("Model", "Valid", "Right", "Retries", "Latency", "Tasks")


def score_rows(board: Scoreboard) -> list[tuple[str, ...]]:
    return [
        (
            clean_output(s.model),
            f"{s.valid_rate:.0%}",
            f"{s.correct_rate:.0%}",
            "—" if s.mean_retries is None else f"{s.mean_retries:.1f}",
            _seconds(s.median_latency_s),
            str(s.tasks),
        )
        for s in board.scores()
    ]


def _home_short(path: Path) -> str:
    """`~/.local/share/pislm/bench` rather than the whole path."""
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"


class ScoreboardPane(AppAccess, Vertical):
    DEFAULT_CSS = """
    ScoreboardPane { height: 1fr; padding: 1 1 0 1; }
    ScoreboardPane .row { height: 1; margin-bottom: 1; }
    ScoreboardPane .row Label { width: auto; padding-right: 1; }
    ScoreboardPane #score-models { width: 1fr; margin-right: 1; }
    ScoreboardPane #score-runs { width: 6; margin-right: 1; }
    ScoreboardPane .row Button { width: auto; min-width: 0; }
    ScoreboardPane #score-progress-row { height: 1; }
    ScoreboardPane #score-bar { width: 24; }
    ScoreboardPane #score-status { width: 1fr; color: $text-muted; padding-left: 1; }
    ScoreboardPane #score-table { height: auto; max-height: 1fr; margin-top: 1; }
    ScoreboardPane #score-best { margin-top: 1; text-style: bold; width: 1fr; }
    ScoreboardPane #score-saved { color: $text-muted; width: 1fr; }
    ScoreboardPane .-failed { color: $error; }
    """
    running: var[bool] = var(False, bindings=True)  # the tab's "Esc Stop" shows only then

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock: Clock = time.perf_counter  # latencies (tests step it)
        self.now: Callable[[], datetime] = lambda: datetime.now().astimezone()

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label("Models")
            yield Input(placeholder="empty: every model that can call tools", id="score-models",
                        compact=True)  # fmt: skip
            yield Label("Runs")
            yield Input("3", id="score-runs", type="integer", compact=True)
            yield Button("Run", id="score-run", compact=True, variant="primary")
        with Horizontal(id="score-progress-row"):
            yield ProgressBar(total=1, show_eta=False, show_percentage=False, id="score-bar")
            yield Label("", id="score-status")
        table: DataTable[str] = DataTable(id="score-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Label("", id="score-best")
        yield Label("", id="score-saved")

    def on_mount(self) -> None:
        self.query_one("#score-runs", Input).value = str(self.pislm.settings.models.bench_runs)
        self._status("A run: a capital in JSON mode and by schema, a distance tool call.")
        self.load_last()

    def _status(self, text: str, *, failed: bool = False) -> None:
        label = self.query_one("#score-status", Label)
        label.update(Text(text))
        label.set_class(failed, "-failed")

    @long_work(group="tools-score-load")
    async def load_last(self) -> None:
        try:
            boards = await asyncio.to_thread(load_scoreboards, self.pislm.paths.data_dir)
        except PislmError as exc:
            self._status(str(exc), failed=True)
            return
        if boards and not self.running:
            last = boards[-1]
            self.show_board(last)
            stamp = last.started_at.strftime("%Y-%m-%d %H:%M")
            done = len(last.results)
            tasks = "1 task" if done == 1 else f"{done} tasks"
            stopped = f" (stopped after {tasks})" if last.cancelled else ""
            self.query_one("#score-saved", Label).update(Text(f"Last run: {stamp}{stopped}"))

    def show_board(self, board: Scoreboard) -> None:
        table = self.query_one("#score-table", DataTable)
        table.clear()
        for row in score_rows(board):
            table.add_row(*row)
        self.query_one("#score-best", Label).update(Text(board.recommendation()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.start()

    def start(self) -> None:
        if not self.running:
            self.run_scoreboard()

    def _progress(self, progress: ScoreProgress) -> None:
        bar = self.query_one("#score-bar", ProgressBar)
        bar.update(total=progress.total, progress=progress.done)
        self._status(clean_output(progress.describe()))

    @long_work(exclusive=True, group="tools-score")
    async def run_scoreboard(self) -> None:
        app = self.pislm
        runner: ScoreboardRunner | None = None
        try:
            runs = self._runs()
            wanted = self.query_one("#score-models", Input).value
            models = [m.strip() for m in wanted.split(",") if m.strip()]
            if not models:
                self._status("Finding the models that can call tools…")
                models = await tool_models(app.backend)
            if not models:
                raise UsageError("no installed model can call tools", "pull one, e.g. qwen3:1.7b")
            runner = ScoreboardRunner(
                app.backend, app.settings.tools, models, runs, clock=self.clock, now=self.now
            )
            self.query_one("#score-table", DataTable).clear()
            self.query_one("#score-best", Label).update("")
            self.query_one("#score-saved", Label).update("")
            board = await runner.run(self._progress)
        except asyncio.CancelledError:
            if runner is not None and runner.board.results:
                runner.board.cancelled = True
                done = len(runner.board.results)
                self._status(f"Stopped after {done} of {runner.steps} tasks (kept).")
                self.show_board(runner.board)
                await self._keep(runner.board)
            raise
        except PislmError as exc:
            self._status(str(exc), failed=True)
            if isinstance(exc, ServerUnreachable):
                app.check_connection()
            return
        self._status(f"Done: {len(board.models)} models, {runner.steps} tasks.")
        self.show_board(board)
        await self._keep(board)

    def _runs(self) -> int:
        text = self.query_one("#score-runs", Input).value.strip()
        runs = int(text) if text.lstrip("-").isdigit() else 0
        if not 1 <= runs <= 50:
            raise UsageError("runs must be a whole number from 1 to 50")
        return runs

    async def _keep(self, board: Scoreboard) -> None:
        paths = self.pislm.paths
        try:
            await asyncio.to_thread(save_scoreboard, board, paths.data_dir)
            export = await asyncio.to_thread(export_scoreboard, board, paths.bench_dir)
        except PislmError as exc:
            self.query_one("#score-saved", Label).update(Text(str(exc)))
            return
        saved = f"Saved {export.csv.name} and .json in {_home_short(export.csv.parent)}"
        self.query_one("#score-saved", Label).update(Text(saved))

    def on_worker_state_changed(self, event: Any) -> None:
        self.running = any(
            w.node is self and w.group == "tools-score" and w.is_running for w in self.workers
        )

    def stop(self) -> bool:
        running = [w for w in self.workers if w.node is self and w.group == "tools-score"
                   and w.is_running]  # fmt: skip
        for worker in running:
            worker.cancel()
        return bool(running)
