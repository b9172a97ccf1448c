"""The tool scoreboard: which installed model gets the lab's function-calling tasks right, how
often, and at what cost.

Each model runs N rounds of three tasks, a gazetteer country per round: the capital and its
coordinates through instructor in JSON mode, the same in JSON-schema mode, and a native call
of the `distance` tool with the capital's and the user's coordinates. Per model: the share of
answers of a valid structure, the mean instructor retries, the share of right answers (the
capital's name and coordinates within 50 km; the tool called with both points within 50 km)
and the median latency. Given a photo of a known place (`PhotoTask`), each round of a vision
model adds the lab's image → city: the model describes the photo, then names the city. Stop it by cancelling the task that awaits `run()`: what finished is
kept in `runner.board`."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pislm_tui.backend.errors import PislmError, ServerUnreachable
from pislm_tui.tools.builtin import DISTANCE
from pislm_tui.tools.gazetteer import GAZETTEER, TOLERANCE_KM, Capital, capital_is_right
from pislm_tui.tools.geo import CityCoord, distance
from pislm_tui.tools.loop import LoopDone, ToolRan, run_tool_loop
from pislm_tui.tools.registry import ToolRegistry
from pislm_tui.tools.structured import Clock, ExtractionFailed, ExtractionTimeout, extract
from pislm_tui.tools.where import COUNTRY_PROMPT, where_image

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.chat.images import ImageAttachment
    from pislm_tui.config import ToolsSettings

TaskKind = Literal["json", "json_schema", "tool_call", "image_city"]
TASKS: tuple[TaskKind, ...] = ("json", "json_schema", "tool_call")
TASK_LABELS = {
    "json": "JSON mode",
    "json_schema": "JSON schema",
    "tool_call": "tool call",
    "image_city": "image → city",
}

TOOL_PROMPT = (
    "Use the distance tool to find how far {city}, {country} (latitude {lat}, longitude {lon}) "
    "is from {origin} (latitude {olat}, longitude {olon}), then answer in one sentence."
)


@dataclass(frozen=True, slots=True)
class PhotoTask:
    """The lab's image → city, for vision models: a photo and the place it shows (its name,
    and coordinates that the answer must be within 50 km of)."""

    image: ImageAttachment
    place: Capital


@dataclass(frozen=True, slots=True)
class TaskResult:
    model: str
    task: TaskKind
    country: str
    round: int
    valid: bool  # an answer of the right shape (a valid tool call for the tool task)
    correct: bool
    retries: int | None  # instructor's rejected answers; None for the tool task
    latency_s: float
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": self.task,
            "country": self.country,
            "round": self.round,
            "valid": self.valid,
            "correct": self.correct,
            "retries": self.retries,
            "latency_s": round(self.latency_s, 3),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class ModelScore:
    model: str
    tasks: int
    valid_rate: float
    correct_rate: float
    mean_retries: float | None
    median_latency_s: float | None

    @classmethod
    def of(cls, model: str, results: list[TaskResult]) -> ModelScore:
        n = len(results)
        retries = [r.retries for r in results if r.retries is not None]
        return cls(
            model,
            n,
            sum(r.valid for r in results) / n if n else 0.0,
            sum(r.correct for r in results) / n if n else 0.0,
            statistics.fmean(retries) if retries else None,
            statistics.median([r.latency_s for r in results]) if results else None,
        )

    def rank_key(self) -> tuple[float, float, float, float]:
        """Right answers first, then valid structure, then fewer retries, then speed."""
        return (
            self.correct_rate,
            self.valid_rate,
            -(self.mean_retries or 0.0),
            -(self.median_latency_s or 0.0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tasks": self.tasks,
            "valid_rate": round(self.valid_rate, 4),
            "correct_rate": round(self.correct_rate, 4),
            "mean_retries": None if self.mean_retries is None else round(self.mean_retries, 3),
            "median_latency_s": None
            if self.median_latency_s is None
            else round(self.median_latency_s, 3),
        }


@dataclass
class Scoreboard:
    started_at: datetime
    models: list[str]
    runs: int
    results: list[TaskResult] = field(default_factory=list)
    cancelled: bool = False

    def scores(self) -> list[ModelScore]:
        """Per model that has results, best first."""
        by_model = {m: [r for r in self.results if r.model == m] for m in self.models}
        scores = [ModelScore.of(m, rs) for m, rs in by_model.items() if rs]
        return sorted(scores, key=ModelScore.rank_key, reverse=True)

    def best(self) -> ModelScore | None:
        """The model to use for tools: None when none got anything right."""
        scores = self.scores()
        return scores[0] if scores and scores[0].correct_rate > 0 else None

    def recommendation(self) -> str:
        best = self.best()
        if best is None:
            return "No recommendation: no model answered any task right."
        return (
            f"Best for tools: {best.model} ({best.correct_rate:.0%} right, "
            f"{best.valid_rate:.0%} valid structure)."
        )

    def to_json(self) -> dict[str, Any]:
        best = self.best()
        return {
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "runs": self.runs,
            "models": self.models,
            "cancelled": self.cancelled,
            "tolerance_km": TOLERANCE_KM,
            "scores": [s.to_json() for s in self.scores()],
            "recommended": best.model if best else None,
            "results": [r.to_json() for r in self.results],
        }


@dataclass(frozen=True, slots=True)
class ScoreProgress:
    done: int
    total: int
    model: str
    task: TaskKind
    country: str

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def describe(self) -> str:
        return (
            f"{self.done}/{self.total} · {self.model} · {TASK_LABELS[self.task]} · {self.country}"
        )


ProgressCallback = Callable[[ScoreProgress], None]


class ScoreboardRunner:
    def __init__(
        self,
        backend: Backend,
        settings: ToolsSettings,
        models: list[str],
        runs: int,
        *,
        clock: Clock = time.perf_counter,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
        photo: PhotoTask | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.runs = runs
        self.clock = clock
        self.photo = photo
        self.board = Scoreboard(now(), list(dict.fromkeys(models)), runs)
        self._vision: set[str] = set()  # the models that get the photo (known once run starts)

    def tasks_of(self, model: str) -> tuple[TaskKind, ...]:
        return (*TASKS, "image_city") if model in self._vision else TASKS

    @property
    def steps(self) -> int:
        return self.runs * sum(len(self.tasks_of(m)) for m in self.board.models)

    async def run(self, on_progress: ProgressCallback | None = None) -> Scoreboard:
        """Every task of every model; `ServerUnreachable` ends it (raised), any other failure
        counts against the model's task and the bench goes on."""
        if self.photo is not None:
            self._vision = await vision_models(self.backend, self.board.models)
        done = 0
        for model in self.board.models:
            for round_no in range(self.runs):
                capital = GAZETTEER[round_no % len(GAZETTEER)]
                for task in self.tasks_of(model):
                    if task == "image_city" and self.photo is not None:
                        capital = self.photo.place
                    if on_progress:
                        on_progress(ScoreProgress(done, self.steps, model, task, capital.country))
                    self.board.results.append(await self._task(model, task, capital, round_no))
                    done += 1
        if on_progress and self.board.models:
            last = self.board.results[-1]
            on_progress(ScoreProgress(done, self.steps, last.model, last.task, last.country))
        return self.board

    async def _task(
        self, model: str, task: TaskKind, capital: Capital, round_no: int
    ) -> TaskResult:
        started = self.clock()

        def result(valid: bool, correct: bool, retries: int | None, error: str = "") -> TaskResult:
            took = self.clock() - started
            return TaskResult(
                model, task, capital.country, round_no, valid, correct, retries, took, error
            )

        try:
            if task == "tool_call":
                return await self._tool_task(model, capital, result)
            if task == "image_city" and self.photo is not None:
                seen = await where_image(
                    self.backend,
                    self.settings,
                    self.photo.image,
                    model=model,
                    vision_model=model,
                    clock=self.clock,
                )
                right = capital_is_right(seen.city, seen.lat, seen.lon, capital)
                return result(True, right, seen.retries)
            found = await extract(
                self.backend,
                model,
                CityCoord,
                [{"role": "user", "content": COUNTRY_PROMPT.format(country=capital.country)}],
                mode=task,
                max_retries=self.settings.max_retries,
                timeout=self.settings.timeout,
                clock=self.clock,
            )
        except (ExtractionFailed, ExtractionTimeout) as exc:
            return result(False, False, max(exc.attempts - 1, 0), exc.message)
        except ServerUnreachable:
            raise
        except PislmError as exc:  # a model that cannot do the task: it scores nothing
            return result(False, False, None if task == "tool_call" else 0, str(exc))
        city = found.value
        right = capital_is_right(city.city, city.lat, city.lon, capital)
        return result(True, right, found.retries)

    async def _tool_task(
        self, model: str, capital: Capital, result: Callable[..., TaskResult]
    ) -> TaskResult:
        origin = self.settings.location
        prompt = TOOL_PROMPT.format(
            city=capital.city, country=capital.country, lat=capital.lat, lon=capital.lon,
            origin=origin.name, olat=origin.lat, olon=origin.lon,
        )  # fmt: skip
        calls: list[ToolRan] = []
        async for event in run_tool_loop(
            self.backend, model, prompt, ToolRegistry([DISTANCE]), max_rounds=2, clock=self.clock
        ):
            if isinstance(event, ToolRan):
                calls.append(event)
            elif isinstance(event, LoopDone):
                break
        good = [c for c in calls if c.outcome.ok and c.call.name == DISTANCE.name]
        if not good:
            why = calls[0].outcome.content if calls else "the model did not call the tool"
            return result(False, False, None, why)
        points = {(capital.lat, capital.lon), (origin.lat, origin.lon)}
        right = any(_same_points(c.call.arguments, points) for c in good)
        return result(True, right, None)


