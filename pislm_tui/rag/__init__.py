"""RAG core: ingest files into ChromaDB collections with batched embeddings, retrieve chunks for a
question, and build the grounded prompt. No Textual here; chromadb and pypdf are imported only
when used.

Stable API (used by the Tools tab's "search my documents" tool):
    store = RagStore.open(paths, settings.rag)        # sync; call from a thread in UI code
    store.list_collections() -> list[CollectionInfo]
    await retrieve(backend, store, collection, question, k) -> list[RetrievedChunk]
    RetrievedChunk(source, chunk, distance, text, page=None)
"""

from __future__ import annotations

from pislm_tui.rag.answer import (
    SYSTEM_PROMPT,
    answer_options,
    build_messages,
    label,
    retrieve,
    stream_answer,
)
from pislm_tui.rag.errors import CollectionNotFound, EmbeddingMismatch, StoreError, StoreUnreachable
from pislm_tui.rag.extract import Document, Skipped
from pislm_tui.rag.ingest import (
    FileResult,
    IngestOptions,
    IngestProgress,
    IngestReport,
    ingest_documents,
    ingest_paths,
)
from pislm_tui.rag.store import CollectionInfo, RagStore, RetrievedChunk, SourceInfo, same_model

__all__ = [
    "SYSTEM_PROMPT",
    "CollectionInfo",
    "CollectionNotFound",
    "Document",
    "EmbeddingMismatch",
    "FileResult",
    "IngestOptions",
    "IngestProgress",
    "IngestReport",
    "RagStore",
    "RetrievedChunk",
    "Skipped",
    "SourceInfo",
    "StoreError",
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
