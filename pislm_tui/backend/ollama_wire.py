"""ollama-python's answers turned into pislm's types (backend/types.py), and pislm's messages
into the wire form `/api/chat` takes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pislm_tui.backend.types import Message, ModelInfo


def number_ending(info: Mapping[str, Any], suffix: str) -> int | None:
    """The number under the key of /api/show's model_info ending with `suffix`: its keys start
    with the architecture (`llama.context_length`, `qwen3.context_length`)."""
    for key, value in info.items():
        if key.endswith(suffix) and isinstance(value, int):
            return value
    return None


def model_info(m: Any, raw: Mapping[str, Any]) -> ModelInfo:
    d = m.details
    modified = m.modified_at if isinstance(m.modified_at, datetime) else None
    capabilities = raw.get("capabilities")
    return ModelInfo(
        name=m.model or str(raw.get("name") or "?"),
        size=int(m.size) if m.size is not None else None,
        modified_at=modified,
        digest=m.digest,
        family=d.family if d else None,
        families=tuple(d.families or ()) if d else (),
        parameter_size=d.parameter_size if d else None,
        quantization=d.quantization_level if d else None,
        format=d.format if d else None,
        remote=bool(raw.get("remote_host") or raw.get("remote_model")),
        capabilities=frozenset(
            c
            for c in (capabilities if isinstance(capabilities, list) else ())
            if isinstance(c, str)
        ),
    )


def wire_message(m: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.images:
        wire["images"] = list(m.images)  # bytes; the client base64-encodes them
    if m.thinking:
        wire["thinking"] = m.thinking
    if m.tool_calls:
        wire["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls
        ]
    if m.tool_name:
        wire["tool_name"] = m.tool_name
    return wire
