"""What each model is (/api/show: capabilities, context length, template…), asked of the server
once per model and shared by everything that needs it: the Chat tab (picker marks, vision and
thinking checks, the gauge's trained length), the Models tab (the details pane), the default
model rule and the CLI (`pislm ask` picks the default model and checks vision with one cache).
Nothing else keeps its own copy of /api/show answers.

Several askers of the same model at the same time share one request, and a cancelled asker does
not cancel it for the others. A model pulled again under the same name (another digest, when
the cache is told the listed digests) or marked stale by a refresh is asked again; until the
new answer arrives, `known` keeps the old one for those who only read it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import Unsupported
from pislm_tui.backend.types import ModelDetails, ModelInfo
from pislm_tui.models.listing import find_model

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend


class ModelDetailsCache:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # name -> details; None: the server does not say (an OpenAI-compatible server)
        self.known: dict[str, ModelDetails | None] = {}
        # What the server said when it does not give details (shown by the Models tab).
        self.unsupported: Unsupported | None = None
        # The models as listed now (the app's listing): an answer for another digest of a
        # model is asked again. None: not checked (the CLI asks once per run anyway).
        self.listed: Callable[[], Sequence[ModelInfo]] | None = None
        self._digests: dict[str, str | None] = {}  # the digest each answer is for
        self._stale: set[str] = set()
        self._asking: dict[str, asyncio.Future[ModelDetails | None]] = {}

    def fresh(self, model: str) -> bool:
        """Whether `known[model]` is the answer for the model as listed now."""
        if model not in self.known or model in self._stale:
            return False
        digest = self._listed_digest(model)
        return digest is None or self._digests.get(model) == digest

    def _listed_digest(self, model: str) -> str | None:
        info = find_model(self.listed(), model) if self.listed is not None else None
        return info.digest if info is not None else None

    def cached(self, model: str) -> ModelDetails | None:
        """The fresh answer, without asking (None: not asked yet, stale, or not said)."""
        return self.known[model] if self.fresh(model) else None

    def refresh(self) -> None:
        """Ask every model again on its next `get` (a user's refresh)."""
        self._stale.update(self.known)

    async def get(self, model: str) -> ModelDetails | None:
        """The model's details; raises the backend's `PislmError` (not remembered: the next
        call asks again)."""
        if self.fresh(model):
            return self.known[model]
        asking = self._asking.get(model)
        if asking is None:
            asking = asyncio.ensure_future(self._ask(model))
            self._asking[model] = asking
            asking.add_done_callback(lambda done: self._done(model, done))
        return await asyncio.shield(asking)

    def _done(self, model: str, done: asyncio.Future[ModelDetails | None]) -> None:
        self._asking.pop(model, None)
        if not done.cancelled():
            done.exception()  # each asker gets the error; none is left "never retrieved"

    async def _ask(self, model: str) -> ModelDetails | None:
        digest = self._listed_digest(model)
        try:
            details: ModelDetails | None = await self.backend.show(model)
        except Unsupported as exc:
            self.unsupported = exc
            details = None
        self.known[model] = details
        self._digests[model] = digest
        self._stale.discard(model)
        return details

    async def capabilities(self, model: str) -> frozenset[str] | None:
        """What the server says `model` can do; None when it does not say."""
        details = await self.get(model)
        return details.capabilities if details is not None and details.capabilities else None

    def known_capabilities(self) -> dict[str, frozenset[str]]:
        return {
            n: d.capabilities for n, d in self.known.items() if d is not None and d.capabilities
        }
