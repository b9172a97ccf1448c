"""Model options typed by name (`--option temperature=0.2`, the settings screen), checked before
anything is sent. Names and types are Ollama's `api.Options`; unknown names are refused here
because Ollama only logs them and carries on, which hides typos."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from pislm_tui.backend.errors import UsageError
from pislm_tui.config import ChatOptions

_INT = (
    "num_keep",
    "seed",
    "num_predict",
    "top_k",
    "repeat_last_n",
    "num_ctx",
    "num_batch",
    "num_gpu",
    "main_gpu",
    "num_thread",
)
_FLOAT = (
    "temperature",
    "top_p",
    "min_p",
    "typical_p",
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
)
_BOOL = ("use_mmap", "numa")
_LIST = ("stop",)

OPTION_TYPES: dict[str, type] = {
    **dict.fromkeys(_INT, int),
    **dict.fromkeys(_FLOAT, float),
    **dict.fromkeys(_BOOL, bool),
    **dict.fromkeys(_LIST, list),
}
# The options the Chat tab offers in its settings screen, in this order.
CHAT_OPTION_NAMES: tuple[str, ...] = (
    "temperature",
    "top_k",
    "top_p",
    "num_ctx",
    "num_predict",
    "seed",
)

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_value(name: str, raw: str) -> Any:
    """`raw` converted to the type Ollama expects for option `name`; `UsageError` when it is not."""
    kind = OPTION_TYPES.get(name)
    if kind is None:
        raise UsageError(
            f"unknown option '{name}'",
            "known options: " + ", ".join(sorted(OPTION_TYPES)),
        )
    text = raw.strip()
    try:
        if kind is int:
            value: Any = int(text)
        elif kind is float:
            value = float(text)
        elif kind is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError
            value = text.lower() in _TRUE
        else:
            value = raw  # one stop sequence, kept as typed (spaces matter)
    except ValueError:
        article = "an" if kind is int else "a"
        kind_name = {int: "integer", float: "number", bool: "boolean (true/false)"}[kind]
        raise UsageError(f"option {name} must be {article} {kind_name}, not '{raw}'") from None
    return value


def parse_options(pairs: Iterable[str]) -> dict[str, Any]:
    """`["temperature=0.2", "stop=###", "stop=END"]` -> `{"temperature": 0.2, "stop": [...]}`.
    Repeating `stop` adds a sequence; repeating any other option keeps the last value."""
    options: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"bad option '{pair}'", "write it as KEY=VALUE, e.g. temperature=0.2")
        value = parse_value(name, raw)
        if OPTION_TYPES[name] is list:
            options.setdefault(name, []).append(value)
        else:
            options[name] = value
    return check_options(options)


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Range checks for the options the app knows well (temperature 0-2, top_p 0-1, …)."""
    known = {k: v for k, v in options.items() if k in ChatOptions.model_fields}
    try:
        ChatOptions.model_validate(known)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"option {name}: {first['msg'].lower()}") from None
    return dict(options)


def format_value(value: Any) -> str:
    """An option value as the user would type it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
