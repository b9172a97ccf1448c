"""`pislm rag ...` in-process through the real dispatcher, against the fake server and a real
ChromaDB under the test's home."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pislm_tui.cli import main
from tests.fake_ollama import FakeOllama, Reply
from tests.rag_helpers import make_corpus


@pytest.fixture
def run(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]):
    """`run(*args)` -> (exit code, stdout, stderr) of `pislm --host <fake> args...`."""

    def call(*args: str, host: str | None = None) -> tuple[int, str, str]:
        code = main([*args, "--host", host or fake_ollama.url])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_demo_then_ask_with_json(run, fake_ollama: FakeOllama) -> None:
    code, out, _ = run("rag", "demo")
    assert code == 0
    assert "added    sample:bee_facts.md (39 chunks)" in out
    assert (
        'try: pislm rag ask bee-facts "How do bees tell each other where the flowers are?"' in out
    )

    fake_ollama.script(Reply(text="They dance the waggle dance [1]."))
    code, out, err = run("rag", "ask", "bee-facts", "How do bees tell where flowers are?", "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["answer"] == "They dance the waggle dance [1]."
    assert doc["model"] == "llama3.2:1b"  # the first installed chat model
    assert len(doc["sources"]) == 5
    first = doc["sources"][0]
    assert set(first) >= {"source", "chunk", "distance", "text"}
    assert first["source"] == "sample:bee_facts.md" and "waggle dance" in first["text"]
    assert [s["distance"] for s in doc["sources"]] == sorted(s["distance"] for s in doc["sources"])
    assert doc["stats"]["eval_count"] > 0
    [chat] = fake_ollama.requests_to("/api/chat")
    assert chat.json["options"] == {"temperature": 0.0, "top_k": 10, "top_p": 0.5}
    system, user = chat.json["messages"]
    assert "only the numbered context" in system["content"]
    assert "waggle dance" in user["content"] and user["content"].endswith(
        "Question: How do bees tell where flowers are?"
    )


def test_ask_prints_sources_and_figures_on_stderr_and_the_clean_answer_on_stdout(
    run, fake_ollama: FakeOllama
) -> None:
    run("rag", "demo")
    fake_ollama.script(Reply(text="Bees \x1b[31mdance\x1b]0;pwned\x07 [1]."))
    code, out, err = run(
        "rag", "ask", "bee-facts", "how", "do", "bees", "dance", "--k", "2", "--model", "qwen3:1.7b"
    )
    assert code == 0
    assert out == "Bees dance [1].\n"
    lines = err.splitlines()
    assert len(lines) == 4, err
    assert lines[0] == "Sources:"
    assert lines[1].startswith("  [1] sample:bee_facts.md #") and "distance 0." in lines[1]
    assert lines[3].startswith("answered by qwen3:1.7b in ")
    chat = fake_ollama.requests_to("/api/chat")[-1].json
    assert chat["model"] == "qwen3:1.7b" and chat["messages"][1]["content"].count("(from ") == 2


def test_rag_model_setting_is_used_for_answers(run, fake_ollama: FakeOllama, monkeypatch) -> None:
    run("rag", "demo")
    monkeypatch.setenv("PISLM_RAG__MODEL", "gemma2:2b")
    monkeypatch.setenv("PISLM_RAG__TOP_K", "3")
    code, out, _ = run("rag", "ask", "bee-facts", "queen", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["model"] == "gemma2:2b" and len(doc["sources"]) == 3


def test_add_a_folder_then_again_then_manage_it(run, tmp_path: Path) -> None:
    make_corpus(tmp_path / "docs")
    code, out, _ = run(
        "rag", "add", "docs", str(tmp_path / "docs"), "--chunk-size", "120", "--overlap", "0"
    )
    assert code == 0
    assert f"added    {tmp_path / 'docs' / 'rivers.md'} (" in out
    assert f"skipped  {tmp_path / 'docs' / 'firmware.dat'}: binary file" in out
    assert f"skipped  {tmp_path / 'docs' / 'empty.txt'}: empty file" in out
    assert out.splitlines()[-1].startswith("docs: 4 added · ")

    code, out, _ = run(
        "rag",
        "add",
        "docs",
        str(tmp_path / "docs"),
        "--chunk-size",
        "120",
        "--overlap",
        "0",
        "--json",
    )
    report = json.loads(out)
    assert (report["unchanged"], report["added"], report["chunks_embedded"]) == (4, 0, 0)
    assert {s["reason"] for s in report["skipped"]} == {"binary file", "empty file"}

    code, out, _ = run("rag", "ls")
    assert out.splitlines()[0].split() == ["NAME", "CHUNKS", "SOURCES", "EMBED", "MODEL", "DIM"]
    assert out.splitlines()[1].split()[::2] == ["docs", "4", "768"]

    code, out, _ = run("rag", "ls", "docs", "--json")
    listing = json.loads(out)
    assert listing["embed_model"] == "nomic-embed-text"
    assert {Path(s["source"]).name for s in listing["sources"]} == {
        "rivers.md",
        "volcanoes.txt",
        "trains.pdf",
        "gardens.html",
    }

    rivers = tmp_path / "docs" / "rivers.md"
    code, out, _ = run("rag", "rm", "docs", "--source", str(rivers))
    assert code == 0 and out.startswith(f"removed {rivers} from 'docs' (")
    code, _, err = run("rag", "rm", "docs", "--source", str(rivers))
    assert code == 2 and "holds nothing from" in err

    code, out, _ = run("rag", "rm", "docs")
    assert code == 0 and out.startswith("deleted collection 'docs' (")
    code, out, _ = run("rag", "ls", "--json")
    assert json.loads(out)["collections"] == []
    code, out, _ = run("rag", "ls")
    assert out.startswith("no collections yet")


def test_a_missing_embedding_model_exits_4_with_the_pull_hint(
    run, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    (tmp_path / "a.md").write_text("words")
    fake_ollama.remove_model("nomic-embed-text:latest")
    code, out, err = run("rag", "add", "docs", str(tmp_path / "a.md"))
    assert code == 4 and out == ""
    assert "model 'nomic-embed-text' is not installed" in err
    assert "pislm pull nomic-embed-text" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rag"], "say what to do"),
        (["rag", "add", "docs", "/no/such/file"], "no such file or folder: /no/such/file"),
        (["rag", "add", "bad name", "."], "cannot be a collection name"),
        (["rag", "add", "docs", ".", "--overlap", "2000"], "overlap 2000 must be"),
        (["rag", "ask", "nothing-here", "why?"], "there is no collection 'nothing-here'"),
        (["rag", "ask", "nothing-here", "why?", "--k", "0"], "--k must be at least 1"),
        (["rag", "rm", "nothing-here"], "there is no collection 'nothing-here'"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_server_down_exits_3_and_a_cut_stream_keeps_what_arrived(
    run, fake_ollama: FakeOllama
) -> None:
    run("rag", "demo")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, _, err = run("rag", "ask", "bee-facts", "queen", host=closed)
    assert code == 3 and "cannot reach Ollama" in err

    fake_ollama.script(Reply(text="The queen lays eggs all day long.", drop_after=3))
    code, out, err = run("rag", "ask", "bee-facts", "queen")
    assert code == 5
    assert out == "The queen lays"
    assert "the reply was cut off" in err


def test_ask_an_empty_collection(run, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("Some words about owls.")
    run("rag", "add", "owls", str(doc))
    run("rag", "rm", "owls", "--source", str(doc))
    code, _, err = run("rag", "ask", "owls", "owls?")
    assert code == 2 and "collection 'owls' is empty" in err
    assert fake_ollama.requests_to("/api/chat") == []


def test_an_openai_compatible_server_works_too(run, fake_ollama: FakeOllama) -> None:
    url = f"{fake_ollama.url}/v1"
    code, out, _ = run("rag", "demo", "--api", "openai", host=url)
    assert code == 0 and "39 chunks" in out
    inputs = [r.json["input"] for r in fake_ollama.requests_to("/v1/embeddings")]
    assert [len(i) for i in inputs] == [32, 7]  # batched through /v1 as well
    fake_ollama.script(Reply(text="By dancing [1]."))
    code, out, _ = run(
        "rag", "ask", "bee-facts", "waggle dance", "--api", "openai", "--json", host=url
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["answer"] == "By dancing [1]." and "waggle dance" in doc["sources"][0]["text"]
