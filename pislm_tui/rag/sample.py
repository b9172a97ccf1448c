"""The lab's knowledge base, bee facts, shipped as package data so a new user can try RAG with
one action (`pislm rag demo`, or `d` in the RAG tab)."""

from __future__ import annotations

from importlib import resources

from pislm_tui.rag.extract import Document, normalise

DEMO_COLLECTION = "bee-facts"
DEMO_SOURCE = "sample:bee_facts.md"
DEMO_QUESTION = "How do bees tell each other where the flowers are?"
# Every fact is one short paragraph: chunks just larger than the longest fact keep one fact per
# chunk (as the lab embedded them), so retrieval returns whole facts.
DEMO_CHUNK_SIZE = 210
DEMO_OVERLAP = 0


def sample_text() -> str:
    return (resources.files("pislm_tui.rag") / "data" / "bee_facts.md").read_text(encoding="utf-8")


def sample_documents() -> list[Document]:
    return [Document(DEMO_SOURCE, normalise(sample_text()), "text")]
