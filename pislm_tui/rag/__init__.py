"""RAG core: ingest files into ChromaDB collections with batched embeddings, retrieve chunks for a
question, and build the grounded prompt. No Textual here; chromadb and pypdf are imported only
when used.

Stable API (used by the Tools tab's "search my documents" tool):
    store = RagStore.open(paths, settings.rag)        # sync; call from a thread in UI code
    store.list_collections() -> list[CollectionInfo]
    await retrieve(backend, store, collection, question, k) -> list[RetrievedChunk]
    RetrievedChunk(source, chunk, distance, text, page=None)

What the RAG tab and `pislm rag` run (every store call off the event loop):
    store = await AsyncRagStore.open(paths, settings.rag)   # .sync is the RagStore
    job = IngestJob.files(rag, collection, paths) | IngestJob.demo(rag)
    report = await job.run(backend, store.sync, on_progress=...)   # cancel the task to stop
    question = Question(backend, store.sync, collection, text, k=k)
    await question.retrieve(); async for text in question.stream(model, options): ...
    RagSession: the tab's state (the store opening or failed, the question, the ingest)
"""

from __future__ import annotations

from pislm_tui.rag.answer import (
    SYSTEM_PROMPT,
    Question,
    answer_options,
    build_messages,
    label,
    retrieve,
    stream_answer,
)
from pislm_tui.rag.async_store import AsyncRagStore
from pislm_tui.rag.errors import (
    CollectionNotFound,
    EmbeddingMismatch,
    StoreError,
    StoreOpenFailed,
    StoreUnavailable,
    StoreUnreachable,
)
from pislm_tui.rag.extract import Document, Skipped
from pislm_tui.rag.ingest import (
    FileResult,
    IngestOptions,
    IngestProgress,
    IngestReport,
    ingest_documents,
    ingest_paths,
)
from pislm_tui.rag.ingest_job import IngestJob
from pislm_tui.rag.records import CollectionInfo, RetrievedChunk, SourceInfo, same_model
from pislm_tui.rag.session import RagSession
from pislm_tui.rag.store import RagStore

__all__ = [
    "SYSTEM_PROMPT",
    "AsyncRagStore",
    "CollectionInfo",
    "CollectionNotFound",
    "Document",
    "EmbeddingMismatch",
    "FileResult",
    "IngestJob",
    "IngestOptions",
    "IngestProgress",
    "IngestReport",
    "Question",
    "RagSession",
    "RagStore",
    "RetrievedChunk",
    "Skipped",
    "SourceInfo",
    "StoreError",
    "StoreOpenFailed",
    "StoreUnavailable",
    "StoreUnreachable",
    "answer_options",
    "build_messages",
    "ingest_documents",
    "ingest_paths",
    "label",
    "retrieve",
    "same_model",
    "stream_answer",
]
