"""Listing and formatting helpers for installed and loaded models: the same units and wording as
`ollama list` / `ollama ps` (decimal bytes, "4 minutes", "Forever"), plus JSON shapes for the CLI.
Plain functions with an explicit `now`, so callers (and snapshots) control the clock."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pislm_tui.backend.types import LoadedModel, ModelDetails, ModelInfo
from pislm_tui.sizes import decimal_bytes

# Families and name parts of embedding-only models (they cannot chat). Only a fallback: what
# the server says (`capabilities` from /api/show or /api/tags) wins wherever it is known.
EMBEDDING_FAMILIES = ("bert", "nomic-bert")
EMBEDDING_NAME_PARTS = ("embed", "minilm", "bge-", "paraphrase-multilingual")
# Capabilities in the order they are shown.
CAPABILITY_ORDER = ("completion", "vision", "tools", "embedding", "thinking", "insert")


def human_rate(bytes_per_s: float | None) -> str:
    """A download speed, `12.3 MB/s`; `—` while unknown."""
    if not bytes_per_s or bytes_per_s <= 0:
        return "—"
    return f"{decimal_bytes(bytes_per_s)}/s"


def human_eta(seconds: float | None) -> str:
    """A short remaining time: `45s`, `3m10s`, `1h02m`; `—` while unknown."""
    if seconds is None or seconds < 0 or math.isinf(seconds) or math.isnan(seconds):
        return "—"
    s = math.ceil(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def human_duration(seconds: float) -> str:
    """Ollama's `format.humanDuration`, lower-cased: `4 minutes`, `about an hour`, `3 weeks`."""
    s = int(seconds)
    if s < 1:
        return "less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "about a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "about an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600 / 24 / 365)} years"


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def human_ago(when: datetime | None, now: datetime) -> str:
    """`ollama list`'s MODIFIED column: `2 weeks ago`."""
    if when is None:
        return "—"
    delta = (_aware(now) - _aware(when)).total_seconds()
    if delta < 0:
        return f"{human_duration(-delta)} from now"
    return f"{human_duration(delta)} ago"


def time_left(expires_at: datetime | None, now: datetime) -> str:
    """`ollama ps`'s UNTIL column without the "from now": `4 minutes`, `forever`, `stopping…`."""
    if expires_at is None:
        return "—"
    delta = (_aware(expires_at) - _aware(now)).total_seconds()
    if delta <= 0:
        return "stopping…"
    if delta > 20 * 365 * 86_400:  # keep_alive -1: Ollama reports a date centuries away
        return "forever"
    return human_duration(delta)


def short_date(when: datetime | None) -> str:
    """The date as the server wrote it (its own time zone), `2025-05-04`: stable and compact."""
    return when.strftime("%Y-%m-%d") if when else "—"


def long_date(when: datetime | None) -> str:
    if when is None:
        return "—"
    return when.strftime("%Y-%m-%d %H:%M %z").replace("+0000", "UTC")


def is_embedding_model(model: ModelInfo) -> bool:
    """Embedding-only models, guessed from the listing's family and name (no `show` needed)."""
    name = model.name.lower()
    return model.family in EMBEDDING_FAMILIES or any(p in name for p in EMBEDDING_NAME_PARTS)


def can_chat(model: ModelInfo, capabilities: frozenset[str] | None = None) -> bool:
    """Whether `model` can chat: the server's word (`capabilities` from /api/show, else those
    of the listing) when it gave one, the family/name guess otherwise."""
    said = capabilities or model.capabilities
    if said:
        return "completion" in said
    return not is_embedding_model(model)


def runs_here(model: ModelInfo) -> bool:
    """False for entries the server lists but does not run itself: cloud entries (forwarded to
    another host) and entries of size 0 (nothing downloaded). Size None (an OpenAI-compatible
    listing) says nothing either way."""
    return not model.remote and model.size != 0


def chat_model_names(
    models: Iterable[ModelInfo], capabilities: Mapping[str, frozenset[str]] | None = None
) -> list[str]:
    """The models a chat can use, in the server's order (`capabilities`: what /api/show said,
    by name, where known)."""
    said = capabilities or {}
    return [m.name for m in models if can_chat(m, said.get(m.name))]


def short_digest(digest: str | None) -> str:
    """`ollama list`'s ID: the digest's first 12 hex digits; `—` when the server gives none
    (an empty or all-zero digest, as servers without real blobs send)."""
    text = (digest or "").removeprefix("sha256:")
    if not text.strip("0"):
        return "—"
    return text[:12]


def ordered_capabilities(details: ModelDetails) -> list[str]:
    known = [c for c in CAPABILITY_ORDER if c in details.capabilities]
    return known + sorted(details.capabilities - set(CAPABILITY_ORDER))


def find_model(models: Iterable[ModelInfo], name: str) -> ModelInfo | None:
    """By name, with Ollama's rules: `x` means `x:latest`, case does not matter."""
    wanted = normalize_name(name).lower()
    for m in models:
        if normalize_name(m.name).lower() == wanted:
            return m
    return None


def normalize_name(name: str) -> str:
    name = name.strip()
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def is_loaded(name: str, loaded: Iterable[LoadedModel]) -> bool:
    return find_loaded(name, loaded) is not None


def find_loaded(name: str, loaded: Iterable[LoadedModel]) -> LoadedModel | None:
    """`name` among the loaded models (`ollama ps`), by Ollama's naming rules: the server
    reports `llama3.2:latest` for a chat sent to `llama3.2`."""
    wanted = normalize_name(name).lower()
    return next((m for m in loaded if normalize_name(m.name).lower() == wanted), None)


# -- JSON shapes for the CLI --------------------------------------------------------------------


def model_json(m: ModelInfo) -> dict[str, Any]:
    return {
        "name": m.name,
        "size": m.size,
        "size_human": decimal_bytes(m.size),
        "family": m.family,
        "families": list(m.families),
        "parameter_size": m.parameter_size,
        "quantization": m.quantization,
        "format": m.format,
        "digest": m.digest,
        "modified_at": m.modified_at.isoformat() if m.modified_at else None,
    }


def loaded_json(m: LoadedModel, now: datetime) -> dict[str, Any]:
    remaining = None
    if m.expires_at is not None:
        remaining = (_aware(m.expires_at) - _aware(now)).total_seconds()
    return {
        "name": m.name,
        "size": m.size,
        "size_human": decimal_bytes(m.size),
        "size_vram": m.size_vram,
        "processor": m.processor,
        "context_length": m.context_length,
        "expires_at": m.expires_at.isoformat() if m.expires_at else None,
        "seconds_left": remaining,
        "until": time_left(m.expires_at, now),
    }


def lacks_chat(details: ModelDetails) -> bool:
    """The server's capabilities say this model cannot chat (e.g. `embedding` alone); a server
    that lists no capabilities says nothing, so it is not judged."""
    caps = details.capabilities
    return bool(caps) and "completion" not in caps
