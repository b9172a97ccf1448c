"""`IngestJob`: adding documents to a collection, the one signature the RAG tab (`a`, `d`) and
`pislm rag add|demo` share. What to add is files and folders (read and chunked here) or
documents whose text is known (the bee-facts sample); the options come from the settings with
the user's overrides; progress goes to a callback and is kept (`progress`), so whoever stops the
job can say how many files were stored whole.

Stopping is cancelling the task that awaits `run()`: a file being written is finished first, so
the collection never holds half a file, and adding again resumes (stored files are not embedded
again)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pislm_tui.backend.errors import UsageError
from pislm_tui.rag.extract import Document
from pislm_tui.rag.ingest import (
    IngestOptions,
    IngestProgress,
    IngestReport,
    ProgressCallback,
    ingest_documents,
    ingest_paths,
)
from pislm_tui.rag.records import check_name
from pislm_tui.rag.sample import (
    DEMO_CHUNK_SIZE,
    DEMO_COLLECTION,
    DEMO_OVERLAP,
    DEMO_QUESTION,
    sample_documents,
)
from pislm_tui.rag.store import RagStore

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.config import RagSettings


@dataclass
class IngestJob:
    collection: str
    options: IngestOptions
    paths: Sequence[Path] = ()
    documents: Sequence[Document] = ()
    question: str | None = None  # a question to try once the documents are in (the demo's)
    progress: IngestProgress | None = field(default=None, init=False)  # the latest

    @classmethod
    def files(
        cls,
        rag: RagSettings,
        collection: str,
        paths: Sequence[Path],
        *,
        embed_model: str | None = None,
        chunk_size: int | None = None,
        overlap: int | None = None,
    ) -> IngestJob:
        """Files and folders, with the user's choices over the settings (None: the setting)."""
        options = IngestOptions.from_settings(
            rag, embed_model=embed_model, chunk_size=chunk_size, overlap=overlap
        )
        return cls(collection, options, paths=[Path(p).expanduser() for p in paths])

    @classmethod
    def demo(cls, rag: RagSettings, *, embed_model: str | None = None) -> IngestJob:
        """The bee-facts sample, chunked one fact per chunk, and its question."""
        options = IngestOptions.from_settings(
            rag, embed_model=embed_model, chunk_size=DEMO_CHUNK_SIZE, overlap=DEMO_OVERLAP
        )
        return cls(DEMO_COLLECTION, options, documents=sample_documents(), question=DEMO_QUESTION)

    def check(self) -> None:
        """Refuse bad input before anything is opened: the name, the options, missing paths."""
        check_name(self.collection)
        missing = [str(p) for p in self.paths if not p.exists()]
        if missing:
            raise UsageError(f"no such file or folder: {', '.join(missing)}")
        self.options.check()

    @property
    def files_stored(self) -> int:
        """Files written whole so far (none while the files are still being read)."""
        p = self.progress
        return p.files_done if p is not None and p.phase != "scanning" else 0

    async def run(
        self,
        backend: Backend,
        store: RagStore,
        *,
        on_progress: ProgressCallback | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> IngestReport:
        """Add the documents (or bring them up to date); every store call runs off the loop."""
        self.progress = None

        def progress(p: IngestProgress) -> None:
            self.progress = p
            if on_progress is not None:
                on_progress(p)

        if self.paths:
            return await ingest_paths(
                backend,
                store,
                self.collection,
                self.paths,
                self.options,
                on_progress=progress,
                clock=clock,
            )
        return await ingest_documents(
            backend,
            store,
            self.collection,
            self.documents,
            self.options,
            on_progress=progress,
            clock=clock,
        )
