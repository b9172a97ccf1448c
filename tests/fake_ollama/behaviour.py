"""What the fake "model" says and how long it pretends that took.

`build_plan` turns a normalised request (`GenRequest`) plus an optional scripted `Reply` into
a `Plan`: the thinking/content tokens, tool calls, done reason and the metrics that the final
chunk will report. The wire formats (native NDJSON, OpenAI SSE) live elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .knowledge import IMAGE_DESCRIPTION, find_embedded_schema, json_answer
from .models import FakeModel
from .reply import Reply, tokenize

DEFAULT_KEEP_ALIVE = 300.0  # seconds (Ollama's 5m default)
DEFAULT_NUM_CTX = 4096  # what /api/ps reports without options.num_ctx (CPU-only default)
WARM_LOAD_NS = 20_000_000  # reported load_duration when the model is already in memory
# Deterministic per-request jitter of the reported durations, cycling with the request number,
# so repeated runs differ a little like real ones do.
_JITTER = (1.0, 1.03, 0.97, 1.05, 0.95)


@dataclass
class Message:
    role: str
    content: str
    images: list[str] = field(default_factory=list)
    tool_name: str | None = None


@dataclass
class GenRequest:
    """A chat, generate or /v1 chat request after validation, in one shape."""

    model: FakeModel
    model_sent: str  # the name as the client wrote it (echoed back)
    messages: list[Message]
    fmt: str | dict[str, Any] | None = None  # None, "json" or a JSON schema
    think: bool | None = None  # None = not given
    tools: list[dict[str, Any]] = field(default_factory=list)
    stream: bool = True
    keep_alive: float = DEFAULT_KEEP_ALIVE  # seconds; math.inf = forever
    num_predict: int | None = None
    stop: list[str] = field(default_factory=list)
    num_ctx: int | None = None
    extra_prompt_tokens: int = 0  # e.g. a generate request's `context` array

    def texts(self) -> list[str]:
        """Message texts for the knowledge lookup; an image reads as what it shows."""
        out = []
        for m in self.messages:
            text = m.content
            if m.images:
                text = f"{text} {IMAGE_DESCRIPTION}".strip()
            out.append(text)
        return out

    def last(self, role: str) -> Message | None:
        return next((m for m in reversed(self.messages) if m.role == role), None)


@dataclass
class Plan:
    thinking: list[str]
    content: list[str]
    tool_calls: list[dict[str, Any]]  # {"id", "name", "arguments"(dict)}
    done_reason: str
    reply: Reply  # pacing and faults
    stats: dict[str, int]

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def thinking_text(self) -> str:
        return "".join(self.thinking)

    def events(self) -> list[tuple[str, str]]:
        return [("thinking", t) for t in self.thinking] + [("content", t) for t in self.content]


# -- request parsing helpers -----------------------------------------------------------------
_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_keep_alive(value: Any) -> float:
    """`keep_alive` like api.Duration: number = seconds, Go duration string, negative = forever
    (math.inf). Raises ValueError with Go's message for a bad string."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, bool):
        raise ValueError("json: cannot unmarshal bool into Go value of type api.Duration")
    if isinstance(value, int | float):
        return math.inf if value < 0 else float(value)
    if not isinstance(value, str):
        raise ValueError("Unsupported type: '" + type(value).__name__ + "'")
    text = value.strip()
    sign = 1.0
    body = text
    if body[:1] in "+-" and body:
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'time: invalid duration "{value}"')
    pos, total = 0, 0.0
    for m in _GO_DURATION.finditer(body):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(body):
        if re.fullmatch(r"\d+(\.\d*)?", body):
            raise ValueError(f'time: missing unit in duration "{value}"')
        raise ValueError(f'time: invalid duration "{value}"')
    return math.inf if sign < 0 and total > 0 else total


def parse_think(value: Any) -> bool | None:
    """`think`: bool or "low"/"medium"/"high"/"max" (on). Raises ValueError otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("low", "medium", "high", "max"):
        return True
    raise ValueError(
        f'invalid think value: "{value}" (must be "high", "medium", "low", "max", true, or false)'
    )


def check_base64(data: Any) -> bytes:
    """Decode one image like Go's []byte JSON field; ValueError with Go's text when bad."""
    if not isinstance(data, str):
        raise ValueError("json: cannot unmarshal non-string into Go struct field of type []byte")
    cleaned = data.replace("\r", "").replace("\n", "")
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    for i, ch in enumerate(cleaned):
        if ch == "=":
            break
        if ch not in alphabet:
            raise ValueError(f"illegal base64 data at input byte {i}")
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"illegal base64 data at input byte {len(cleaned) - len(cleaned) % 4}"
        ) from None


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate: whitespace words x 1.3, at least 1."""
    return max(1, round(len(text.split()) * 1.3))


