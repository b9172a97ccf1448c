"""Ingest and retrieval end to end: real ChromaDB in a temporary folder, embeddings from the fake
server (which hashes words, so texts that share words are near), through our real backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from pislm_tui.backend import ModelNotFound
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.config import Paths, RagSettings
from pislm_tui.rag import (
    CollectionNotFound,
    Document,
    EmbeddingMismatch,
    IngestOptions,
    IngestProgress,
    RagStore,
    build_messages,
    ingest_documents,
    ingest_paths,
    retrieve,
)
from pislm_tui.rag.chunking import split_text
from pislm_tui.rag.sample import DEMO_CHUNK_SIZE, DEMO_COLLECTION, DEMO_QUESTION, sample_documents
from tests.fake_ollama import FakeOllama
from tests.helpers import wait_for
from tests.rag_helpers import make_corpus

OPTIONS = IngestOptions("nomic-embed-text", chunk_size=200, overlap=0, batch_size=32)


@pytest.fixture
async def backend(fake_ollama: FakeOllama) -> AsyncIterator[OllamaBackend]:
    b = OllamaBackend(fake_ollama.url)
    yield b
    await b.aclose()


@pytest.fixture
def store(tmp_path: Path) -> RagStore:
    paths = Paths(config_dir=tmp_path / "config", data_dir=tmp_path / "data")
    return RagStore.open(paths, RagSettings())


def embed_inputs(server: FakeOllama) -> list[list[str]]:
    return [r.json["input"] for r in server.requests_to("/api/embed")]


async def test_ingest_a_folder_skips_binaries_and_again_adds_nothing(
    backend: OllamaBackend, store: RagStore, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    files = make_corpus(tmp_path / "docs")
    seen: list[IngestProgress] = []
    report = await ingest_paths(
        backend,
        store,
        "docs",
        [tmp_path / "docs"],
        OPTIONS,
        on_progress=lambda p: seen.append(replace(p)),
    )
    added = {Path(f.source).name for f in report.files if f.status == "added"}
    assert added == {"rivers.md", "volcanoes.txt", "trains.pdf", "gardens.html"}
    assert {(Path(s.source).name, s.reason) for s in report.skipped} == {
        ("firmware.dat", "binary file"),
        ("empty.txt", "empty file"),
    }
    info = store.info("docs")
    assert info.embed_model == "nomic-embed-text" and info.dimension == 768
    assert info.count == report.chunks_embedded == sum(f.chunks for f in report.files)
    sources = {Path(s.source).name: s.chunks for s in store.sources("docs")}
    assert set(sources) == added
    # Progress: scanning each file, then embedding up to the total, then done.
    assert seen[0].phase == "scanning" and seen[-1].phase == "done"
    assert seen[-1].chunks_done == seen[-1].chunks_total == report.chunks_embedded
    assert seen[-1].files_done == 4
    # Batched: every request carries a list, all chunks in as few requests as the batch allows.
    inputs = embed_inputs(fake_ollama)
    assert all(isinstance(i, list) for i in inputs)
    assert (
        sum(len(i) for i in inputs) == report.chunks_embedded
        and report.requests == len(inputs) == 1
    )

    again = await ingest_paths(backend, store, "docs", [tmp_path / "docs"], OPTIONS)
    assert [f.status for f in again.files] == ["unchanged"] * 4
    assert again.chunks_embedded == 0 and again.requests == 0
    assert len(embed_inputs(fake_ollama)) == 1  # nothing was embedded again
    assert store.info("docs").count == info.count
    assert files["rivers"].exists()


async def test_a_changed_file_replaces_its_chunks_and_embeds_only_new_ones(
    backend: OllamaBackend, store: RagStore, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    paras = [f"Paragraph {n} talks about topic{n} and nothing else at all." for n in range(6)]
    doc = tmp_path / "notes.md"
    doc.write_text("\n\n".join(paras))
    options = IngestOptions("nomic-embed-text", chunk_size=60, overlap=0)
    first = await ingest_paths(backend, store, "notes", [doc], options)
    assert first.files[0].chunks == 6
    before = store.source_chunks("notes", str(doc))

    paras[2] = "Paragraph 2 now talks about glaciers instead."
    paras.insert(0, "A new first paragraph about deserts.")
    doc.write_text("\n\n".join(paras))
    fake_ollama.requests.clear()
    second = await ingest_paths(backend, store, "notes", [doc], options)
    [result] = second.files
    assert (result.status, result.added, result.removed, result.chunks) == ("updated", 2, 1, 7)
    assert embed_inputs(fake_ollama) == [[paras[0], paras[3]]]  # only the new paragraphs
    after = store.source_chunks("notes", str(doc))
    assert len(after) == 7 and store.info("notes").count == 7
    assert sorted(after.values()) == list(range(7))  # kept chunks were renumbered
    assert len(set(before) & set(after)) == 5
    hits = await retrieve(backend, store, "notes", "glaciers", 1)
    assert hits[0].text == paras[3] and hits[0].chunk == 3
    assert all("topic2" not in h.text for h in await retrieve(backend, store, "notes", "topic2", 7))


async def test_the_relevant_chunk_comes_first_with_source_chunk_and_distance(
    backend: OllamaBackend, store: RagStore, tmp_path: Path
) -> None:
    make_corpus(tmp_path / "docs")
    await ingest_paths(
        backend,
        store,
        "docs",
        [tmp_path / "docs"],
        IngestOptions("nomic-embed-text", chunk_size=120, overlap=0),
    )
    hits = await retrieve(backend, store, "docs", "Which volcano in Chile has a lava lake?", 3)
    assert len(hits) == 3
    assert Path(hits[0].source).name == "volcanoes.txt"
    assert hits[0].text.startswith("Villarrica is a volcano in Chile")
    assert hits[0].distance < hits[1].distance <= hits[2].distance
    trains = await retrieve(backend, store, "docs", "steam locomotives coal boilers", 1)
    assert Path(trains[0].source).name == "trains.pdf" and trains[0].page == 2
    # More than the collection holds: all of it, nearest first.
    assert len(await retrieve(backend, store, "docs", "rivers", 50)) == store.info("docs").count


async def test_a_question_in_another_language_still_retrieves_and_is_answered_in_it(
    backend: OllamaBackend, store: RagStore, fake_ollama: FakeOllama
) -> None:
    await ingest_documents(
        backend,
        store,
        DEMO_COLLECTION,
        sample_documents(),
        IngestOptions("nomic-embed-text", chunk_size=DEMO_CHUNK_SIZE, overlap=0),
    )
    question = "¿Cómo se comunican las abejas dónde están las flores?"
    hits = await retrieve(backend, store, DEMO_COLLECTION, question, 5)
    assert len(hits) == 5  # top-k always returns the nearest chunks
    system, user = build_messages(question, hits)
    assert "same language as the question" in system.content
    assert user.content.endswith(f"Question: {question}")
    first = await retrieve(backend, store, DEMO_COLLECTION, DEMO_QUESTION, 1)
    assert "waggle dance" in first[0].text


async def test_model_and_dimension_mismatches_are_refused(
    backend: OllamaBackend, store: RagStore, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("Bees dance to show where flowers grow.")
    await ingest_paths(backend, store, "docs", [doc], OPTIONS)
    fake_ollama.add_model(fake_ollama.registry["all-minilm:latest"])
    other = tmp_path / "b.txt"
    other.write_text("Ants follow scent trails.")

    with pytest.raises(EmbeddingMismatch, match="built with nomic-embed-text, not all-minilm"):
        await ingest_paths(
            backend, store, "docs", [other], IngestOptions("all-minilm", chunk_size=200, overlap=0)
        )
    with pytest.raises(EmbeddingMismatch, match="built with nomic-embed-text"):
        await retrieve(backend, store, "docs", "bees", 3, embed_model="all-minilm")
    assert store.info("docs").count == 1
    # The same name, a model of another size (re-pulled, or another model tagged the same):
    fake_ollama.remove_model("nomic-embed-text:latest")
    fake_ollama.add_model(
        fake_ollama.registry["all-minilm:latest"].with_name("nomic-embed-text:latest")
    )
    with pytest.raises(
        EmbeddingMismatch, match="384-dimensional vectors but collection 'docs' holds 768"
    ):
        await ingest_paths(backend, store, "docs", [other], OPTIONS)
    with pytest.raises(EmbeddingMismatch, match="384 dimensions"):
        await retrieve(backend, store, "docs", "bees", 3)
    assert store.info("docs").count == 1
    # Another collection may use the other model; the default name is the same model.
    await ingest_paths(backend, store, "ants", [other], IngestOptions("all-minilm:latest"))
    assert store.info("ants").dimension == 384
    assert [h.source for h in await retrieve(backend, store, "ants", "ants", 2)] == [str(other)]


async def test_a_missing_embedding_model_is_reported_and_nothing_is_created(
    backend: OllamaBackend, store: RagStore, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.remove_model("nomic-embed-text:latest")
    doc = tmp_path / "a.txt"
    doc.write_text("some words")
    with pytest.raises(ModelNotFound) as caught:
        await ingest_paths(backend, store, "docs", [doc], OPTIONS)
    assert caught.value.model == "nomic-embed-text" and caught.value.exit_code == 4
    assert not store.exists("docs")


async def test_cancel_never_leaves_half_a_file(
    backend: OllamaBackend, store: RagStore, fake_ollama: FakeOllama
) -> None:
    # Two sources of 6 chunks each, 2 chunks per request, 50 ms per request.
    docs = [
        Document(
            f"/virtual/{name}.md",
            "\n\n".join(f"{name} fact {i} about {name}{i}." for i in range(6)),
        )
        for name in ("first", "second")
    ]
    options = IngestOptions("nomic-embed-text", chunk_size=50, overlap=0, batch_size=2)
    assert len(split_text(docs[0].text, 50, 0)) == 6
    fake_ollama.embed_delay = 0.05
    seen: list[tuple[int, int]] = []
    task = asyncio.create_task(
        ingest_documents(
            backend,
            store,
            "docs",
            docs,
            options,
            on_progress=lambda p: seen.append((p.files_done, p.chunks_done)),
        )
    )
    # Cancel once the first file is written and part of the second is embedded.
    await wait_for(lambda: task.done() or any(f == 1 and c >= 8 for f, c in seen), timeout=10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [s.source for s in store.sources("docs")] == ["/virtual/first.md"]
    assert store.info("docs").count == 6
    # Running again completes the second file without re-embedding the first.
    fake_ollama.embed_delay = 0
    report = await ingest_documents(backend, store, "docs", docs, options)
    assert [(Path(f.source).name, f.status) for f in report.files] == [
        ("first.md", "unchanged"),
        ("second.md", "added"),
    ]
    assert store.info("docs").count == 12


async def test_batches_span_small_files(
    backend: OllamaBackend, store: RagStore, fake_ollama: FakeOllama
) -> None:
    docs = [Document(f"/virtual/{n}.txt", f"note {n} about item{n}") for n in range(70)]
    report = await ingest_documents(backend, store, "notes", docs, OPTIONS)
    assert [len(i) for i in embed_inputs(fake_ollama)] == [32, 32, 6]
    assert report.requests == 3 and store.info("notes").count == 70


async def test_store_management(backend: OllamaBackend, store: RagStore, tmp_path: Path) -> None:
    make_corpus(tmp_path / "docs")
    await ingest_paths(backend, store, "docs", [tmp_path / "docs"], OPTIONS)
    await ingest_documents(backend, store, "bee-facts", sample_documents(), OPTIONS)
    listed = store.list_collections(with_sources=True)
    assert [(c.name, c.sources, c.embed_model) for c in listed] == [
        ("bee-facts", 1, "nomic-embed-text"),
        ("docs", 4, "nomic-embed-text"),
    ]
    rivers = str(tmp_path / "docs" / "rivers.md")
    n = store.source_chunks("docs", rivers)
    assert store.remove_source("docs", rivers) == len(n) > 0
    assert rivers not in {s.source for s in store.sources("docs")}
    assert store.remove_source("docs", rivers) == 0
    count = store.info("bee-facts").count
    assert store.delete_collection("bee-facts") == count
    assert [c.name for c in store.list_collections()] == ["docs"]
    with pytest.raises(CollectionNotFound, match="there is no collection 'bee-facts'"):
        store.info("bee-facts")
    with pytest.raises(CollectionNotFound):
        await retrieve(backend, store, "bee-facts", "bees", 3)
    with pytest.raises(Exception, match="cannot be a collection name"):
        await ingest_documents(backend, store, "a b", sample_documents(), OPTIONS)


async def test_the_store_persists_on_disk(backend: OllamaBackend, tmp_path: Path) -> None:
    """A second process sees what the first wrote (the directory is the store)."""
    import subprocess
    import sys

    paths = Paths(config_dir=tmp_path / "c", data_dir=tmp_path / "d")
    store = RagStore.open(paths, RagSettings())
    await ingest_documents(backend, store, "bee-facts", sample_documents(), OPTIONS)
    code = (
        "from pathlib import Path; from pislm_tui.config import Paths, RagSettings;"
        "from pislm_tui.rag import RagStore;"
        f"s = RagStore.open(Paths(Path({str(paths.config_dir)!r}), Path({str(paths.data_dir)!r})), RagSettings());"
        "print([(c.name, c.count) for c in s.list_collections()])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"[('bee-facts', {store.info('bee-facts').count})]"
