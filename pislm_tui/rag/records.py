"""What a RAG collection holds and how it is described, without chromadb: the records written and
found (ChunkRecord, RetrievedChunk), a collection's and a source's summary (CollectionInfo,
SourceInfo), the metadata a collection keeps (its embedding model and dimension), and the rules
store.py enforces with them: a valid name (`check_name`) and no mixing of models or vector
sizes in one collection (`check_compatible`, `same_model`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import UsageError
from pislm_tui.rag.errors import EmbeddingMismatch

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

META_MODEL = "embed_model"
META_DIMENSION = "dimension"
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


@dataclass(frozen=True, slots=True)
class RetrievedChunk:
    """A chunk found for a question. `distance` is cosine distance (0 = same direction)."""

    source: str
    chunk: int
    distance: float
    text: str
    page: int | None = None


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    name: str
    count: int
    embed_model: str | None
    dimension: int | None
    sources: int | None = None  # filled by list_collections(with_sources=True)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    source: str
    chunks: int


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One chunk to write: its id, vector, text and metadata."""

    id: str
    embedding: list[float]
    text: str
    chunk: int
    page: int | None = None


def same_model(a: str | None, b: str | None) -> bool:
    """`nomic-embed-text` and `nomic-embed-text:latest` are one model."""
    if a is None or b is None:
        return a == b

    def norm(name: str) -> str:
        name = name.strip().lower()
        return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"

    return norm(a) == norm(b)


def check_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise UsageError(
            f"'{name}' cannot be a collection name",
            "use 3-512 letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
        )
    return name


def check_compatible(info: CollectionInfo, embed_model: str, dimension: int | None = None) -> None:
    """Refuse to mix models or vector sizes in one collection."""
    if info.embed_model is not None and not same_model(info.embed_model, embed_model):
        raise EmbeddingMismatch(
            f"collection '{info.name}' was built with {info.embed_model}, not {embed_model}",
            f"use --embed-model {info.embed_model}, or another collection for {embed_model}",
        )
    if dimension is not None and info.dimension is not None and info.dimension != dimension:
        raise EmbeddingMismatch(
            f"{embed_model} makes {dimension}-dimensional vectors but collection "
            f"'{info.name}' holds {info.dimension}-dimensional ones",
            "the model changed since the collection was built; add to a new collection",
        )


def collection_info(col: Collection, sources: int | None = None) -> CollectionInfo:
    """A Chroma collection described: its size, and the model and dimension its metadata keeps."""
    meta: dict[str, Any] = dict(col.metadata or {})
    model = meta.get(META_MODEL)
    dim = meta.get(META_DIMENSION)
    return CollectionInfo(
        name=col.name,
        count=col.count(),
        embed_model=str(model) if model else None,
        dimension=int(dim) if isinstance(dim, int | float) else None,
        sources=sources,
    )


def chunk_metadata(source: str, chunk: int, page: int | None) -> dict[str, str | int]:
    """What Chroma keeps beside a chunk's text: where it came from (`query` reads it back)."""
    meta: dict[str, str | int] = {"source": source, "chunk": chunk}
    if page is not None:
        meta["page"] = page
    return meta
