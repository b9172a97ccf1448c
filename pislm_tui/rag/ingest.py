"""Ingest: files -> text -> chunks -> embeddings (batched `/api/embed` requests) -> the store.

Two phases. Scanning reads and chunks every file and compares the chunk ids with what the
collection already holds, so unchanged files cost nothing and the progress bar knows the real
amount of work. Embedding then sends `batch_size` chunks per request (chunks of several small
files share a request) and writes each file as soon as all its chunks have vectors, in one
store call. Cancelling waits for a write in progress to finish, so the collection never holds
half a file."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pislm_tui.backend.errors import BadResponse, UsageError
from pislm_tui.rag.chunking import Chunk, chunk_ids, split_text
from pislm_tui.rag.extract import Document, Skipped, discover, extract
from pislm_tui.rag.records import ChunkRecord, CollectionInfo, check_compatible, check_name
from pislm_tui.rag.store import RagStore

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.config import RagSettings

Phase = Literal["scanning", "embedding", "done"]
FileStatus = Literal["added", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class IngestOptions:
    embed_model: str
    chunk_size: int = 1000
    overlap: int = 150
    batch_size: int = 32
    max_file_bytes: int = 20_000_000

    @classmethod
    def from_settings(cls, rag: RagSettings, **overrides: object) -> IngestOptions:
        values: dict[str, object] = {
            "embed_model": rag.embed_model,
            "chunk_size": rag.chunk_size,
            "overlap": rag.chunk_overlap,
            "batch_size": rag.batch_size,
            "max_file_bytes": int(rag.max_file_mb * 1_000_000),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def check(self) -> None:
        if self.chunk_size < 50:
            raise UsageError(
                f"chunk size {self.chunk_size} is too small", "use 50 characters or more"
            )
        if not 0 <= self.overlap < self.chunk_size:
            raise UsageError(
                f"overlap {self.overlap} must be at least 0 and less than the chunk size "
                f"({self.chunk_size})"
            )
        if self.batch_size < 1:
            raise UsageError("the embedding batch size must be at least 1")


@dataclass(slots=True)
class IngestProgress:
    phase: Phase
    files_total: int = 0
    files_done: int = 0  # scanned (scanning) or written (embedding)
    chunks_total: int = 0  # chunks that need embedding
    chunks_done: int = 0
    source: str = ""  # the file being worked on
    elapsed_s: float = 0.0  # since embedding started

    @property
    def rate(self) -> float | None:
        """Chunks embedded per second."""
        return (
            self.chunks_done / self.elapsed_s if self.elapsed_s > 0 and self.chunks_done else None
        )


@dataclass(frozen=True, slots=True)
class FileResult:
    source: str
    status: FileStatus
    chunks: int  # chunks the source has now
    added: int = 0
    removed: int = 0


@dataclass(slots=True)
class IngestReport:
    collection: str
    embed_model: str
    files: list[FileResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0
    requests: int = 0  # embed requests sent
    elapsed_s: float = 0.0  # embedding phase

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def chunks_removed(self) -> int:
        return sum(f.removed for f in self.files)

    @property
    def rate(self) -> float | None:
        return (
            self.chunks_embedded / self.elapsed_s
            if self.elapsed_s > 0 and self.chunks_embedded
            else None
        )

    def summary(self) -> str:
        """`3 files added, 1 updated, 2 unchanged · 40 chunks embedded · 2 skipped`."""
        parts = []
        for status in ("added", "updated", "unchanged"):
            n = self.count(status)  # type: ignore[arg-type]
            if n:
                parts.append(f"{n} {status}")
        files = ", ".join(parts) or "no files"
        text = f"{files} · {self.chunks_embedded} chunk{'s' if self.chunks_embedded != 1 else ''} embedded"
        if self.chunks_removed:
            text += f" · {self.chunks_removed} removed"
        if self.skipped:
            text += f" · {len(self.skipped)} skipped"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "collection": self.collection,
            "embed_model": self.embed_model,
            "added": self.count("added"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "chunks_embedded": self.chunks_embedded,
            "chunks_removed": self.chunks_removed,
            "embed_requests": self.requests,
            "elapsed_s": round(self.elapsed_s, 3),
            "chunks_per_s": round(self.rate, 1) if self.rate else None,
            "files": [
                {
                    "source": f.source,
                    "status": f.status,
                    "chunks": f.chunks,
                    "added": f.added,
                    "removed": f.removed,
                }
                for f in self.files
            ],
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
        }


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(slots=True)
class _FileJob:
    """What one source needs: chunks to embed, kept chunks to renumber, stale ids to drop."""

    doc: Document
    chunks: list[Chunk]
    ids: list[str]
    todo: list[int]  # indexes into chunks that need a vector
    renumber: dict[str, int]
    stale: list[str]
    existed: bool
    vectors: dict[int, list[float]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return len(self.vectors) == len(self.todo)

    @property
    def unchanged(self) -> bool:
        return not self.todo and not self.stale and not self.renumber


async def ingest_paths(
    backend: Backend,
    store: RagStore,
    collection: str,
    paths: Sequence[Path],
    options: IngestOptions,
    *,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> IngestReport:
    """Add (or bring up to date) every readable file under `paths` in `collection`."""
    files, skipped = await asyncio.to_thread(discover, [Path(p) for p in paths])
    docs: list[Document] = []
    progress = IngestProgress("scanning", files_total=len(files))
    for n, path in enumerate(files):
        progress.source, progress.files_done = str(path), n
        _notify(on_progress, progress)
        result = await asyncio.to_thread(extract, path, options.max_file_bytes)
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            docs.append(result)
    return await ingest_documents(
        backend,
        store,
        collection,
        docs,
        options,
        on_progress=on_progress,
        skipped=skipped,
        clock=clock,
    )


async def ingest_documents(
    backend: Backend,
    store: RagStore,
    collection: str,
    docs: Sequence[Document],
    options: IngestOptions,
    *,
    on_progress: ProgressCallback | None = None,
    skipped: Sequence[Skipped] = (),
    clock: Callable[[], float] = time.perf_counter,
) -> IngestReport:
    """Chunk, embed and store documents whose text is already known."""
    check_name(collection)
    options.check()
    report = IngestReport(collection, options.embed_model, skipped=list(skipped))
    info: CollectionInfo | None = None
    if await asyncio.to_thread(store.exists, collection):
        info = await asyncio.to_thread(store.info, collection)
        check_compatible(info, options.embed_model)  # before any work: fail fast

    jobs = await asyncio.to_thread(_plan, store, collection, docs, options, info is not None)
    progress = IngestProgress(
        "embedding",
        files_total=len(jobs),
        chunks_total=sum(len(j.todo) for j in jobs),
    )
    queue: deque[tuple[_FileJob, int]] = deque((j, i) for j in jobs for i in j.todo)
    pending: deque[_FileJob] = deque(jobs)
    started = clock()

    async def write_ready() -> None:
        nonlocal info
        while pending and pending[0].ready:
            job = pending.popleft()
            if job.unchanged:
                report.files.append(FileResult(job.doc.source, "unchanged", len(job.chunks)))
            else:
                if info is None or info.dimension is None:
                    dim = len(next(iter(job.vectors.values()))) if job.vectors else None
                    if dim is not None:
                        info = await asyncio.to_thread(
                            store.ensure_collection, collection, options.embed_model, dim
                        )
                await _write(store, collection, job)
                report.files.append(
                    FileResult(
                        job.doc.source,
                        "updated" if job.existed else "added",
                        len(job.chunks),
                        added=len(job.todo),
                        removed=len(job.stale),
                    )
                )
            progress.files_done += 1
            progress.elapsed_s = clock() - started
            _notify(on_progress, progress)

    await write_ready()  # files with nothing to embed
    while queue:
        batch = [queue.popleft() for _ in range(min(options.batch_size, len(queue)))]
        progress.source = batch[0][0].doc.source
        vectors = await backend.embed([job.chunks[i].text for job, i in batch], options.embed_model)
        report.requests += 1
        dims = {len(v) for v in vectors}
        if len(dims) != 1 or 0 in dims:
            raise BadResponse(f"embeddings of sizes {sorted(dims)} from {options.embed_model}")
        dim = dims.pop()
        if info is not None:
            check_compatible(info, options.embed_model, dim)
        for (job, i), vector in zip(batch, vectors, strict=True):
            job.vectors[i] = vector
        report.chunks_embedded += len(batch)
        progress.chunks_done += len(batch)
        progress.elapsed_s = clock() - started
        _notify(on_progress, progress)
        await write_ready()
    report.elapsed_s = clock() - started
    progress.phase = "done"
    _notify(on_progress, progress)
    return report


def _plan(
    store: RagStore, collection: str, docs: Sequence[Document], options: IngestOptions, exists: bool
) -> list[_FileJob]:
    """Chunk each document and diff it against what the collection holds (runs in a thread)."""
    jobs: list[_FileJob] = []
    seen: set[str] = set()
    for doc in docs:
        if doc.source in seen:
            continue
        seen.add(doc.source)
        chunks = split_text(doc.text, options.chunk_size, options.overlap)
        ids = chunk_ids(doc.source, chunks)
        held = store.source_chunks(collection, doc.source) if exists else {}
        todo = [n for n, i in enumerate(ids) if i not in held]
        renumber = {i: n for n, i in enumerate(ids) if i in held and held[i] != n}
        new_ids = set(ids)
        stale = [i for i in held if i not in new_ids]
        jobs.append(_FileJob(doc, chunks, ids, todo, renumber, stale, existed=bool(held)))
    return jobs


async def _write(store: RagStore, collection: str, job: _FileJob) -> None:
    """One store call per file, finished even if the task is cancelled meanwhile."""
    records = [
        ChunkRecord(
            id=job.ids[i],
            embedding=job.vectors[i],
            text=job.chunks[i].text,
            chunk=i,
            page=job.doc.page_at(job.chunks[i].start),
        )
        for i in job.todo
    ]
    write = asyncio.ensure_future(
        asyncio.to_thread(
            store.write_source, collection, job.doc.source, records, job.renumber, job.stale
        )
    )
    try:
        await asyncio.shield(write)
    except asyncio.CancelledError:
        await write  # the thread cannot be stopped; let it complete the file, then stop
        raise


def _notify(callback: ProgressCallback | None, progress: IngestProgress) -> None:
    if callback is not None:
        callback(progress)
