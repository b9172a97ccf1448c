"""RAG's own errors. All are `PislmError`s, so the UI shows them and the CLI exits with their code."""

from __future__ import annotations

from pislm_tui.backend.errors import EXIT_UNREACHABLE, PislmError, UsageError


class CollectionNotFound(UsageError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"there is no collection '{name}'",
            f"list them with `pislm rag ls`; create it with `pislm rag add {name} PATH`",
        )


class EmbeddingMismatch(UsageError):
    """A collection is searched or extended with vectors of another model or size."""


class StoreError(PislmError):
    """ChromaDB failed (a damaged or read-only store, a server-side error)."""

    def __init__(self, detail: str, hint: str | None = None) -> None:
        self.detail = detail
        super().__init__(f"the document store failed: {detail}", hint)


class StoreUnavailable(PislmError):
    """The document store cannot be reached (a Chroma server) or opened (the local folder):
    nothing in RAG works until it is back. It is the store's outage, not the model server's, so
    the app does not re-check Ollama for it (only `ServerUnreachable` does that)."""


class StoreOpenFailed(StoreError, StoreUnavailable):
    """The local store's folder cannot be opened: not a folder, no permission, damaged, or held
    by another program. Its hint says what to do with the folder."""


class StoreUnreachable(StoreUnavailable):
    """The Chroma server at `rag.chroma_url` does not answer. Exit code 3, as for Ollama."""

    exit_code = EXIT_UNREACHABLE

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"cannot reach the Chroma server at {url}",
            "start it with `chroma run --path DIR`, or remove rag.chroma_url from the config "
            "to use the local store",
        )
