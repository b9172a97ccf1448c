"""The tool-calling loop: the model answers or asks for tools; each call runs (validated) and
its result goes back to the model; at most `max_rounds` requests to the model."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import ServerError, UsageError
from pislm_tui.backend.types import Message, ToolCall
from pislm_tui.text import StreamCleaner
from pislm_tui.tools.registry import ToolOutcome, ToolRegistry
from pislm_tui.tools.structured import Clock

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.config import Location

SYSTEM_PROMPT = (
    "You can call tools to get facts you cannot know: distances between coordinates, the date "
    "and time, the Raspberry Pi's status, the user's documents. Call a tool only when it helps, "
    "then answer the user in plain words. The user is in {place} (latitude {lat}, longitude {lon})."
)


@dataclass(frozen=True, slots=True)
class RoundStarted:
    round: int


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    thinking: bool = False


@dataclass(frozen=True, slots=True)
class ToolRan:
    round: int
    call: ToolCall
    outcome: ToolOutcome


@dataclass(frozen=True, slots=True)
class LoopDone:
    answer: str
    rounds: int
    calls: int
    elapsed_s: float
    stopped: bool = False  # True: still calling tools when the rounds ran out

    @property
    def summary(self) -> str:
        rounds = "1 round" if self.rounds == 1 else f"{self.rounds} rounds"
        calls = "1 tool call" if self.calls == 1 else f"{self.calls} tool calls"
        return f"{rounds} · {calls} · {self.elapsed_s:.1f} s"


LoopEvent = RoundStarted | TextDelta | ToolRan | LoopDone


def system_prompt(location: Location) -> str:
    return SYSTEM_PROMPT.format(place=location.name, lat=location.lat, lon=location.lon)


async def run_tool_loop(
    backend: Backend,
    model: str,
    prompt: str,
    registry: ToolRegistry,
    *,
    max_rounds: int = 5,
    system: str | None = None,
    clock: Clock = time.perf_counter,
) -> AsyncIterator[LoopEvent]:
    """Events as they happen; the last one is a `LoopDone`. Backend errors propagate (the
    caller shows them); tool failures never do: they are answered to the model."""
    question = prompt.strip()
    if not question:
        raise UsageError("type a question first", "e.g. How far is Paris from Tokyo?")
    started = clock()
    messages: list[Message] = []
    if system:
        messages.append(Message(role="system", content=system))
    messages.append(Message(role="user", content=question))
    tools = registry.schemas()
    calls_made = 0
    for round_no in range(1, max_rounds + 1):
        yield RoundStarted(round_no)
        content, thinking, calls = [], [], []
        cleaner, think_cleaner = StreamCleaner(), StreamCleaner()
        try:
            async for chunk in backend.chat(model, messages, tools=tools):
                if chunk.thinking:
                    thinking.append(chunk.thinking)
                    if text := think_cleaner.feed(chunk.thinking):
                        yield TextDelta(text, thinking=True)
                if chunk.content:
                    content.append(chunk.content)
                    if text := cleaner.feed(chunk.content):
                        yield TextDelta(text)
                calls.extend(chunk.tool_calls)
        except ServerError as exc:
            if "does not support tools" in exc.server_message:
                raise exc.with_hint(
                    f"{model} cannot call tools; pick one that can (qwen3, llama3.2, mistral...)"
                ) from None
            raise
        if tail := cleaner.flush():
            yield TextDelta(tail)
        answer = "".join(content)
        if not calls:
            yield LoopDone(answer.strip(), round_no, calls_made, clock() - started)
            return
        if round_no == max_rounds:
            yield LoopDone(answer.strip(), round_no, calls_made, clock() - started, stopped=True)
            return
        messages.append(
            Message(role="assistant", content=answer, thinking="".join(thinking), tool_calls=calls)
        )
        for call in calls:
            outcome = await registry.call(call.name, call.arguments)
            calls_made += 1
            yield ToolRan(round_no, call, outcome)
            messages.append(Message(role="tool", content=outcome.content, tool_name=call.name))


async def collect(events: AsyncIterator[LoopEvent]) -> list[LoopEvent]:
    """All events of a loop (for the CLI and tests)."""
    return [event async for event in events]


def tool_calls_of(events: Sequence[LoopEvent]) -> list[ToolRan]:
    return [e for e in events if isinstance(e, ToolRan)]
