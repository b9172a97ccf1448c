"""The RAG services the tab and `pislm rag` share, without Textual: `IngestJob` (one signature for
files and the sample, progress, stopping), `Question` (retrieval, then the cleaned answer and its
figures), `AsyncRagStore` (every store call off the event loop, shown with a Chroma server whose
network hangs) and `RagSession` (the store opening, failed or open). Real ChromaDB in a temporary
folder or `chroma run`, the fake server for embeddings and answers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from pislm_tui.backend.errors import ServerUnreachable, UsageError
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.config import Paths, RagSettings
from pislm_tui.rag import (
    AsyncRagStore,
    IngestJob,
    Question,
    RagSession,
    StoreError,
    StoreOpenFailed,
    StoreUnavailable,
    StoreUnreachable,
    answer_options,
)
from pislm_tui.rag.sample import DEMO_COLLECTION, DEMO_QUESTION, DEMO_SOURCE
from pislm_tui.rag.session import STILL_OPENING
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import wait_for
from tests.rag_helpers import CHROMA, ChromaServer, StallingLink, free_port, make_corpus

needs_chroma = pytest.mark.skipif(CHROMA is None, reason="the `chroma` executable is not installed")


@pytest.fixture
async def backend(fake_ollama: FakeOllama) -> AsyncIterator[OllamaBackend]:
    b = OllamaBackend(fake_ollama.url)
    yield b
    await b.aclose()


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(config_dir=tmp_path / "config", data_dir=tmp_path / "data")


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    yield server
    server.stop()


@pytest.fixture
def link(chroma: ChromaServer) -> Iterator[StallingLink]:
    """The way to the Chroma server, which the test can make hang."""
    link = StallingLink(chroma.port)
    yield link
    link.close()


async def loop_turns_while(pending: Callable[[], bool], turns: int = 10) -> int:
    """Let the event loop turn up to `turns` times (20 ms apart) while `pending()` holds; how
    many it did. A store call that blocked the loop would stop the count."""
    for n in range(turns):
        if not pending():
            return n
        await asyncio.sleep(0.02)
    return turns


# -- IngestJob ---------------------------------------------------------------------------------


def test_jobs_take_the_settings_with_the_users_choices_and_check_their_input(
    tmp_path: Path,
) -> None:
    rag = RagSettings(embed_model="all-minilm", chunk_size=500, chunk_overlap=50, batch_size=8)
    job = IngestJob.files(rag, "notes", [tmp_path], chunk_size=300)
    assert job.options.embed_model == "all-minilm" and job.options.batch_size == 8
    assert (job.options.chunk_size, job.options.overlap) == (300, 50)
    job.check()
    demo = IngestJob.demo(rag)
    assert demo.collection == DEMO_COLLECTION and demo.question == DEMO_QUESTION
    assert [d.source for d in demo.documents] == [DEMO_SOURCE]
    assert demo.options.embed_model == "all-minilm" and demo.options.overlap == 0

    with pytest.raises(UsageError, match="cannot be a collection name"):
        IngestJob.files(rag, "a", [tmp_path]).check()
    with pytest.raises(UsageError, match=r"no such file or folder: .*missing"):
        IngestJob.files(rag, "notes", [tmp_path / "missing"]).check()
    with pytest.raises(UsageError, match="overlap 300 must be"):
        IngestJob.files(rag, "notes", [tmp_path], chunk_size=300, overlap=300).check()


async def test_a_job_adds_files_keeps_its_progress_and_a_stopped_one_counts_whole_files(
    backend: OllamaBackend, fake_ollama: FakeOllama, paths: Paths, tmp_path: Path
) -> None:
    store = await AsyncRagStore.open(paths, RagSettings())
    make_corpus(tmp_path / "docs")
    rag = RagSettings(chunk_size=120, chunk_overlap=0)
    job = IngestJob.files(rag, "docs", [tmp_path / "docs"])
    seen: list[str] = []
    report = await job.run(backend, store.sync, on_progress=lambda p: seen.append(p.phase))
    assert report.count("added") == 4 and len(report.skipped) == 2
    assert seen[0] == "scanning" and seen[-1] == "done"
    assert job.progress is not None and job.files_stored == 4

    # Stopped mid-way (one chunk per request, each answered slowly): whole files only, counted.
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(6):
        (folder / f"note{n}.md").write_text(
            "\n\n".join(f"Note {n} paragraph {i} about topic{n}x{i}." for i in range(4))
        )
    fake_ollama.embed_delay = 0.05
    job = IngestJob.files(RagSettings(batch_size=1), "many", [folder], chunk_size=50, overlap=0)
    running = asyncio.ensure_future(job.run(backend, store.sync))
    await wait_for(
        lambda: (
            job.progress is not None
            and job.progress.files_done >= 1
            and job.progress.chunks_done % 4 == 2
        ),
        what="mid-file",
    )
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    stored = await store.sources("many")
    assert job.files_stored == len(stored) and 1 <= len(stored) < 6
    assert all(s.chunks == 4 for s in stored)
    assert IngestJob.files(rag, "x-y", []).files_stored == 0  # nothing run yet


# -- Question --------------------------------------------------------------------------------


async def test_a_question_retrieves_then_streams_a_clean_answer_with_its_figures(
    backend: OllamaBackend, fake_ollama: FakeOllama, paths: Paths
) -> None:
    store = await AsyncRagStore.open(paths, RagSettings())
    await IngestJob.demo(RagSettings()).run(backend, store.sync)
    clock = itertools.count(10.0, 0.5).__next__
    question = Question(backend, store.sync, DEMO_COLLECTION, DEMO_QUESTION, k=3, clock=clock)
    hits = await question.retrieve()
    assert len(hits) == 3 and "waggle" in hits[0].text and question.hits == hits
    fake_ollama.script(Reply(text="They \x1b[31mdance\x1b[0m [1]."))
    parts = [p async for p in question.stream("llama3.2:1b", answer_options(RagSettings()))]
    assert "".join(parts) == question.answer == "They dance [1]."
    assert question.stats is not None and question.stats.eval_count
    assert question.elapsed_s == 0.5  # one reading at the question, one at the end
    chat = fake_ollama.requests_to("/api/chat")[-1].json
    assert chat["messages"][1]["content"].endswith(f"Question: {DEMO_QUESTION}")

    # A stream cut off: what arrived is kept, and the cleaner's rest is there to show.
    fake_ollama.script(Reply(text="The queen lays many eggs.", drop_after=3))
    cut = Question(backend, store.sync, DEMO_COLLECTION, "Who lays eggs?", k=2)
    await cut.retrieve()
    with pytest.raises(Exception, match="cut off"):
        async for _ in cut.stream("llama3.2:1b", {}):
            pass
    assert cut.answer + cut.rest() == "The queen lays"


# -- AsyncRagStore: off the loop -----------------------------------------------------------------


@needs_chroma
async def test_store_calls_leave_the_loop_running_while_the_chroma_server_does_not_answer(
    paths: Paths, link: StallingLink
) -> None:
    store = await AsyncRagStore.open(paths, RagSettings(chroma_url=link.url))
    for name in ("stall-notes", "stall-old"):
        await asyncio.to_thread(store.sync.ensure_collection, name, "nomic-embed-text", 4)
    link.stall()
    calls = [
        asyncio.ensure_future(store.list_collections(with_sources=True)),
        asyncio.ensure_future(store.sources("stall-notes")),
        asyncio.ensure_future(store.delete_collection("stall-old")),
    ]
    turned = await loop_turns_while(lambda: not any(c.done() for c in calls))
    assert turned == 10 and not link.gave_up  # the loop turned while every call waited
    link.flow()
    listed, sources, deleted = await asyncio.gather(*calls)
    assert not link.gave_up
    assert "stall-notes" in {c.name for c in listed} and sources == [] and deleted == 0
    assert "stall-old" not in {c.name for c in await store.list_collections()}


# -- RagSession ------------------------------------------------------------------------------------


@needs_chroma
async def test_the_session_says_the_store_is_still_opening_then_opens(
    paths: Paths, link: StallingLink
) -> None:
    session = RagSession(RagSettings(chroma_url=link.url))
    assert session.unavailable() == STILL_OPENING  # not even started: nothing to use yet
    link.stall()  # opening asks the server: it waits, the loop does not
    opening = asyncio.ensure_future(session.open(paths))
    assert await loop_turns_while(lambda: not opening.done()) == 10
    assert session.opening and session.store is None and session.unavailable() == STILL_OPENING
    link.flow()
    store = await opening
    assert not link.gave_up
    assert session.store is store and not session.opening and session.unavailable() is None
    assert store.where == link.url


async def test_a_store_that_cannot_be_opened_is_the_stores_error_not_the_servers(
    paths: Paths,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    session = RagSession(RagSettings(chroma_url=url))
    with pytest.raises(StoreUnreachable) as caught:
        await session.open(paths)
    error = caught.value
    assert isinstance(error, StoreUnavailable) and not isinstance(error, ServerUnreachable)
    assert error.exit_code == 3  # the CLI's code is unchanged
    assert session.error is error and not session.opening
    assert session.unavailable() == f"{error}\nPress r to try again."
    assert "start it with `chroma run" in str(error)

    paths.data_dir.mkdir(parents=True)
    paths.chroma_dir.write_text("not a folder")
    local = RagSession(RagSettings())
    with pytest.raises(StoreOpenFailed) as failed:
        await local.open(paths)
    assert isinstance(failed.value, StoreUnavailable) and isinstance(failed.value, StoreError)
    assert failed.value.exit_code == 5
    assert "is not a folder — move it aside" in str(failed.value)


def test_the_session_picks_the_chat_model_and_knows_what_the_results_are_about() -> None:
    session = RagSession(RagSettings())
    assert session.chat_model("llama3.2:1b", ["qwen3:0.6b"]) == "llama3.2:1b"
    assert session.chat_model(None, ["qwen3:0.6b", "gemma3:1b"]) == "qwen3:0.6b"
    assert session.chat_model(None, []) is None
    assert RagSession(RagSettings(model="gemma3:1b")).chat_model("x", ["y"]) == "gemma3:1b"

    assert session.moved_to("bees") and session.results_for == "bees"
    assert not session.moved_to("bees")  # still about it: the results stay
    assert session.moved_to(None) and session.results_for is None

    assert session.is_embed_model("nomic-embed-text:latest", "docs", None)  # the default
    assert not session.is_embed_model("llama3.2:1b", "docs", None)
