"""`BenchPanel`: pick models and a prompt, run the bench in the background (cancellable, with
progress), then a results table, a bar chart of the eval rates and the exported CSV/JSON paths.
The measuring is `models.bench.BenchRunner`; this widget only drives it and shows the result."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Checkbox, DataTable, Input, ProgressBar, SelectionList, Static
from textual.worker import Worker, WorkerState

from pislm_tui.app_access import AppAccess
from pislm_tui.backend.errors import PislmError
from pislm_tui.long_work import long_work
from pislm_tui.models.bench import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_RUN_TIMEOUT,
    BenchProgress,
    BenchRunner,
)
from pislm_tui.models.bench_history import AsyncBenchHistory, Comparison
from pislm_tui.models.bench_results import BenchExport, BenchResult, export_bench, summary_rows
from pislm_tui.monitor_feed import machine_of_server
from pislm_tui.text import short_path
from pislm_tui.widgets.bar_chart import Bar, BarChart
from pislm_tui.widgets.bench_hosts import BenchOnHosts
from pislm_tui.widgets.wait_clock import WaitClock, elapsed_text

if TYPE_CHECKING:
    from pislm_tui.monitor.remote import MachineSampler

MAX_RUNS = 50
# Shorter than the CLI's header so the table fits 80 columns; the title line gives the units.
# °C: peak SoC temperature, MHz: lowest Arm clock, Thr: throttled runs, J/tok: energy per token.
TABLE_HEADER = (
    "Model", "Load s", "Prompt", "Eval", "min", "max", "Total s", "Tokens",
    "°C", "MHz", "Thr", "J/tok",
)  # fmt: skip


def chart_bars(result: BenchResult) -> list[Bar]:
    bars = []
    for m in result.measured():
        ev = m.eval_rate
        if ev is None:
            continue
        spread = f" ({ev.min:.2f}–{ev.max:.2f})" if len(m.runs) > 1 else ""
        bars.append(Bar(m.model, ev.median, ev.min, ev.max, f"{ev.median:.2f} tok/s{spread}"))
    return bars


class BenchPanel(BenchOnHosts, AppAccess, VerticalScroll):
    DEFAULT_CSS = """
    BenchPanel {
        height: 1fr;
        padding: 0 1;
        #bench-setup { height: auto; }
        #bench-models { width: 34; height: auto; max-height: 8; border-title-color: $text-muted; }
        #bench-form { width: 1fr; height: auto; padding-left: 1; }
        .bench-row { height: 1; margin-top: 1; }
        .bench-label { width: 8; color: $text-muted; }
        #bench-prompt { width: 1fr; }
        #bench-runs { width: 6; }
        #bench-unload { margin-left: 2; }
        #bench-hosts-row { display: none; }
        &.-hosts #bench-hosts-row { display: block; }
        #bench-cancel { margin-left: 2; }
        #bench-status { height: auto; margin-top: 1; color: $text-muted; }
        #bench-progress { display: none; }
        &.-running #bench-progress { display: block; }
        #bench-table-title { margin-top: 1; color: $text-muted; display: none; }
        #bench-table { height: auto; display: none; }
        #bench-chart-title { margin-top: 1; color: $text-muted; display: none; }
        #bench-chart { display: none; }
        #bench-export { height: auto; margin-top: 1; color: $text-muted; }
        &.-results #bench-table, &.-results #bench-chart, &.-results #bench-chart-title,
        &.-results #bench-table-title {
            display: block;
        }
    }
    """
    BINDINGS = [
        Binding("ctrl+r", "run", "Run bench", id="models.bench_run"),
        Binding("escape", "cancel", "Cancel bench", id="models.bench_cancel"),
    ]

    class Started(Message):
        """A bench starts with these models (the Models tab says which will not fit)."""

        def __init__(self, models: list[str]) -> None:
            super().__init__()
            self.models = models

    class Finished(Message):
        """A bench ended (finished, cancelled or failed); `result` holds what was measured."""

        def __init__(self, result: BenchResult | None) -> None:
            super().__init__()
            self.result = result

    def __init__(
        self,
        *,
        prompt: str,
        runs: int,
        unload: bool = True,
        max_tokens: int | None = DEFAULT_MAX_TOKENS,
        run_timeout: float | None = DEFAULT_RUN_TIMEOUT,
        bench_dir: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC).astimezone(),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._prompt, self._runs, self._unload = prompt, runs, unload
        self.max_tokens, self.run_timeout = max_tokens, run_timeout
        self.bench_dir = bench_dir
        self.clock = clock
        self.runner: BenchRunner | None = None
        self.comparisons: list[Comparison] = []  # this bench against the earlier ones
        self.export: BenchExport | None = None
        self._step_text = ""  # what the running request is, before its elapsed time
        # How long the running request has taken: a load or a slow model shows it is alive.
        self.wait = WaitClock(self, self._show_elapsed)

    @property
    def running(self) -> bool:
        return self.has_class("-running")

    @property
    def result(self) -> BenchResult | None:
        return self.runner.result if self.runner else None

    def compose(self) -> ComposeResult:
        with Horizontal(id="bench-setup"):
            models = SelectionList[str](id="bench-models")
            models.border_title = "Models (space picks)"
            yield models
            with Vertical(id="bench-form"):
                with Horizontal(classes="bench-row"):
                    yield Static("Prompt", classes="bench-label")
                    yield Input(self._prompt, id="bench-prompt", compact=True)
                with Horizontal(classes="bench-row"):
                    yield Static("Runs", classes="bench-label")
                    yield Input(
                        str(self._runs), id="bench-runs", type="integer", compact=True, max_length=2
                    )
                    yield Checkbox(
                        "unload between models", self._unload, id="bench-unload", compact=True
                    )
                with Horizontal(classes="bench-row", id="bench-hosts-row"):
                    yield Static("Hosts", classes="bench-label")
                    yield Checkbox("on every host", id="bench-hosts", compact=True)
                with Horizontal(classes="bench-row"):
                    yield Button("Run", id="bench-run", variant="primary", compact=True)
                    yield Button("Cancel", id="bench-cancel", compact=True, disabled=True)
                yield Static(
                    "Pick models, then Run (ctrl+r). Each gets a warm-up (its load time), "
                    "then the measured runs.",
                    id="bench-status",
                    markup=False,
                )
                yield ProgressBar(total=1, show_eta=False, id="bench-progress")
        yield Static(
            "Rates in tokens/s, medians (Eval also min, max); Load: the warm-up's load",
            id="bench-table-title",
        )
        table = DataTable(id="bench-table", cursor_type="none", zebra_stripes=True)
        for i, label in enumerate(TABLE_HEADER):
            table.add_column(Text(label, justify="left" if i == 0 else "right"), key=str(i))
        yield table
        yield Static(
            "Eval rate, tokens/s — bar: median, line: up to the max", id="bench-chart-title"
        )
        yield BarChart(id="bench-chart", empty="")
        yield Static(id="bench-export", markup=False)

    def on_mount(self) -> None:
        self.show_hosts_choice()

    # -- the model list -------------------------------------------------------------------------

    def set_models(self, names: Sequence[str], preselect: str | None = None) -> None:
        """Offer `names`, keeping what was picked; `preselect` is picked too."""
        picker = self.query_one("#bench-models", SelectionList)
        picked = set(picker.selected)
        if preselect:
            picked.add(preselect)
        current = [picker.get_option_at_index(i).value for i in range(picker.option_count)]
        if current != list(names):
            picker.clear_options()
            picker.add_options([(name, name, name in picked) for name in names])
        elif preselect:
            picker.select(preselect)

    def pick(self, name: str) -> None:
        picker = self.query_one("#bench-models", SelectionList)
        if any(picker.get_option_at_index(i).value == name for i in range(picker.option_count)):
            picker.select(name)

    # -- run / cancel -----------------------------------------------------------------------------

    @on(Button.Pressed, "#bench-run")
    def _run_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_run()

    @on(Button.Pressed, "#bench-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def _read_form(self) -> tuple[list[str], str, int, bool] | None:
        picker = self.query_one("#bench-models", SelectionList)
        picked = set(picker.selected)
        options = [picker.get_option_at_index(i).value for i in range(picker.option_count)]
        models = [name for name in options if name in picked]  # in list order, not click order
        prompt = self.query_one("#bench-prompt", Input).value.strip()
        runs_text = self.query_one("#bench-runs", Input).value.strip()
        problem = None
        if not models:
            problem = "Pick at least one model (space toggles the highlighted one)."
        elif not prompt:
            problem = "The prompt is empty."
        elif not runs_text.isdigit() or not 1 <= int(runs_text) <= MAX_RUNS:
            problem = f"Runs must be a number from 1 to {MAX_RUNS}."
        if problem:
            self.notify(problem, title="Bench", severity="warning")
            return None
        return models, prompt, int(runs_text), self._unload_value()

    def _unload_value(self) -> bool:
        return self.query_one("#bench-unload", Checkbox).value

    def action_run(self) -> None:
        if self.running:
            self.notify("A bench is already running (Esc cancels it).", title="Bench")
            return
        form = self._read_form()
        if form is None:
            return
        models, prompt, runs, unload = form
        self._remember(prompt, runs, unload)
        if self.wants_hosts():
            self.start_on_hosts(models, prompt, runs)
            return
        self.host_benches = None
        sampler, drive = self._conditions_sampler()
        self.runner = BenchRunner(
            self.pislm.backend,
            models, prompt, runs, unload=unload, now=self.clock,
            max_tokens=self.max_tokens, run_timeout=self.run_timeout,
            sampler=sampler, drive=drive,
        )  # fmt: skip
        self.starting(models, self.runner.steps)
        self._run(self.runner)

    def starting(self, models: list[str], steps: int) -> None:
        self.export = None
        self.comparisons = []
        self.post_message(self.Started(models))
        self.add_class("-running")
        self.remove_class("-results")
        self.query_one("#bench-run", Button).disabled = True
        self.query_one("#bench-cancel", Button).disabled = False
        self.query_one("#bench-progress", ProgressBar).update(total=steps, progress=0)
        self.query_one("#bench-export", Static).update("")
        self._show_results()

    def _conditions_sampler(self) -> tuple[MachineSampler | None, float | None]:
        """The app's sampler when it reads the server's machine (here, or the host's over ssh;
        its timer reads it during the bench, else the bench reads it once a second itself)."""
        return machine_of_server(self.pislm.monitor, self.pislm.backend.url) or (None, None)

    def action_cancel(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "bench")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running  # Esc only means something while a bench runs
        return True

    def _remember(self, prompt: str, runs: int, unload: bool) -> None:
        """Keep the user's prompt and runs for next time (in the config file)."""
        settings = getattr(self.app, "settings", None)
        if settings is None:
            return
        m = settings.models
        if (m.bench_prompt, m.bench_runs, m.bench_unload) == (prompt, runs, unload):
            return
        m.bench_prompt, m.bench_runs, m.bench_unload = prompt, runs, unload
        self.pislm.save_settings(
            {"models": {"bench_prompt": prompt, "bench_runs": runs, "bench_unload": unload}}
        )

    @long_work(exclusive=True, group="bench", exit_on_error=False)
    async def _run(self, runner: BenchRunner) -> None:
        result = await runner.run(self.on_progress)
        if result.measured():  # kept for later comparisons; SQLite in its own thread
            history = AsyncBenchHistory(self.pislm.paths.bench_db)
            try:
                self.comparisons = await history.record(result)
            except PislmError as exc:
                self.comparisons = []
                self.notify(str(exc), title="Bench history", severity="warning")
            finally:
                await history.close()

    def on_progress(self, p: BenchProgress, prefix: str = "") -> None:
        self._step_text = f"{prefix}[{p.step}/{p.steps}] {p.describe()}"
        self.query_one("#bench-status", Static).update(self._step_text)
        self.query_one("#bench-progress", ProgressBar).update(total=p.steps, progress=p.step)
        if p.last is None and p.phase in ("unload", "warm-up", "run"):
            self.wait.start()  # a request is on its way
        else:
            self.wait.stop()
        if p.last is not None or p.phase == "failed":
            self._show_results()

    def _show_elapsed(self, seconds: float) -> None:
        if seconds >= 1:
            self.query_one("#bench-status", Static).update(
                f"{self._step_text} {elapsed_text(seconds)}"
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.node is not self or event.worker.group != "bench":
            return
        event.stop()
        if event.state not in (WorkerState.SUCCESS, WorkerState.CANCELLED, WorkerState.ERROR):
            return
        self.wait.stop()
        self.remove_class("-running")
        self.query_one("#bench-run", Button).disabled = False
        self.query_one("#bench-cancel", Button).disabled = True
        result = self.result
        status = self.query_one("#bench-status", Static)
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            text = (
                str(error) if isinstance(error, PislmError) else f"{type(error).__name__}: {error}"
            )
            status.update(Content.styled(f"The bench stopped: {text}", "$error"))
        elif event.state == WorkerState.CANCELLED:
            done = len(result.measured()) if result else 0
            status.update(f"Cancelled — {done} model(s) measured so far; nothing exported.")
        elif self.host_benches is not None:
            self.finish_on_hosts(status)
        elif result is not None:
            self._finish(result, status)
        self._show_results()
        self.call_after_refresh(self.scroll_end, animate=False)  # the results, at 80x24 too
        self.post_message(self.Finished(result))

    def _finish(self, result: BenchResult, status: Static) -> None:
        failed = [m for m in result.models if m.error]
        if result.error:
            status.update(Content.styled(f"The bench stopped: {result.error}", "$error"))
        elif failed:
            names = ", ".join(f"{m.model}: {m.error}" for m in failed)
            status.update(Content.styled(f"Finished with errors — {names}", "$warning"))
        else:
            count = len(result.models)
            status.update(
                f"Finished: {count} model(s) × {result.runs} run(s) after a warm-up each."
            )
        if not result.measured():
            return
        line = self.query_one("#bench-export", Static)
        try:
            self.export = export_bench(result, self.bench_dir)
        except PislmError as exc:
            line.update(Content.styled(f"Not exported: {exc}", "$error"))
            return
        notes = [c.text() for c in self.comparisons]
        if any(m.throttled_runs for m in result.models):
            notes.append("! the Pi throttled during a run: that speed is not comparable")
        saved = f"Saved {short_path(str(self.export.csv.with_suffix('')))}.{{csv,json}}"
        line.update("\n".join([*notes, saved]))

    # -- results ----------------------------------------------------------------------------------

    def _show_results(self) -> None:
        result = self.result
        table = self.query_one("#bench-table", DataTable)
        table.clear()
        on_hosts = self.host_benches is not None
        rows = self.host_table_rows() if on_hosts else summary_rows(result) if result else []
        rows = [row for row in rows if row[1:] != ("—",) * (len(row) - 1)]  # not measured yet
        if not rows:
            self.remove_class("-results")
            self.query_one("#bench-chart", BarChart).set_bars([])
            return
        for row in rows:
            cells = [Text(row[0])] + [Text(c, justify="right") for c in row[1:]]
            if row[-1] == "failed":
                cells = [Text(c, style="italic") for c in row[:-1]] + [
                    Text("failed", justify="right")
                ]
            table.add_row(*cells)
        bars = self.host_bars() if on_hosts or result is None else chart_bars(result)
        self.query_one("#bench-chart", BarChart).set_bars(bars)
        self.add_class("-results")
