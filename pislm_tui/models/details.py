"""What each model is (/api/show: capabilities, context length, template…), asked of the server
once per model and shared by everything that needs it: several askers of the same model at
the same time share one request, and a cancelled asker does not cancel it for the others."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import Unsupported
from pislm_tui.backend.types import ModelDetails

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend


class ModelDetailsCache:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # name -> details; None: the server does not say (an OpenAI-compatible server)
        self.known: dict[str, ModelDetails | None] = {}
        self._asking: dict[str, asyncio.Future[ModelDetails | None]] = {}

    async def get(self, model: str) -> ModelDetails | None:
        """The model's details; raises the backend's `PislmError` (not remembered: the next
        call asks again)."""
        if model in self.known:
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
        try:
            details: ModelDetails | None = await self.backend.show(model)
        except Unsupported:
            details = None
        self.known[model] = details
        return details

    async def capabilities(self, model: str) -> frozenset[str] | None:
        """What the server says `model` can do; None when it does not say."""
        details = await self.get(model)
        return details.capabilities if details is not None and details.capabilities else None

    def known_capabilities(self) -> dict[str, frozenset[str]]:
        return {
            n: d.capabilities for n, d in self.known.items() if d is not None and d.capabilities
        }
