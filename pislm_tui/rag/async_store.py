"""`AsyncRagStore`: the document store for code that runs on an event loop (the RAG tab, the
CLI). Every Chroma call, opening included, runs in a worker thread: they block, on a Pi for
seconds (chromadb's first import, a Chroma server that does not answer, a database another
program holds), and the loop must keep drawing and reading keys meanwhile.

`RagStore` serialises the calls itself (a lock), so several may be started at once. Ingest and
retrieval take the blocking store (`.sync`): they move their own store calls off the loop."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pislm_tui.rag.records import CollectionInfo, SourceInfo
from pislm_tui.rag.store import RagStore

if TYPE_CHECKING:
    from pislm_tui.config import Paths, RagSettings


class AsyncRagStore:
    def __init__(self, store: RagStore) -> None:
        self.sync = store

    @classmethod
    async def open(cls, paths: Paths, settings: RagSettings) -> AsyncRagStore:
        """Open the store the settings point at; `StoreUnavailable` when it cannot be."""
        return cls(await asyncio.to_thread(RagStore.open, paths, settings))

    @property
    def where(self) -> str:
        """The directory or URL, for messages."""
        return self.sync.where

    async def list_collections(self, *, with_sources: bool = False) -> list[CollectionInfo]:
        return await asyncio.to_thread(self.sync.list_collections, with_sources=with_sources)

    async def info(self, name: str) -> CollectionInfo:
        return await asyncio.to_thread(self.sync.info, name)

    async def sources(self, name: str) -> list[SourceInfo]:
        return await asyncio.to_thread(self.sync.sources, name)

    async def delete_collection(self, name: str) -> int:
        """Delete a collection; returns how many chunks it held."""
        return await asyncio.to_thread(self.sync.delete_collection, name)

    async def remove_source(self, name: str, source: str) -> int:
        """Remove one source's chunks; returns how many there were."""
        return await asyncio.to_thread(self.sync.remove_source, name, source)

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)
