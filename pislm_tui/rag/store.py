"""The ChromaDB store: a local directory (`PersistentClient`) or a Chroma server (`HttpClient`,
for `rag.chroma_url`). chromadb costs ~1.5 s and ~80 MB to import, so it is imported in `open()`,
the first time RAG is used; every method is synchronous and may be slow, so UI code calls them
from a thread.

Collections are created without an embedding function: pislm always passes its own vectors
(chromadb's default function would download a model). Each collection records the embedding
model and dimension in its metadata, and anything that would mix vectors of another model or
size is refused."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pislm_tui.backend.errors import PislmError, UsageError
from pislm_tui.rag.errors import (
    CollectionNotFound,
    EmbeddingMismatch,
    StoreError,
    StoreOpenFailed,
    StoreUnreachable,
)

# The records live in records.py (no chromadb there); widgets/ still import some from here.
from pislm_tui.rag.records import (
    META_DIMENSION,
    META_MODEL,
    ChunkRecord,
    CollectionInfo,
    RetrievedChunk,
    SourceInfo,
    check_compatible,
    check_name,
    chunk_metadata,
    collection_info,
)

if TYPE_CHECKING:
    from pathlib import Path

    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from pislm_tui.config import Paths, RagSettings

T = TypeVar("T")


class RagStore:
    """One connection to a Chroma store. Thread-safe: calls are serialised by a lock (Chroma's
    local store is not built for concurrent writers)."""

    def __init__(self, client: ClientAPI, where: str) -> None:
        self._client = client
        self.where = where  # the directory or URL, for messages
        self._lock = threading.RLock()
        self._max_batch: int | None = None

    @classmethod
    def open(cls, paths: Paths, settings: RagSettings) -> RagStore:
        """Open the store the settings point at (the local directory unless `chroma_url`)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if settings.chroma_url:
            url = settings.chroma_url
            parts = urlsplit(url if "://" in url else f"http://{url}")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"rag.chroma_url '{url}' is not an http(s) URL")
            try:
                client = chromadb.HttpClient(
                    host=parts.hostname,
                    port=parts.port or (443 if parts.scheme == "https" else 8000),
                    ssl=parts.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception:  # chromadb raises ValueError("Could not connect ...")
                raise StoreUnreachable(url) from None
            return cls(client, url)
        where = paths.chroma_dir
        aside = (
            f"move it aside (rename it to {where.name}.broken) and add your documents again; "
            "pislm starts a new store there"
        )
        try:
            where.mkdir(parents=True, exist_ok=True)
            client = _open_persistent(chromadb, where, chroma_settings)
        except (FileExistsError, NotADirectoryError):
            raise StoreOpenFailed(f"{where} is not a folder", aside) from None
        except OSError as exc:
            raise StoreOpenFailed(
                f"cannot open {where}: {exc.strerror or exc}",
                "fix its permissions or free some disk space",
            ) from None
        except Exception as exc:
            if any(s in str(exc) for s in ("not a database", "malformed", "corrupt")):
                raise StoreOpenFailed(f"{where} is damaged ({exc})", aside) from None
            raise StoreOpenFailed(
                f"cannot open {where} ({exc})",
                "is another program using it? if it stays so, " + aside,
            ) from None
        return cls(client, str(where))

    def close(self) -> None:
        """Nothing to flush (Chroma writes through); kept so callers can be tidy."""

    # -- errors ---------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], *, collection: str | None = None) -> T:
        """Run a Chroma call under the lock, turning its exceptions into ours."""
        from chromadb.errors import ChromaError, InvalidArgumentError, NotFoundError

        with self._lock:
            try:
                return fn()
            except PislmError:
                raise
            except NotFoundError:
                if collection is not None:
                    raise CollectionNotFound(collection) from None
                raise StoreError("not found") from None
            except InvalidArgumentError as exc:
                if "dimension" in str(exc):
                    raise EmbeddingMismatch(
                        f"collection '{collection}' holds vectors of another size ({exc})",
                        "ask with the embedding model the collection was built with",
                    ) from None
                raise StoreError(str(exc)) from None
            except ValueError as exc:
                if "Could not connect" in str(exc) and self.where.startswith("http"):
                    raise StoreUnreachable(self.where) from None
                raise StoreError(str(exc)) from None
            except ChromaError as exc:
                raise StoreError(str(exc) or type(exc).__name__) from None
            except OSError as exc:
                if self.where.startswith("http"):
                    raise StoreUnreachable(self.where) from None
                raise StoreError(exc.strerror or str(exc)) from None
            except Exception as exc:
                # httpx errors from a server, sqlite errors from a damaged directory, ...
                name = type(exc).__name__
                if self.where.startswith("http") and ("Connect" in name or "Timeout" in name):
                    raise StoreUnreachable(self.where) from None
                raise StoreError(f"{name}: {exc}") from None

    def _get(self, name: str) -> Collection:
        return self._client.get_collection(name, embedding_function=None)

    # -- collections ----------------------------------------------------------------------

    def list_collections(self, *, with_sources: bool = False) -> list[CollectionInfo]:
        """Every collection, by name, with chunk counts (and source counts when asked)."""

        def run() -> list[CollectionInfo]:
            out = []
            for col in self._client.list_collections():
                collection = col if hasattr(col, "count") else self._get(str(col))
                sources = len(self._source_counts(collection)) if with_sources else None
                out.append(collection_info(collection, sources))
            return sorted(out, key=lambda c: c.name.lower())

        return self._call(run)

    def info(self, name: str) -> CollectionInfo:
        return self._call(lambda: collection_info(self._get(name)), collection=name)

    def exists(self, name: str) -> bool:
        try:
            self.info(name)
        except CollectionNotFound:
            return False
        return True

    def ensure_collection(self, name: str, embed_model: str, dimension: int) -> CollectionInfo:
        """Create the collection for this model and size, or check that an existing one was made
        with them. An empty collection without a recorded model adopts this one."""
        check_name(name)

        def run() -> CollectionInfo:
            col = self._client.get_or_create_collection(
                name,
                embedding_function=None,
                metadata={META_MODEL: embed_model, META_DIMENSION: dimension},
                configuration={"hnsw": {"space": "cosine"}},
            )
            info = collection_info(col)
            if info.embed_model is None and info.count == 0:
                meta = {**(col.metadata or {}), META_MODEL: embed_model, META_DIMENSION: dimension}
                col.modify(metadata=meta)
                return collection_info(col)
            check_compatible(info, embed_model, dimension)
            return info

        return self._call(run, collection=name)

    def delete_collection(self, name: str) -> int:
        """Delete a collection; returns how many chunks it held."""

        def run() -> int:
            count = self._get(name).count()
            self._client.delete_collection(name)
            return count

        return self._call(run, collection=name)

    # -- sources --------------------------------------------------------------------------

    @staticmethod
    def _source_counts(col: Collection) -> Counter[str]:
        metas = col.get(include=["metadatas"])["metadatas"] or []
        return Counter(str((m or {}).get("source", "?")) for m in metas)

    def sources(self, name: str) -> list[SourceInfo]:
        def run() -> list[SourceInfo]:
            counts = self._source_counts(self._get(name))
            return [SourceInfo(s, n) for s, n in sorted(counts.items())]

        return self._call(run, collection=name)

    def source_chunks(self, name: str, source: str) -> dict[str, int]:
        """id -> chunk number of what the collection holds for `source` ({} for a new name)."""

        def run() -> dict[str, int]:
            try:
                col = self._get(name)
            except Exception as exc:
                if type(exc).__name__ == "NotFoundError":
                    return {}
                raise
            got = col.get(where={"source": source}, include=["metadatas"])
            return {
                i: int((m or {}).get("chunk", -1))
                for i, m in zip(got["ids"], got["metadatas"] or [], strict=False)
            }

        return self._call(run, collection=name)

    def write_source(
        self,
        name: str,
        source: str,
        new: Sequence[ChunkRecord],
        renumber: dict[str, int],
        stale: Sequence[str],
    ) -> None:
        """Bring `source` up to date in one go: add the new chunks, renumber kept ones, then drop
        the stale ones. New before stale, so an interruption leaves too much, never a gap."""

        def run() -> None:
            col = self._get(name)
            step = self._batch_limit()
            for i in range(0, len(new), step):
                part = new[i : i + step]
                col.upsert(
                    ids=[r.id for r in part],
                    embeddings=[r.embedding for r in part],
                    documents=[r.text for r in part],
                    metadatas=[chunk_metadata(source, r.chunk, r.page) for r in part],
                )
            items = list(renumber.items())
            for i in range(0, len(items), step):
                part_items = items[i : i + step]
                got = col.get(ids=[k for k, _ in part_items], include=["metadatas"])
                metas = {
                    k: dict(m or {})
                    for k, m in zip(got["ids"], got["metadatas"] or [], strict=False)
                }
                col.update(
                    ids=[k for k, _ in part_items],
                    metadatas=[{**metas.get(k, {}), "chunk": n} for k, n in part_items],
                )
            for i in range(0, len(stale), step):
                col.delete(ids=list(stale[i : i + step]))

        self._call(run, collection=name)

    def remove_source(self, name: str, source: str) -> int:
        """Remove one source's chunks; returns how many there were."""

        def run() -> int:
            col = self._get(name)
            ids = col.get(where={"source": source}, include=[])["ids"]
            if ids:
                col.delete(ids=ids)
            return len(ids)

        return self._call(run, collection=name)

    # -- search ---------------------------------------------------------------------------

    def query(self, name: str, embedding: Sequence[float], k: int) -> list[RetrievedChunk]:
        """The `k` nearest chunks, nearest first."""

        def run() -> list[RetrievedChunk]:
            col = self._get(name)
            info = collection_info(col)
            if info.dimension and len(embedding) != info.dimension:
                raise EmbeddingMismatch(
                    f"the question's vector has {len(embedding)} dimensions but collection "
                    f"'{name}' holds {info.dimension}-dimensional ones",
                    f"it was built with {info.embed_model}; is that model still the same?",
                )
            n = min(k, info.count)
            if n <= 0:
                return []
            r = col.query(
                query_embeddings=[list(embedding)],
                n_results=n,
                include=["documents", "metadatas", "distances"],
            )
            docs = (r.get("documents") or [[]])[0]
            metas = (r.get("metadatas") or [[]])[0]
            dists = (r.get("distances") or [[]])[0]
            out = []
            for text, meta, dist in zip(docs, metas, dists, strict=False):
                meta = meta or {}
                page = meta.get("page")
                out.append(
                    RetrievedChunk(
                        source=str(meta.get("source", "?")),
                        chunk=int(meta.get("chunk", 0)),
                        distance=float(dist),
                        text=text or "",
                        page=int(page) if isinstance(page, int | float) else None,
                    )
                )
            return out

        return self._call(run, collection=name)

    def _batch_limit(self) -> int:
        if self._max_batch is None:
            try:
                self._max_batch = max(1, int(self._client.get_max_batch_size()))
            except Exception:
                self._max_batch = 1000
        return self._max_batch


def _open_persistent(chromadb: Any, where: Path, settings: Any) -> Any:
    """`PersistentClient`, tried again when another pislm is creating the same new store at
    that moment (Chroma's first-run migrations then collide: "table … already exists",
    "database is locked")."""
    from chromadb.api.shared_system_client import SharedSystemClient

    for attempt in range(5):
        try:
            return chromadb.PersistentClient(path=str(where), settings=settings)
        except Exception as exc:
            if not any(s in str(exc) for s in ("already exists", "database is locked")):
                raise
            SharedSystemClient.clear_system_cache()  # drop the half-opened system
            time.sleep(0.2 * (attempt + 1))
    return chromadb.PersistentClient(path=str(where), settings=settings)  # last try: errors out
