"""Structured output: a model's answer as a pydantic object, through instructor over the
server's OpenAI-compatible `/v1` API, with validation retries counted. Each attempt is reported
as it starts (instructor's `completion:kwargs` hook; `parse:error` says why the one before was
rejected) and the whole question has a time limit, so a waiting screen can say what goes on.

openai and instructor cost ~1.8 s to import, so they are imported on the first extraction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from pislm_tui.backend.errors import (
    PislmError,
    ServerError,
)

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend

T = TypeVar("T", bound=BaseModel)
Mode = Literal["json", "json_schema"]
Clock = Callable[[], float]


class ExtractionFailed(PislmError):
    """The model never produced an answer of the right shape within the allowed retries."""

    def __init__(self, model: str, attempts: int, last_error: str) -> None:
        self.model = model
        self.attempts = attempts
        self.last_error = last_error
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        super().__init__(
            f"{model} gave no valid answer in {tries} (last problem: {last_error})",
            "try again, pick a larger model, or raise tools.max_retries",
        )


class ExtractionTimeout(PislmError):
    """No valid answer within the time allowed for the whole question (every retry included)."""

    def __init__(self, model: str, seconds: float, attempts: int) -> None:
        self.model = model
        self.seconds = seconds
        self.attempts = attempts
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        super().__init__(
            f"{model} gave no valid answer within {seconds:g} s ({tries})",
            "try a smaller or faster model, lower tools.max_retries, or raise tools.timeout",
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt that is starting: `number` of at most `of`; `rejected` says why the answer
    before it was sent back (None for the first)."""

    number: int
    of: int
    rejected: str | None = None

    @property
    def retry(self) -> int:
        return self.number - 1


AttemptCallback = Callable[[Attempt], None]


@dataclass(frozen=True, slots=True)
class Extraction(Generic[T]):
    value: T
    retries: int  # answers rejected before the accepted one
    elapsed_s: float


async def extract(
    backend: Backend,
    model: str,
    response_model: type[T],
    messages: Sequence[Mapping[str, Any]],
    *,
    mode: Mode = "json",
    max_retries: int = 10,
    timeout: float | None = None,
    on_attempt: AttemptCallback | None = None,
    clock: Clock = time.perf_counter,
) -> Extraction[T]:
    """Ask `model` for a `response_model`; a malformed or out-of-range answer is sent back to
    the model with pydantic's error, up to `max_retries` times. `on_attempt` hears of each
    attempt as it starts. Raises `ExtractionFailed` when every attempt fails,
    `ExtractionTimeout` past `timeout` seconds, or the backend's errors (unreachable...)."""
    instructor = await preload()
    from instructor.core import Hooks, IncompleteOutputException, InstructorRetryException

    rejected: list[Exception] = []
    attempts = 0

    def attempt_starts(*_args: Any, **_kwargs: Any) -> None:
        nonlocal attempts
        attempts += 1
        if on_attempt is not None:
            why = _short_error(rejected[-1]) if rejected else None
            on_attempt(Attempt(attempts, max_retries + 1, why))

    hooks = Hooks()
    hooks.on("completion:kwargs", attempt_starts)
    hooks.on("parse:error", lambda error, **_: rejected.append(error))
    client = instructor.from_openai(
        backend.openai_client(),
        mode=instructor.Mode.JSON_SCHEMA if mode == "json_schema" else instructor.Mode.JSON,
    )
    started = clock()
    limit = asyncio.timeout(timeout)
    try:
        async with limit:
            value = await client.chat.completions.create(
                model=model,
                response_model=response_model,
                messages=[dict(m) for m in messages],
                max_retries=max_retries,
                hooks=hooks,
            )
    except TimeoutError as exc:
        if limit.expired():
            raise ExtractionTimeout(model, timeout or 0, max(attempts, 1)) from None
        raise _translate(exc, backend, model) from None
    except InstructorRetryException as exc:
        cause = exc.__cause__
        if cause is not None and not _is_parse_error(cause):
            raise _translate(cause, backend, model) from None
        attempts = exc.n_attempts or len(rejected) or 1
        raise ExtractionFailed(model, attempts, _short_error(cause or exc)) from None
    except IncompleteOutputException:
        raise ExtractionFailed(
            model, len(rejected) + 1, "the answer was cut off before it was complete"
        ) from None
    except PislmError:
        raise
    except Exception as exc:
        raise _translate(exc, backend, model) from None
    return Extraction(value=value, retries=len(rejected), elapsed_s=clock() - started)


async def preload() -> Any:
    """Import instructor and openai in a thread: the ~1.8 s import must not freeze the UI, nor
    count in a result's elapsed time. Returns the instructor module."""
    import asyncio

    module = await asyncio.to_thread(_load_instructor)
    _quiet_instructor_logs()
    return module


def _load_instructor() -> Any:
    # `import instructor` and `import openai` alone are cheap: both load their parts on first
    # attribute access, so touch what extract() uses (a client that never connects).
    import instructor
    import openai
    from instructor.core import Hooks  # noqa: F401

    client = openai.AsyncOpenAI(api_key="-", base_url="http://127.0.0.1:9/v1")
    _ = instructor.from_openai(client, mode=instructor.Mode.JSON).chat.completions
    return instructor


def _quiet_instructor_logs() -> None:
    # instructor logs every failed attempt at ERROR; with no handler configured Python would
    # print them on stderr, over the TUI. Our own error message says what went wrong.
    logger = logging.getLogger("instructor")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _is_parse_error(exc: BaseException) -> bool:
    """An answer of the wrong shape (what instructor retries), as opposed to a failed request."""
    import json

    import pydantic
    from instructor.core import AsyncValidationError, ResponseParsingError

    return isinstance(
        exc,
        pydantic.ValidationError
        | json.JSONDecodeError
        | ResponseParsingError
        | AsyncValidationError,
    )


def _short_error(exc: BaseException) -> str:
    """pydantic's first error, in one line: `lat: Input should be less than or equal to 90`."""
    import pydantic

    if isinstance(exc, pydantic.ValidationError):
        errors = exc.errors()
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            msg = str(first.get("msg", "invalid"))
            if first.get("type") == "json_invalid":
                return "the answer was not valid JSON"
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            return f"{where}: {msg}{more}" if where else f"{msg}{more}"
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _translate(exc: BaseException, backend: Backend, model: str) -> PislmError:
    """openai's exceptions as ours, with the backend's own mapping; anything unexpected from
    instructor becomes a server error rather than a traceback."""
    from pislm_tui.backend.openai_errors import translate_openai_error

    try:
        return translate_openai_error(
            exc,
            url=backend.url,
            read_timeout=getattr(backend, "read_timeout", None),
            model=model,
            kind=backend.kind,
        )
    except Exception:
        return ServerError(None, f"{type(exc).__name__}: {exc}")