def _same_points(arguments: dict[str, Any], points: set[tuple[float, float]]) -> bool:
    """The call's two points are the expected two (in either order), each within 50 km."""
    a = (float(arguments["lat1"]), float(arguments["lon1"]))
    b = (float(arguments["lat2"]), float(arguments["lon2"]))
    p, q = sorted(points)

    def close(x: tuple[float, float], y: tuple[float, float]) -> bool:
        return distance(x, y) <= TOLERANCE_KM

    return (close(a, p) and close(b, q)) or (close(a, q) and close(b, p))


async def vision_models(backend: Backend, models: list[str]) -> set[str]:
    """Those of `models` whose /api/show lists vision (the only ones given the photo)."""
    from pislm_tui.models.details import ModelDetailsCache

    details = ModelDetailsCache(backend)
    found = set()
    for name in models:
        try:
            caps = await details.capabilities(name)
        except PislmError:
            continue
        if caps is not None and "vision" in caps:
            found.add(name)
    return found


async def tool_models(backend: Backend) -> list[str]:
    """The installed chat models that can call tools (by /api/show; kept when it does not
    say), in the server's order: the scoreboard's default line-up."""
    from pislm_tui.models.details import ModelDetailsCache
    from pislm_tui.models.listing import chat_model_names

    details = ModelDetailsCache(backend)
    names = chat_model_names(await backend.list_models())
    capable = []
    for name in names:
        caps = await details.capabilities(name)
        if caps is None or "tools" in caps:
            capable.append(name)
    return capable
