"""A fair speed comparison of models: per model a warm-up request (not counted; it reports the
load time) then N measured runs of the same prompt. Rates come from the server's nanosecond
figures (`GenerationStats`), never from wall-clock time or rounded seconds. Between models the
previous one is unloaded (optional) so two models never compete for a Pi's RAM and cores, and
each warm-up measures a cold load.

Every request is capped (`max_tokens`, sent as `num_predict`) and timed out (`run_timeout`), so a
model that never stops, or a load that never ends, costs that model its figures, not the whole
bench. Only models that can chat are benched: an embedding model is refused before its load.

`BenchRunner` keeps its `result` up to date while it runs, so a cancelled bench still shows what
was measured. The figures, the summary table and the CSV/JSON export: `bench_results`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pislm_tui.backend.base import Backend
from pislm_tui.backend.errors import (
    BadResponse,
    PislmError,
    ServerUnreachable,
    Unsupported,
    UsageError,
)
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.backend.types import Message, ModelInfo
from pislm_tui.models.bench_results import BenchResult, ModelBench
from pislm_tui.models.details import ModelDetailsCache
from pislm_tui.models.listing import chat_model_names, lacks_chat
from pislm_tui.monitor.conditions import Recording, RunConditions
from pislm_tui.text import clean_output

if TYPE_CHECKING:
    from pislm_tui.monitor.remote import MachineSampler

DEFAULT_PROMPT = "What is the capital of France?"
DEFAULT_MAX_TOKENS = 256
DEFAULT_RUN_TIMEOUT = 300.0  # seconds for one request, the warm-up's load included
Phase = Literal["unload", "warm-up", "run", "failed", "done"]


class BenchTimeout(PislmError):
    """One request of the bench took longer than the run timeout (the model did not stop, or
    its load did not end)."""

    def __init__(self, model: str, what: str, seconds: float, max_tokens: int | None) -> None:
        self.model = model
        self.seconds = seconds
        cap = f" (now {max_tokens})" if max_tokens else ""
        super().__init__(
            f"the {what} did not finish within {seconds:g} s",
            "the model may not stop, or its load may take longer on this machine: lower "
            f"models.bench_max_tokens{cap}, raise models.bench_timeout, or bench a smaller model",
        )


class NotAChatModel(UsageError):
    """The bench measures chat replies; this model only embeds."""

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(
            "cannot chat (an embedding model), and the bench measures chat replies",
            "pick a chat model (`pislm models` lists them all)",
        )


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
    error: str | None = None  # phase "failed": why this model's figures stop here

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
        if self.phase == "failed":
            return f"{where} · failed: {self.error}"
        label = "warm-up" if self.phase == "warm-up" else f"run {self.run}/{self.runs}"
        if self.last is None:
            return f"{where} · {label}{' (loading)' if self.phase == 'warm-up' else ''}…"
        rate = self.last.eval_rate
        figures = f"{rate:.2f} tok/s" if rate is not None else "no rate"
        if self.phase == "warm-up" and self.last.load_s is not None:
            figures = f"loaded in {self.last.load_s:.2f} s · {figures}"
        return f"{where} · {label}: {figures}"


ProgressCallback = Callable[[BenchProgress], None]


class BenchRunner:
    def __init__(
        self,
        backend: Backend,
        models: Sequence[str],
        prompt: str = DEFAULT_PROMPT,
        runs: int = 3,
        *,
        unload: bool = True,
        max_tokens: int | None = DEFAULT_MAX_TOKENS,
        run_timeout: float | None = DEFAULT_RUN_TIMEOUT,
        now: Callable[[], datetime] = lambda: datetime.now(UTC).astimezone(),
        sampler: MachineSampler | None = None,
        drive: float | None = None,
    ) -> None:
        """`sampler`: each measured run records the machine's conditions through it (the app's
        own, whose timer reads it; `drive` seconds between readings taken here otherwise)."""
        models = list(dict.fromkeys(m.strip() for m in models if m.strip()))
        if not models:
            raise UsageError("no models to bench", "pick at least one model")
        if not prompt.strip():
            raise UsageError("the bench prompt is empty")
        if runs < 1:
            raise UsageError(f"runs must be at least 1, not {runs}")
        self.backend = backend
        self.now = now
        self.max_tokens = max_tokens
        self.run_timeout = run_timeout
        self.sampler = sampler
        self.drive = drive
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
                    if isinstance(exc, BenchTimeout):
                        await self._free(bench.model)  # it may still be generating
                    # Skipped steps of a failed model still count, so the bar reaches the end.
                    self._step = (index + 1) * (result.runs + 1)
                    report(self._progress(index, bench.model, "failed", 0, None, str(exc)))
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
        self,
        index: int,
        model: str,
        phase: Phase,
        run: int,
        last: GenerationStats | None,
        error: str | None = None,
    ) -> BenchProgress:
        return BenchProgress(
            model, index, len(self.result.models), phase, run, self.result.runs,
            self._step, self.steps, last, error,
        )  # fmt: skip

    async def _bench_model(self, index: int, bench: ModelBench, report: ProgressCallback) -> None:
        runs, model = self.result.runs, bench.model
        await self._check_can_chat(model)
        if self.result.unload:
            report(self._progress(index, model, "unload", 0, None))
            await self.backend.unload(model)  # a cold start for a fair load time
        report(self._progress(index, model, "warm-up", 0, None))
        bench.warmup, answer, _ = await self._one(model, "warm-up (with the load)", record=False)
        bench.answer = clean_output(answer).strip()
        self._step += 1
        report(self._progress(index, model, "warm-up", 0, bench.warmup))
        for run in range(1, runs + 1):
            report(self._progress(index, model, "run", run, None))
            stats, _, conditions = await self._one(model, f"run {run}/{runs}")
            bench.runs.append(stats)
            bench.conditions.append(conditions)
            self._step += 1
            report(self._progress(index, model, "run", run, stats))
        if self.result.unload:
            try:
                await self.backend.unload(model)  # free the RAM for the next model
            except ServerUnreachable:
                raise
            except PislmError:
                pass  # the figures are in; a failed unload must not discard them

    async def _check_can_chat(self, model: str) -> None:
        """Refuse an embedding model before loading it. A server that cannot say (no
        capabilities, or an OpenAI-compatible one) is given the benefit of the doubt."""
        try:
            details = await self.backend.show(model)
        except Unsupported:
            return
        if lacks_chat(details):
            raise NotAChatModel(model)

    async def _free(self, model: str) -> None:
        """Unload a model whose request was abandoned, so the next model gets the machine."""
        if self.result.unload:
            try:
                await self.backend.unload(model)
            except ServerUnreachable:
                raise
            except PislmError:
                pass

    async def _one(
        self, model: str, what: str, *, record: bool = True
    ) -> tuple[GenerationStats, str, RunConditions | None]:
        text: list[str] = []
        stats: GenerationStats | None = None
        options = {"num_predict": self.max_tokens} if self.max_tokens else None
        recording = None
        if record and self.sampler is not None:
            recording = Recording(self.sampler, drive=self.drive)
            await recording.start()
        try:
            async with asyncio.timeout(self.run_timeout):
                messages = [Message("user", self.result.prompt)]
                async for chunk in self.backend.chat(model, messages, options=options):
                    text.append(chunk.content)
                    if chunk.done:
                        stats = chunk.stats
        except BaseException as exc:
            if recording is not None:
                recording.abandon()
            if isinstance(exc, TimeoutError):
                raise BenchTimeout(model, what, self.run_timeout or 0, self.max_tokens) from None
            raise
        conditions = await recording.stop() if recording is not None else None
        if stats is None or stats.eval_count is None:
            raise BadResponse("the reply carried no timing figures", "the bench needs them")
        return stats, "".join(text), conditions


async def run_bench(
    backend: Backend,
    models: Sequence[str],
    prompt: str = DEFAULT_PROMPT,
    runs: int = 3,
    *,
    unload: bool = True,
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    run_timeout: float | None = DEFAULT_RUN_TIMEOUT,
    on_progress: ProgressCallback | None = None,
) -> BenchResult:
    runner = BenchRunner(
        backend, models, prompt, runs, unload=unload, max_tokens=max_tokens,
        run_timeout=run_timeout,
    )  # fmt: skip
    return await runner.run(on_progress)


async def chat_capable(
    backend: Backend, models: Sequence[ModelInfo], details: ModelDetailsCache | None = None
) -> list[str]:
    """The models a bench can measure, in listing order: the listing's chat models
    (`chat_model_names`), less those whose capabilities (`show`) say they only embed, such as
    an embedding model that the listing cannot tell (no family reported, no "embed" in its
    name). A model whose details cannot be read stays: the bench then says what went wrong.
    `details`: the app's shared /api/show cache (each model asked once between the tabs)."""
    names = chat_model_names(models)
    cache = details or ModelDetailsCache(backend)

    async def keep(name: str) -> bool:
        try:
            said = await cache.get(name)
        except PislmError:
            return True
        return said is None or not lacks_chat(said)

    flags = await asyncio.gather(*(keep(name) for name in names))
    return [name for name, ok in zip(names, flags, strict=True) if ok]