def prompt_tokens(req: GenRequest) -> int:
    words = " ".join(m.content for m in req.messages)
    return estimate_tokens(words) + req.extra_prompt_tokens


# -- the built-in "model" --------------------------------------------------------------------
def _snippet(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def default_text(req: GenRequest) -> str:
    """The answer when nothing is scripted; it depends on the request so tests can see that
    the history arrived."""
    reply_no = sum(1 for m in req.messages if m.role == "assistant") + 1
    if req.fmt is not None:
        schema = (
            req.fmt
            if isinstance(req.fmt, dict)
            else find_embedded_schema([m.content for m in req.messages])
        )
        return json_answer(schema, req.texts(), fallback=_plain_text(req, reply_no))
    return _plain_text(req, reply_no)


def _plain_text(req: GenRequest, reply_no: int) -> str:
    last = req.messages[-1] if req.messages else None
    if last is not None and last.role == "tool":
        return f"The {last.tool_name or 'tool'} tool returned: {last.content.strip()}. This is reply number {reply_no}."
    user = req.last("user")
    if user is not None and user.images and req.model.has("vision"):
        return IMAGE_DESCRIPTION
    said = user.content.strip() if user is not None else ""
    return f"You said: {said}. This is reply number {reply_no}."


def default_thinking(req: GenRequest) -> str:
    last = req.messages[-1] if req.messages else None
    if last is not None and last.role == "tool":
        return f"The {last.tool_name or 'tool'} tool answered. I should report its result plainly."
    user = req.last("user")
    said = _snippet(user.content) if user is not None else ""
    return f'The user wrote "{said}". I will answer in one short sentence.'


def thinking_on(req: GenRequest) -> bool:
    """Ollama turns thinking on for capable models unless the request says false."""
    return req.model.has("thinking") and req.think is not False


def call_id(seq: int, index: int) -> str:
    digest = hashlib.sha256(f"call:{seq}:{index}".encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    n = int(digest, 16)
    out = []
    for _ in range(8):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "call_" + "".join(out)


def normalise_tool_calls(calls: list[dict[str, Any]], seq: int) -> list[dict[str, Any]]:
    """Accept {"name", "arguments"} or {"function": {...}}; arguments may be a JSON string."""
    out = []
    for i, call in enumerate(calls):
        fn = call.get("function", call)
        args = fn.get("arguments", {})
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
        out.append({"id": call.get("id") or call_id(seq, i), "name": fn["name"], "arguments": args})
    return out


def _apply_stop(tokens: list[str], stops: list[str]) -> tuple[list[str], bool]:
    text = "".join(tokens)
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    if cut < 0:
        return tokens, False
    return tokenize(text[:cut]), True


def metrics(
    model: FakeModel, n_prompt: int, n_eval: int, seq: int, was_loaded: bool
) -> dict[str, int]:
    """The final chunk's numbers; durations follow the model's simulated speed."""
    jitter = _JITTER[seq % len(_JITTER)]
    eval_rate = model.eval_rate if model.eval_rate > 0 else 1.0
    prompt_rate = model.prompt_eval_rate if model.prompt_eval_rate > 0 else 1.0
    load = round((WARM_LOAD_NS if was_loaded else model.load_ns) * jitter)
    prompt_ns = round(n_prompt / prompt_rate * 1e9 * jitter)
    eval_ns = round(n_eval / eval_rate * 1e9 * jitter)
    overhead = 2_000_000 + (seq % 7) * 250_000  # tokenising, templating: a few ms
    return {
        "total_duration": load + prompt_ns + eval_ns + overhead,
        "load_duration": load,
        "prompt_eval_count": n_prompt,
        "prompt_eval_duration": prompt_ns,
        "eval_count": n_eval,
        "eval_duration": eval_ns,
    }


_TOOL_MARKER = re.compile(r"#tool=([\w.\-]+)(\{.*?\})?(?=\s|$)")
_BADJSON_MARKER = re.compile(r"#badjson=(\d+)")
BAD_JSON = '{"city": "Par'  # what a small model's broken structured answer looks like


def marked_tool_calls(req: GenRequest) -> list[dict[str, Any]]:
    """`#tool=NAME{"arg": 1}` in the last message, a user's: the model calls that tool, if the
    request offers it (as a model only calls tools it was given). After the tool's answer (a
    `tool` message last) it answers in words."""
    last = req.messages[-1] if req.messages else None
    if last is None or last.role != "user" or not req.tools:
        return []
    offered = {t.get("function", {}).get("name") for t in req.tools}
    calls = []
    for name, args in _TOOL_MARKER.findall(last.content):
        if name in offered:
            calls.append({"name": name, "arguments": json.loads(args) if args else {}})
    return calls


_POINT = re.compile(r"latitude (-?\d+(?:\.\d+)?),? longitude (-?\d+(?:\.\d+)?)")
_POINT_PARAMS = {"lat1", "lon1", "lat2", "lon2"}


def natural_tool_calls(req: GenRequest) -> list[dict[str, Any]]:
    """A `calls_tools` model given a two-point tool and two points in the question calls it."""
    last = req.messages[-1] if req.messages else None
    if not req.model.calls_tools or last is None or last.role != "user":
        return []
    points = _POINT.findall(last.content)
    for tool in req.tools:
        fn = tool.get("function", {})
        if (
            set(fn.get("parameters", {}).get("properties", {})) >= _POINT_PARAMS
            and len(points) >= 2
        ):
            (lat1, lon1), (lat2, lon2) = points[:2]
            args = {
                "lat1": float(lat1),
                "lon1": float(lon1),
                "lat2": float(lat2),
                "lon2": float(lon2),
            }
            return [{"name": fn["name"], "arguments": args}]
    return []


def bad_json_left(req: GenRequest) -> bool:
    """A structured request answered with broken JSON: while the conversation has fewer
    assistant turns than `#badjson=K` (in a user message) or the model's `bad_json` says.
    Stateless, like a model: instructor's retries resend the history with one more turn."""
    if req.fmt is None:
        return False
    marks = [
        int(k) for m in req.messages if m.role == "user" for k in _BADJSON_MARKER.findall(m.content)
    ]
    times = max([req.model.bad_json, *marks])
    return sum(1 for m in req.messages if m.role == "assistant") < times


def build_plan(
    req: GenRequest, reply: Reply | None, seq: int, was_loaded: bool, *, scripted: bool = True
) -> Plan:
    """`scripted`: `reply` was queued for this request (markers then do not apply); False for
    the server's default reply or none."""
    r = reply or Reply()
    if not scripted and (marked := marked_tool_calls(req) or natural_tool_calls(req)):
        r = Reply(tool_calls=marked)
    elif not scripted and bad_json_left(req):
        r = Reply(text=BAD_JSON)
    if r.thinking is not None:
        thinking = tokenize(r.thinking)  # scripted thinking is always sent
    elif thinking_on(req) and not r.has_content() and not r.tool_calls:
        thinking = tokenize(default_thinking(req))
    else:
        thinking = []
    if r.has_content():
        content = r.content_tokens()
    elif r.tool_calls:
        content = []
    else:
        content = tokenize(default_text(req))
    tool_calls = normalise_tool_calls(r.tool_calls or [], seq)
    done_reason = r.done_reason

    content, stopped = _apply_stop(content, req.stop)
    if stopped:
        done_reason = "stop"
    budget = req.num_predict
    if budget is not None and budget >= 0 and len(thinking) + len(content) > budget:
        thinking = thinking[:budget]
        content = content[: max(0, budget - len(thinking))]
        tool_calls, done_reason = [], "length"

    n_eval = len(thinking) + len(content)
    if tool_calls:
        n_eval += sum(estimate_tokens(json.dumps(c["arguments"])) + 3 for c in tool_calls)
    n_eval = r.eval_count if r.eval_count is not None else max(1, n_eval)
    stats = metrics(req.model, prompt_tokens(req), n_eval, seq, was_loaded)
    return Plan(thinking, content, tool_calls, done_reason, r, stats)
