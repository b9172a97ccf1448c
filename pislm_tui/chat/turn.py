"""One streamed reply, from request to final figures, shared by the Chat tab and `pislm ask`.

The consumer of the stream does as little as possible per chunk: clean it (escape codes out),
append it to the reply and to a pending buffer. The Chat tab drains `pending` on a timer (a few
times a second) instead of touching widgets per token; the CLI passes `on_chunk` to print as
chunks arrive. Saving happens at a fixed cadence through `save`, never per token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pislm_tui.backend.base import Backend
from pislm_tui.backend.errors import PislmError, RequestTimeout, StreamInterrupted
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.chat.conversation import ChatMessage, ChatRequest
from pislm_tui.text import StreamCleaner


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
) -> LiveReply:
    """Stream `request` into `reply`. Returns when the reply ends, normally or broken:

    - ends normally: status "complete", figures from the final chunk;
    - the stream breaks after some text (cut connection, server error line, silence): the text is
      kept, status "error" with the reason; returns normally;
    - cancelled (Esc): status "stopped", saved, then `CancelledError` propagates;
    - fails before any text (server down, unknown model, bad request): the `PislmError` propagates
      and nothing is saved, so the caller can give the prompt back.
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

    try:
        stream = backend.chat(request.model, request.messages, **request.kwargs())
        async for chunk in stream:
            text = cleaner.feed(chunk.content) if chunk.content else ""
            thinking = thinking_cleaner.feed(chunk.thinking) if chunk.thinking else ""
            if text or thinking:
                add(text, thinking)
            if chunk.done:
                message.stats = chunk.stats
                message.done_reason = chunk.done_reason
                finish("complete")
                return reply
            if save is not None and clock() - last_save >= save_every_s:
                last_save = clock()
                save(reply.sync())
        # A stream that ends without its final chunk is a broken one (the backend says so too).
        raise StreamInterrupted("the stream ended before the reply was complete")
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
