"""One streamed reply, from request to final figures, shared by the Chat tab and `pislm ask`.

The consumer of the stream does as little as possible per chunk: clean it (escape codes out),
append it to the reply and to a pending buffer. The Chat tab drains `pending` on a timer (a few
times a second) instead of touching widgets per token; the CLI passes `on_chunk` to print as
chunks arrive. Saving happens at a fixed cadence through `save`, never per token."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.base import Backend
from pislm_tui.backend.errors import PislmError, RequestTimeout, StreamInterrupted
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.backend.types import Message, ToolCall
from pislm_tui.chat.conversation import ChatMessage, ChatRequest
from pislm_tui.text import StreamCleaner, clean_output

if TYPE_CHECKING:
    from pislm_tui.tools.registry import ToolRegistry

NOTE_LIMIT = 300  # characters of a tool's answer shown in the reply (the model gets all of it)


@dataclass
class LiveReply:
    """A reply while it arrives. `message` is the stored form (content grows in place)."""

    message: ChatMessage
    pending: list[str] = field(default_factory=list)
    pending_thinking: list[str] = field(default_factory=list)
    tokens: int = 0  # content chunks so far (Ollama sends about one token per chunk)
    thinking_tokens: int = 0
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    last_token: float | None = None
    finished: bool = False
    _content: list[str] = field(default_factory=list)
    _thinking: list[str] = field(default_factory=list)

    def take(self) -> tuple[str, str]:
        """What arrived since the last call: (content, thinking)."""
        content, thinking = "".join(self.pending), "".join(self.pending_thinking)
        self.pending.clear()
        self.pending_thinking.clear()
        return content, thinking

    def rate(self) -> float | None:
        """Live tokens/s from arrival times (the final figures come from the server)."""
        count = self.tokens + self.thinking_tokens
        if count < 2 or self.first_token is None or self.last_token is None:
            return None
        span = self.last_token - self.first_token
        return (count - 1) / span if span > 0 else None

    def sync(self) -> ChatMessage:
        """Bring `message` up to date with what arrived (joined only when asked, not per chunk)."""
        self.message.content = "".join(self._content)
        self.message.thinking = "".join(self._thinking)
        return self.message


SaveFn = Callable[[ChatMessage], None]
ChunkFn = Callable[[str, str], None]


async def stream_reply(
    backend: Backend,
    request: ChatRequest,
    reply: LiveReply,
    *,
    save: SaveFn | None = None,
    save_every_s: float = 2.0,
    on_chunk: ChunkFn | None = None,
    clock: Callable[[], float] = time.monotonic,
    tools: ToolRegistry | None = None,
    max_rounds: int = 5,
) -> LiveReply:
    """Stream `request` into `reply`. Returns when the reply ends, normally or broken:

    - ends normally: status "complete", figures from the final chunk;
    - the stream breaks after some text (cut connection, server error line, silence): the text is
      kept, status "error" with the reason; returns normally;
    - cancelled (Esc): status "stopped", saved, then `CancelledError` propagates;
    - fails before any text (server down, unknown model, bad request): the `PislmError` propagates
      and nothing is saved, so the caller can give the prompt back.

    With `tools`, the model may call them: each call runs (its failures are answered to the
    model, never raised), a line in the reply says what ran and what came back, and the model
    is asked again, at most `max_rounds` times; the final figures are the last request's.
    """
    cleaner = StreamCleaner()
    thinking_cleaner = StreamCleaner()
    message = reply.message
    message.status = "streaming"
    message.model = request.model
    last_save = clock()

    def add(text: str, thinking: str) -> None:
        now = clock()
        if reply.first_token is None:
            reply.first_token = now
        reply.last_token = now
        if thinking:
            reply.thinking_tokens += 1
            reply._thinking.append(thinking)
            reply.pending_thinking.append(thinking)
        if text:
            reply.tokens += 1
            reply._content.append(text)
            reply.pending.append(text)
        if on_chunk is not None:
            on_chunk(text, thinking)

    def finish(status: str) -> None:
        held, held_thinking = cleaner.flush(), thinking_cleaner.flush()
        if held or held_thinking:
            add(held, held_thinking)
        reply.sync()
        message.status = status  # type: ignore[assignment]
        reply.finished = True
        if save is not None:
            save(message)

    schemas = tools.schemas() if tools is not None else None
    messages = list(request.messages)  # the tool rounds add to this request only
    rounds = 0
    try:
        while True:
            stream = backend.chat(request.model, messages, tools=schemas, **request.kwargs())
            round_from, calls = len(reply._content), list[ToolCall]()
            async for chunk in stream:
                text = cleaner.feed(chunk.content) if chunk.content else ""
                thinking = thinking_cleaner.feed(chunk.thinking) if chunk.thinking else ""
                if text or thinking:
                    add(text, thinking)
                calls.extend(chunk.tool_calls)
                if chunk.done:
                    break
                if save is not None and clock() - last_save >= save_every_s:
                    last_save = clock()
                    save(reply.sync())
            else:
                # A stream that ends without its final chunk is a broken one (the backend
                # says so too).
                raise StreamInterrupted("the stream ended before the reply was complete")
            if calls and tools is not None and rounds < max_rounds:
                rounds += 1
                if held := cleaner.flush():
                    add(held, "")
                said = "".join(reply._content[round_from:])
                messages.append(Message(role="assistant", content=said, tool_calls=calls))
                for call in calls:
                    outcome = await tools.call(call.name, call.arguments)
                    note = tool_note(call, outcome.content, outcome.ok)
                    add(note if reply._content else note.lstrip("\n"), "")
                    messages.append(
                        Message(role="tool", content=outcome.content, tool_name=call.name)
                    )
                continue
            message.stats = chunk.stats
            message.done_reason = chunk.done_reason
            finish("complete")
            return reply
    except asyncio.CancelledError:
        finish("stopped")
        raise
    except (StreamInterrupted, RequestTimeout) as exc:
        if not reply._content and not reply._thinking:
            raise
        message.error = str(exc)
        finish("error")
        return reply
    except PislmError as exc:
        if not reply._content and not reply._thinking:
            raise
        message.error = str(exc)
        finish("error")
        return reply


def call_text(name: str, arguments: dict[str, Any]) -> str:
    """`distance(lat1=48.85, lon1=2.35, …)` — arguments as the model sent them."""
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
    return clean_output(f"{name}({args})")


def tool_note(call: ToolCall, answer: str, ok: bool) -> str:
    """The line a tool call leaves in the reply (a Markdown quote of its own)."""
    shown = clean_output(" ".join(answer.split()))
    if len(shown) > NOTE_LIMIT:
        shown = shown[: NOTE_LIMIT - 1] + "…"
    mark = "→" if ok else "✗"
    return f"\n\n> ⚙ `{call_text(call.name, call.arguments)}` {mark} {shown}\n\n"


def reply_stats(reply: LiveReply) -> GenerationStats | None:
    """The server's figures; when the stream broke, what was measured here (marked as such)."""
    if reply.message.stats is not None:
        return reply.message.stats
    if reply.first_token is None or reply.last_token is None:
        return None
    ns = int((reply.last_token - reply.started) * 1e9)
    return GenerationStats(
        total_duration_ns=ns,
        eval_count=reply.tokens or None,
        eval_duration_ns=int((reply.last_token - reply.first_token) * 1e9) or None,
        client_measured=True,
    )
