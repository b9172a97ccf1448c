"""Which model a chat starts with when the user did not name one — one rule for the app,
`pislm ask` and every other place that needs a default chat model:

1. the first of the preferred names (the model last used with this server) that qualifies;
2. else the first model that qualifies, in the server's order (the newest first).

A model qualifies when this server runs it (no cloud entry, no entry of size 0) and it can chat.
What it can do is asked of the server (/api/show's `capabilities`, one request per candidate
until one qualifies); the family/name guess is only used where the server does not say."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import PislmError, UsageError
from pislm_tui.backend.types import ModelInfo
from pislm_tui.models.listing import can_chat, find_model, runs_here

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.models.details import ModelDetailsCache

# What the server says a model can do; None when it does not say (an OpenAI-compatible server).
CapabilityLookup = Callable[[str], Awaitable[frozenset[str] | None]]


async def choose_chat_model(
    models: Sequence[ModelInfo],
    *,
    preferred: Iterable[str | None] = (),
    capabilities: CapabilityLookup | None = None,
) -> str | None:
    """The model a chat should start with, or None when no installed model qualifies."""
    candidates: list[ModelInfo] = []
    for name in preferred:
        found = find_model(models, name) if name else None
        if found is not None and found not in candidates:
            candidates.append(found)
    candidates += [m for m in models if m not in candidates]
    for model in candidates:
        if not runs_here(model):
            continue
        said = None
        if capabilities is not None and not model.capabilities:
            try:
                said = await capabilities(model.name)
            except PislmError:
                said = None  # the server would not say: fall back to the guess
        if can_chat(model, said):
            return model.name
    return None


@dataclass(frozen=True, slots=True)
class Settled:
    """The chat model to use now, and the one wanted that this server does not have."""

    model: str | None
    lost: str | None = None

    @property
    def note(self) -> str | None:
        """One line for the user when a wanted model was not there."""
        if not self.lost:
            return None
        then = f"it goes on with {self.model}" if self.model else "no installed model can chat"
        return f"{self.lost} is not on this server; {then}."


async def settle_chat_model(
    models: Sequence[ModelInfo],
    *,
    current: str | None,
    pinned: str | None = None,
    wish: str | None = None,
    preferred: Iterable[str | None] = (),
    capabilities: CapabilityLookup | None = None,
) -> Settled:
    """The model a chat goes on with once the server has listed `models`: `wish` (a reopened
    chat's model) if installed; else `current` if installed (as listed: `phi3.5` becomes
    `phi3.5:latest`), or kept as it is when it is `pinned` (named by the user: --model or the
    config; sending then says how to pull it); else the default (`choose_chat_model`). `lost`
    names the wish, or a current model that went away, when this server lacks it."""
    lost = None
    if wish:
        found = find_model(models, wish)
        if found is not None:
            return Settled(found.name)
        lost = wish
    if current:
        found = find_model(models, current)
        if found is not None:
            return Settled(found.name, lost)
        if current == pinned:
            return Settled(current, lost)
        lost = lost or current
    chosen = await choose_chat_model(models, preferred=preferred, capabilities=capabilities)
    return Settled(chosen, lost)


async def default_chat_model(
    backend: Backend,
    *,
    preferred: Iterable[str | None] = (),
    details: ModelDetailsCache | None = None,
) -> str:
    """`choose_chat_model` over what `backend` lists, asking its /api/show (through `details`,
    the caller's cache, if it has one); `UsageError` when nothing installed can chat. For the CLI
    commands and core functions that need a model."""
    from pislm_tui.models.details import ModelDetailsCache

    chosen = await choose_chat_model(
        await backend.list_models(),
        preferred=preferred,
        capabilities=(details or ModelDetailsCache(backend)).capabilities,
    )
    if chosen is None:
        raise UsageError("no chat model is installed", "pull one with `pislm pull llama3.2:1b`")
    return chosen


def server_key(url: str) -> str:
    return url.strip().rstrip("/").lower()


class LastUsedModels:
    """The model last used with each server (by URL), in a small JSON file in the data dir.
    Best effort: a missing or damaged file reads as empty, a failed write is skipped (the
    next start then falls back to the server's order, nothing else is lost)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: dict[str, dict[str, object]] | None = None

    def _read(self) -> dict[str, dict[str, object]]:
        if self._cache is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                servers = data.get("servers") if isinstance(data, dict) else None
                self._cache = {k: v for k, v in (servers or {}).items() if isinstance(v, dict)}
            except (OSError, ValueError):
                self._cache = {}
        return self._cache

    def get(self, url: str) -> str | None:
        model = self._read().get(server_key(url), {}).get("model")
        return model if isinstance(model, str) and model else None

    def remember(self, url: str, model: str) -> bool:
        """Store `model` for the server at `url`; False when the file could not be written."""
        if not model or self.get(url) == model:
            return True
        servers = dict(self._read())
        servers[server_key(url)] = {"model": model, "at": round(time.time())}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps({"servers": servers}, indent=1), encoding="utf-8")
            tmp.replace(self.path)  # never a half-written file
        except OSError:
            return False
        self._cache = servers
        return True
