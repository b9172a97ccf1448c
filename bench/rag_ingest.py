"""RAG ingest throughput: 2,000 chunks embedded and stored, batched (`rag.batch_size` texts per
`/api/embed` request) against one request per chunk (the lab's way), in one run. The fake
server runs in its own process and adds a fixed delay to every embed request (default 20 ms,
about what a Pi 5 spends per request around the model itself); ChromaDB is real, in a
temporary folder.

    .venv/bin/python bench/rag_ingest.py [--chunks 2000] [--delay 0.02] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, FakeServer, table

sys.path.insert(0, str(ROOT))

from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.config import Paths, RagSettings
from pislm_tui.rag import Document, IngestOptions, RagStore, ingest_documents
from pislm_tui.rag.chunking import split_text

WORDS = [
    "river",
    "valley",
    "mountain",
    "bridge",
    "garden",
    "cloud",
    "train",
    "music",
    "city",
    "forest",
    "harbour",
    "desert",
    "glacier",
    "meadow",
    "island",
    "canyon",
    "lake",
    "village",
    "tower",
    "market",
]
PER_DOC = 100  # chunks per document: ingest writes one document at a time
CHUNK_SIZE = 100  # each paragraph below (~80 characters) is exactly one chunk


def documents(total: int) -> list[Document]:
    docs = []
    for d in range(0, total, PER_DOC):
        paragraphs = []
        for i in range(d, min(d + PER_DOC, total)):
            words = " ".join(WORDS[(i * k + k) % len(WORDS)] for k in range(1, 8))
            paragraphs.append(f"Note {i}: the {words} item{i}.")
        docs.append(Document(f"/bench/doc{d // PER_DOC:03d}.md", "\n\n".join(paragraphs)))
    return docs


async def run_one(url: str, store: RagStore, name: str, docs: list[Document], batch: int) -> dict:
    backend = OllamaBackend(url, read_timeout=600)
    options = IngestOptions("nomic-embed-text", chunk_size=CHUNK_SIZE, overlap=0, batch_size=batch)
    try:
        started = time.perf_counter()
        report = await ingest_documents(backend, store, name, docs, options)
        wall = time.perf_counter() - started
    finally:
        await backend.aclose()
    return {
        "chunks": report.chunks_embedded,
        "requests": report.requests,
        "seconds": wall,
        "rate": report.chunks_embedded / wall,
    }


def row(label: str, r: dict, delay: float) -> list[str]:
    waited = r["requests"] * delay  # the server's added delay alone
    return [label, str(r["requests"]), f"{waited:.2f}", f"{r['seconds']:.2f}", f"{r['rate']:.0f}"]


async def main_async(args: argparse.Namespace) -> None:
    docs = documents(args.chunks)
    chunks = sum(len(split_text(d.text, CHUNK_SIZE, 0)) for d in docs)
    assert chunks == args.chunks, f"{chunks} chunks instead of {args.chunks}"
    server = FakeServer("--embed-delay", str(args.delay))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            paths = Paths(config_dir=Path(tmp) / "config", data_dir=Path(tmp) / "data")
            store = await asyncio.to_thread(RagStore.open, paths, RagSettings())
            batched = await run_one(server.url, store, "bench-batched", docs, args.batch_size)
            single = await run_one(server.url, store, "bench-single", docs, 1)
    finally:
        server.stop()
    print(
        f"{args.chunks} chunks, {args.delay * 1000:g} ms added per embed request, "
        f"ChromaDB on disk\n"
    )
    rows = [
        row(f"batched ({args.batch_size}/request)", batched, args.delay),
        row("one request per chunk (the lab's way)", single, args.delay),
    ]
    print(table(rows, ["ingest", "requests", "delay s", "seconds", "chunks/s"]))
    print(
        f"\nbatched ingest is {batched['rate'] / single['rate']:.1f}x faster than one request per chunk"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds added per embed request")
    parser.add_argument("--batch-size", type=int, default=RagSettings().batch_size)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
