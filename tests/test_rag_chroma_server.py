"""Server mode (`rag.chroma_url`): a real `chroma run` on loopback, started here on a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.config import Paths, RagSettings
from pislm_tui.rag import (
    EmbeddingMismatch,
    IngestOptions,
    RagStore,
    StoreUnreachable,
    ingest_documents,
    ingest_paths,
    retrieve,
)
from pislm_tui.rag.sample import DEMO_QUESTION, sample_documents
from tests.fake_ollama import FakeOllama
from tests.helpers import wait_for_sync
from tests.rag_helpers import make_corpus

CHROMA = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
pytestmark = pytest.mark.skipif(CHROMA is None, reason="the `chroma` executable is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert CHROMA is not None
    port = _free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [CHROMA, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin", "HOME": str(folder)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_sync(lambda: proc.poll() is not None or _alive(url), timeout=60, what="chroma run")
        assert proc.poll() is None, "chroma run exited"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def backend(fake_ollama: FakeOllama) -> AsyncIterator[OllamaBackend]:
    b = OllamaBackend(fake_ollama.url)
    yield b
    await b.aclose()


async def test_server_mode_ingests_retrieves_and_refuses_mismatches(
    chroma_url: str, backend: OllamaBackend, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    paths = Paths(config_dir=tmp_path / "c", data_dir=tmp_path / "d")
    store = RagStore.open(paths, RagSettings(chroma_url=chroma_url))
    assert store.where == chroma_url
    options = IngestOptions("nomic-embed-text", chunk_size=120, overlap=0)
    make_corpus(tmp_path / "docs")
    report = await ingest_paths(backend, store, "server-docs", [tmp_path / "docs"], options)
    assert report.count("added") == 4
    again = await ingest_paths(backend, store, "server-docs", [tmp_path / "docs"], options)
    assert again.chunks_embedded == 0 and again.count("unchanged") == 4
    hits = await retrieve(
        backend, store, "server-docs", "Which volcano in Chile has a lava lake?", 2
    )
    assert hits[0].text.startswith("Villarrica")
    assert not paths.chroma_dir.exists()  # nothing was written locally

    fake_ollama.add_model(fake_ollama.registry["all-minilm:latest"])
    with pytest.raises(EmbeddingMismatch, match="built with nomic-embed-text"):
        await ingest_documents(
            backend, store, "server-docs", sample_documents(), IngestOptions("all-minilm")
        )
    await ingest_documents(backend, store, "server-bees", sample_documents(), options)
    names = {c.name: c for c in store.list_collections(with_sources=True)}
    assert names["server-bees"].sources == 1 and names["server-docs"].sources == 4
    assert "waggle" in (await retrieve(backend, store, "server-bees", DEMO_QUESTION, 1))[0].text
    assert store.delete_collection("server-bees") == names["server-bees"].count


def test_an_unreachable_server_is_reported(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    paths = Paths(config_dir=tmp_path / "c", data_dir=tmp_path / "d")
    with pytest.raises(StoreUnreachable) as caught:
        RagStore.open(paths, RagSettings(chroma_url=url))
    assert caught.value.exit_code == 3
    assert str(caught.value).startswith(f"cannot reach the Chroma server at {url} — start it")
    started = time.monotonic()
    with pytest.raises(Exception, match="is not an http"):
        RagStore.open(paths, RagSettings(chroma_url="ftp://example.org"))
    assert time.monotonic() - started < 5
