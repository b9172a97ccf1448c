"""Retrieval and the grounded answer: embed the question with the collection's own model, take
the k nearest chunks, and ask the chat model to answer from them only. `Question` runs both
steps the way the RAG tab and `pislm rag ask` show them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pislm_tui.backend.errors import UsageError
from pislm_tui.backend.types import ChatChunk, Message
from pislm_tui.rag.records import RetrievedChunk, check_compatible
from pislm_tui.rag.store import RagStore
from pislm_tui.text import StreamCleaner

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.backend.stats import GenerationStats
    from pislm_tui.config import RagSettings

SYSTEM_PROMPT = """\
You answer questions using only the numbered context passages the user gives you.
- Base every statement on the context. Do not add facts from your own knowledge.
- If the context does not contain the answer, say that the documents do not say, in one \
sentence, and stop.
- Answer in the same language as the question, even when the context is in another language.
- Be brief. Cite the passages you used by their numbers, like [1] or [2][3]."""


async def retrieve(
    backend: Backend,
    store: RagStore,
    collection: str,
    question: str,
    k: int,
    *,
    embed_model: str | None = None,
) -> list[RetrievedChunk]:
    """The `k` chunks nearest to `question`, nearest first. The question is embedded with the
    model the collection was built with; asking for another one (`embed_model`) is refused."""
    question = question.strip()
    if not question:
        raise UsageError("the question is empty")
    if k < 1:
        raise UsageError(f"k must be at least 1 (got {k})")
    info = await asyncio.to_thread(store.info, collection)
    model = info.embed_model or embed_model
    if model is None:
        raise UsageError(
            f"collection '{collection}' does not record its embedding model",
            "it was not made by pislm; pass the model it was built with",
        )
    if embed_model is not None:
        check_compatible(info, embed_model)
    if info.count == 0:
        return []
    [vector] = await backend.embed([question], model)
    return await asyncio.to_thread(store.query, collection, vector, k)


def build_messages(question: str, chunks: Sequence[RetrievedChunk]) -> list[Message]:
    """The grounded prompt: rules in the system message, numbered passages and the question in
    the user message."""
    if chunks:
        passages = "\n\n".join(
            f"[{n}] (from {label(c)})\n{c.text.strip()}" for n, c in enumerate(chunks, start=1)
        )
    else:
        passages = "(no passages: the collection is empty)"
    user = f"Context:\n\n{passages}\n\nQuestion: {question.strip()}"
    return [Message("system", SYSTEM_PROMPT), Message("user", user)]


def label(chunk: RetrievedChunk) -> str:
    """`notes.md #3` or `report.pdf p.2 #7`: a short name for a chunk."""
    name = chunk.source.rsplit("/", 1)[-1] or chunk.source
    page = f" p.{chunk.page}" if chunk.page else ""
    return f"{name}{page} #{chunk.chunk}"


def answer_options(rag: RagSettings) -> dict[str, Any]:
    """The lab's sampling for grounded answers: little randomness, so the answer stays close to
    the context."""
    return {"temperature": rag.temperature, "top_k": rag.sampling_top_k, "top_p": rag.top_p}


def stream_answer(
    backend: Backend,
    model: str,
    question: str,
    chunks: Sequence[RetrievedChunk],
    options: Mapping[str, Any],
    keep_alive: str | None = None,
) -> AsyncIterator[ChatChunk]:
    return backend.chat(
        model, build_messages(question, chunks), options=options, keep_alive=keep_alive
    )


class Question:
    """One question to a collection: `retrieve()` the nearest chunks, then `stream()` the answer
    grounded in them, as text cleaned of escape codes (model output is data). The clock runs
    from the question to the end of the answer, retrieval included (`elapsed_s`)."""

    def __init__(
        self,
        backend: Backend,
        store: RagStore,
        collection: str,
        text: str,
        *,
        k: int,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.backend, self.store = backend, store
        self.collection, self.text, self.k = collection, text, k
        self._clock = clock
        self.started = clock()
        self.hits: list[RetrievedChunk] = []
        self.answer = ""  # the cleaned text so far
        self.stats: GenerationStats | None = None  # the model's figures, at the end
        self._cleaner = StreamCleaner()

    async def retrieve(self) -> list[RetrievedChunk]:
        """The `k` nearest chunks, nearest first (none: the collection is empty)."""
        self.hits = await retrieve(self.backend, self.store, self.collection, self.text, self.k)
        return self.hits

    async def stream(
        self, model: str, options: Mapping[str, Any], keep_alive: str | None = None
    ) -> AsyncIterator[str]:
        """The answer from the chunks retrieved, piece by piece. When it stops early (an
        error, a cancel), `rest()` gives the characters the cleaner still holds."""
        async for part in stream_answer(
            self.backend, model, self.text, self.hits, options, keep_alive
        ):
            text = self._cleaner.feed(part.content)
            if text:
                self.answer += text
                yield text
            if part.done:
                self.stats = part.stats
        tail = self.rest()
        if tail:
            yield tail

    def rest(self) -> str:
        tail = self._cleaner.flush()
        self.answer += tail
        return tail

    @property
    def elapsed_s(self) -> float:
        return self._clock() - self.started
