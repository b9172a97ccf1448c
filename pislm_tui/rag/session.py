"""`RagSession`: what the RAG tab runs, without Textual. The store, opened once off the loop (and
whether it is still opening, or why it failed to), the question being answered, the ingest
running, and which collection the results on screen are about. The tab draws; this decides."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import PislmError
from pislm_tui.rag.answer import Question
from pislm_tui.rag.async_store import AsyncRagStore
from pislm_tui.rag.records import CollectionInfo, same_model

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.config import Paths, RagSettings
    from pislm_tui.rag.ingest_job import IngestJob

STILL_OPENING = "The document store is still opening…"


class RagSession:
    def __init__(self, rag: RagSettings) -> None:
        self.rag = rag
        self.store: AsyncRagStore | None = None
        self.opening = False
        self.error: PislmError | None = None  # why the store did not open
        self.question: Question | None = None  # the last one asked
        self.ingest: IngestJob | None = None  # the last one started
        self.results_for: str | None = None  # the collection the results on screen are about

    async def open(self, paths: Paths) -> AsyncRagStore:
        """Open the store (in a thread); a failure is kept for `unavailable()` and raised."""
        self.opening, self.error = True, None
        try:
            self.store = await AsyncRagStore.open(paths, self.rag)
        except PislmError as exc:
            self.error = exc
            raise
        finally:
            self.opening = False
        return self.store

    def unavailable(self) -> str | None:
        """Why an action that needs the store cannot run now (None: it can)."""
        if self.store is not None:
            return None
        if self.error is not None:
            return f"{self.error}\nPress r to try again."
        return STILL_OPENING

    # -- asking ----------------------------------------------------------------------------

    def ask(
        self,
        backend: Backend,
        collection: str,
        text: str,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> Question:
        """A question to `collection` with the top-k of the settings; the results become
        about it."""
        if self.store is None:
            raise RuntimeError("the store is not open")
        self.question = Question(
            backend, self.store.sync, collection, text, k=self.rag.top_k, clock=clock
        )
        self.results_for = collection
        return self.question

    def chat_model(self, current: str | None, installed: Sequence[str]) -> str | None:
        """rag.model, else the app's model, else the first chat model installed."""
        return self.rag.model or current or next(iter(installed), None)

    def moved_to(self, collection: str | None) -> bool:
        """The user highlighted `collection`: True when the results shown were about another
        one (they should go)."""
        if collection == self.results_for:
            return False
        self.results_for = collection
        return True

    def is_embed_model(self, model: str, collection: str, info: CollectionInfo | None) -> bool:
        """Is the missing `model` the one `collection` embeds with (not the chat model)?"""
        embed = info.embed_model if info is not None and info.name == collection else None
        return same_model(model, embed or self.rag.embed_model)
