"""Drives one generation (chat, generate, /v1 chat): scripted reply, model loading, pacing,
faults, and the order of writes. The wire format is delegated to a `Wire`.

Ordering rule: every piece of state a test may assert on (stats, loaded models) is updated
*before* the final bytes go out, so a client that has its answer never races the server.
"""

from __future__ import annotations

from typing import Any, Protocol

from .behaviour import GenRequest, Plan, build_plan
from .reply import Reply
from .server import Exchange


class Wire(Protocol):
    """How one endpoint family frames a generation."""

    stream_type: str

    def chunk(self, kind: str, text: str) -> bytes: ...  # kind: "thinking" | "content"

    def tool_chunk(self, plan: Plan) -> bytes | None: ...

    def final_chunks(self, plan: Plan) -> list[bytes]: ...

    def error_chunk(self, message: str) -> bytes: ...

    def full(self, plan: Plan) -> Any: ...

    def error(self, x: Exchange, status: int, message: str) -> None: ...

    def raw(self, x: Exchange, reply: Reply) -> None: ...


def run(x: Exchange, req: GenRequest, wire: Wire) -> None:
    fake = x.fake
    name = req.model.name
    reply = fake._take_reply(name)
    seq = fake._next_seq()
    was_loaded = fake._load(name, req.keep_alive, req.num_ctx)
    try:
        scripted = reply is not None and reply is not fake.default_reply
        plan = build_plan(req, reply, seq, was_loaded, scripted=scripted)
        x.sleep(plan.reply.first_byte_delay)
        if plan.reply.status is not None:
            fake._release(name, req.keep_alive)
            wire.raw(x, plan.reply)
        elif req.stream:
            _stream(x, req, plan, wire)
        else:
            _whole(x, req, plan, wire)
    finally:
        fake._release(name, req.keep_alive)


def _stream(x: Exchange, req: GenRequest, plan: Plan, wire: Wire) -> None:
    r = plan.reply
    events = plan.events()
    for i in range(len(events) + 1):
        if r.drop_after == i:
            x.fake._release(req.model.name, req.keep_alive)
            x.drop()
            return
        if r.error_after == i:
            x.fake._release(req.model.name, req.keep_alive)
            if not x.streaming:  # nothing written yet: Ollama answers with a status code
                wire.error(x, 500, r.error_message)
                return
            x.write_chunk(wire.error_chunk(r.error_message))
            x.end_stream()
            return
        if not x.streaming:
            x.open_stream(wire.stream_type)
        if r.stall_after == i:
            x.sleep(24 * 3600)  # a stalled runner: ends (Stopping) when the server stops
        if i == len(events):
            break
        if r.rate:
            x.sleep(1.0 / r.rate)
        kind, text = events[i]
        x.write_chunk(wire.chunk(kind, text))
    tool = wire.tool_chunk(plan)
    if tool is not None:
        x.write_chunk(tool)
    x.fake._record_stats(req.model.name, plan.stats)
    x.fake._release(req.model.name, req.keep_alive)
    for data in wire.final_chunks(plan):
        x.write_chunk(data)
    x.end_stream()


def _whole(x: Exchange, req: GenRequest, plan: Plan, wire: Wire) -> None:
    r = plan.reply
    n = len(plan.events())
    per_token = 1.0 / r.rate if r.rate else 0.0
    if r.drop_after is not None and r.drop_after <= n:
        x.sleep(r.drop_after * per_token)
        x.drop()
        return
    if r.error_after is not None and r.error_after <= n:
        x.sleep(r.error_after * per_token)
        x.fake._release(req.model.name, req.keep_alive)
        wire.error(x, 500, r.error_message)
        return
    x.sleep(n * per_token)
    body = wire.full(plan)
    x.fake._record_stats(req.model.name, plan.stats)
    x.fake._release(req.model.name, req.keep_alive)
    x.send_json(200, body)
