"""RAG text handling without a server: discovery, extraction (text, HTML, PDF, binaries),
chunking with overlap, chunk ids, and the grounded prompt."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest

from pislm_tui.rag import SYSTEM_PROMPT, RetrievedChunk, build_messages, label
from pislm_tui.rag.chunking import chunk_ids, split_text
from pislm_tui.rag.extract import Document, Skipped, decode_text, discover, extract, html_to_text
from pislm_tui.rag.sample import DEMO_CHUNK_SIZE, sample_documents, sample_text
from tests.rag_helpers import make_corpus, make_pdf

MB = 1_000_000


def test_discover_walks_folders_in_order_and_leaves_out_hidden_files(tmp_path: Path) -> None:
    files = make_corpus(tmp_path / "docs")
    (tmp_path / "docs" / ".git").mkdir()
    (tmp_path / "docs" / ".git" / "config").write_text("[core]")
    (tmp_path / "docs" / "node_modules").mkdir()
    (tmp_path / "docs" / "node_modules" / "x.js").write_text("x")
    found, skipped = discover([tmp_path / "docs", files["rivers"], tmp_path / "missing.md"])
    names = [p.relative_to(tmp_path / "docs").as_posix() for p in found]
    assert names == [
        "empty.txt",
        "firmware.dat",
        "rivers.md",
        "trains.pdf",
        "volcanoes.txt",
        "sub/gardens.html",
    ]  # rivers.md given twice, listed once
    assert skipped == [Skipped(str(tmp_path / "missing.md"), "no such file or folder")]


def test_discover_reports_broken_links(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("fine")
    os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")
    found, skipped = discover([tmp_path])
    assert [p.name for p in found] == ["ok.txt"]
    assert skipped == [Skipped(str(tmp_path / "dangling.txt"), "broken link")]


def test_extract_reads_each_kind_and_skips_with_reasons(tmp_path: Path) -> None:
    files = make_corpus(tmp_path)
    rivers = extract(files["rivers"], MB)
    assert isinstance(rivers, Document) and rivers.kind == "text"
    assert "Amazon river carries more water" in rivers.text

    page = extract(files["page"], MB)
    assert isinstance(page, Document) and page.kind == "html"
    assert "Tulips bloom in spring in the gardens of the Netherlands & Belgium." in page.text
    assert "color" not in page.text and "var tulips" not in page.text and "<" not in page.text

    pdf = extract(files["trains"], MB)
    assert isinstance(pdf, Document) and pdf.kind == "pdf"
    assert "Shinkansen bullet trains" in pdf.text and "Steam locomotives" in pdf.text
    assert len(pdf.pages) == 2
    assert pdf.page_at(pdf.text.index("Shinkansen")) == 1
    assert pdf.page_at(pdf.text.index("Steam")) == 2

    assert extract(files["binary"], MB) == Skipped(str(files["binary"]), "binary file")
    assert extract(files["empty"], MB) == Skipped(str(files["empty"]), "empty file")
    assert extract(files["rivers"], 10).reason.startswith("larger than")  # type: ignore[union-attr]


def test_extract_skips_known_binaries_bad_pdfs_and_textless_pdfs(tmp_path: Path) -> None:
    png = tmp_path / "photo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    blank = tmp_path / "scan.pdf"
    blank.write_bytes(make_pdf([""]))
    assert extract(png, MB) == Skipped(str(png), "binary file (.png)")
    bad = extract(broken, MB)
    assert isinstance(bad, Skipped) and bad.reason.startswith("unreadable PDF")
    assert extract(blank, MB) == Skipped(
        str(blank), "PDF without a text layer (scanned? pislm does no OCR)"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_extract_reports_an_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("private")
    locked.chmod(0)
    assert extract(locked, MB) == Skipped(str(locked), "permission denied")


def test_text_decoding_and_unknown_suffixes(tmp_path: Path) -> None:
    assert decode_text("café".encode("cp1252")) == "café"
    assert decode_text("\ufeffhello".encode()) == "hello"
    assert decode_text("hi there".encode("utf-16")) == "hi there"
    # No suffix, but text: read. An HTML page without .html: its tags are removed.
    readme = tmp_path / "README"
    readme.write_text("Plain words\r\n\r\n\r\n\r\nmore words   \n")
    page = tmp_path / "saved"
    page.write_text("<!DOCTYPE html><html><body><p>Hello</p><p>World</p></body></html>")
    doc = extract(readme, MB)
    assert isinstance(doc, Document) and doc.text == "Plain words\n\nmore words"
    html = extract(page, MB)
    assert isinstance(html, Document) and html.kind == "html" and html.text == "Hello\n\nWorld"


def test_html_to_text_keeps_paragraphs_lists_and_pre() -> None:
    text = html_to_text(
        "<h1>Title</h1><ul><li>one</li><li>two &lt;b&gt;</li></ul>"
        "<pre>code   kept\n  indented</pre><p>a<br>b</p><table><tr><td>x</td><td>y</td></tr></table>"
    )
    assert text.split("\n\n") == [
        "Title",
        "- one",
        "- two <b>",
        "code   kept\nindented",
        "a\nb",
        "x y",
    ]


def test_chunks_respect_the_size_and_cover_the_text() -> None:
    paragraphs = [
        f"Paragraph {i} " + " ".join(f"w{i}x{j}" for j in range(i * 9)) + "." for i in range(15)
    ]
    text = "\n\n".join(paragraphs)
    chunks = split_text(text, 200, 40)
    assert all(len(c.text) <= 200 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert text[c.start : c.start + len(c.text)] == c.text
    joined = " ".join(c.text for c in chunks)
    for word in re.findall(r"\S+", text):
        assert word in joined


def test_small_paragraphs_stay_whole_and_neighbours_overlap() -> None:
    text = "\n\n".join(f"Fact number {i} is short." for i in range(10))
    chunks = split_text(text, 80, 30)
    assert all(c.text.startswith("Fact number") and c.text.endswith("short.") for c in chunks)
    for a, b in itertools.pairwise(chunks):
        last = a.text.split("\n\n")[-1]
        assert b.text.startswith(last)  # the overlap: the last paragraph comes again
    plain = [p for c in split_text(text, 80, 0) for p in c.text.split("\n\n")]
    assert plain == text.split("\n\n")  # no overlap: every paragraph exactly once


def test_long_sentences_and_words_are_cut() -> None:
    sentences = "This is a sentence. " * 30
    chunks = split_text(sentences, 100, 25)
    assert all(c.text.endswith(".") and len(c.text) <= 100 for c in chunks)
    assert chunks[1].start == 80  # one sentence (20 chars) shared with the chunk before
    word = split_text("x" * 250, 100, 0)
    assert [len(c.text) for c in word] == [100, 100, 50]
    assert split_text("   \n\n  ", 100, 10) == []


def test_chunk_ids_depend_on_source_and_content_only() -> None:
    chunks = split_text("alpha\n\nbeta\n\nalpha", 10, 0)
    ids = chunk_ids("a.md", chunks)
    assert len(set(ids)) == 3  # a repeated paragraph still gets its own id
    assert chunk_ids("a.md", chunks) == ids
    assert set(chunk_ids("b.md", chunks)).isdisjoint(ids)
    moved = split_text("gamma\n\nalpha\n\nbeta\n\nalpha", 10, 0)
    assert set(ids) <= set(chunk_ids("a.md", moved))  # unchanged paragraphs keep their ids


def test_the_sample_is_package_data_with_one_fact_per_chunk() -> None:
    text = sample_text()
    assert text.startswith("# Bee facts") and "waggle dance" in text
    [doc] = sample_documents()
    chunks = split_text(doc.text, DEMO_CHUNK_SIZE, 0)
    assert len(chunks) >= 35
    assert any(
        c.text.startswith("Bees tell each other where flowers are")
        and c.text.endswith("tells the distance.")
        for c in chunks
    )


def test_the_grounded_prompt() -> None:
    chunks = [
        RetrievedChunk("/docs/volcanoes.txt", 1, 0.12, "Villarrica is a volcano in Chile."),
        RetrievedChunk("/docs/trains.pdf", 3, 0.4, "Steam locomotives burned coal.", page=2),
    ]
    system, user = build_messages("  ¿Qué volcán tiene un lago de lava?  ", chunks)
    assert system.role == "system" and system.content == SYSTEM_PROMPT
    assert "only the numbered context" in SYSTEM_PROMPT
    assert "does not contain the answer" in SYSTEM_PROMPT
    assert "same language as the question" in SYSTEM_PROMPT
    assert user.role == "user"
    assert "[1] (from volcanoes.txt #1)\nVillarrica is a volcano in Chile." in user.content
    assert "[2] (from trains.pdf p.2 #3)\nSteam locomotives burned coal." in user.content
    assert user.content.endswith("Question: ¿Qué volcán tiene un lago de lava?")
    assert label(chunks[1]) == "trains.pdf p.2 #3"
