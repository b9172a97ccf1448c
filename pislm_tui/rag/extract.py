"""Find files under the paths a user gives and turn each into plain text.

Text, Markdown, reStructuredText, CSV, JSON, source code and other UTF-8 text files are read as
they are; HTML loses its tags, scripts and styles; PDFs go through pypdf (imported only when a
PDF turns up). Anything else — images, archives, binaries, unreadable or empty files — is
skipped with a reason the user can read."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path


def _suffixes(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Read as text without sniffing (HTML and PDF have their own readers).
TEXT_SUFFIXES = _suffixes(
    ".txt .text .md .markdown .mdown .rst .adoc .org .tex .csv .tsv .json .jsonl .ndjson .yaml "
    ".yml .toml .ini .cfg .conf .xml .log .srt .vtt .py .pyi .js .mjs .ts .tsx .jsx .c .h .cc "
    ".cpp .hpp .cxx .rs .go .java .kt .kts .scala .swift .rb .php .pl .pm .lua .r .jl .sh .bash "
    ".zsh .fish .ps1 .bat .sql .css .scss .less .vue .svelte .ex .exs .erl .hs .ml .clj .dart "
    ".m .mm .cs .fs .vb .zig .nim .el .vim .dockerfile .makefile .cmake .gradle .properties"
)
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
# Skipped without opening them: their bytes are never useful text.
BINARY_SUFFIXES = _suffixes(
    ".png .jpg .jpeg .gif .bmp .webp .tif .tiff .ico .heic .svgz .mp3 .wav .flac .ogg .m4a .mp4 "
    ".mkv .avi .mov .webm .zip .gz .tgz .bz2 .xz .zst .7z .rar .tar .deb .rpm .iso .img .dmg "
    ".exe .dll .so .dylib .o .a .bin .elf .class .jar .war .pyc .pyo .whl .gguf .safetensors "
    ".pt .pth .onnx .npy .npz .pkl .db .sqlite .sqlite3 .parquet .woff .woff2 .ttf .otf .eot "
    ".doc .docx .xls .xlsx .ppt .pptx .odt .ods .odp .epub"
)
# Folders that hold tooling, not documents; hidden folders are skipped too.
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages"})
_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class Document:
    """The text of one source. `pages` holds the offset where each PDF page starts."""

    source: str
    text: str
    kind: str = "text"  # text, html, pdf
    pages: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """1-based page number of a text offset (PDFs only)."""
        if not self.pages:
            return None
        page = 0
        for number, start in enumerate(self.pages):
            if start > offset:
                break
            page = number
        return page + 1


@dataclass(frozen=True, slots=True)
class Skipped:
    source: str
    reason: str


def discover(paths: list[Path]) -> tuple[list[Path], list[Skipped]]:
    """Regular files under `paths` (folders walked in name order, hidden entries and tooling
    folders left out, symlinked folders not followed), each once."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        try:
            real = path.resolve()
        except OSError as exc:
            skipped.append(Skipped(str(path), _os_reason(exc)))
            return
        if real not in seen:
            seen.add(real)
            files.append(real)

    for root in paths:
        root = root.expanduser()
        if root.is_file():
            add(root)
        elif root.is_dir():
            walk_errors: list[OSError] = []
            for folder, dirs, names in os.walk(root, onerror=walk_errors.append):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
                for name in sorted(names):
                    path = Path(folder) / name
                    if name.startswith("."):
                        continue
                    if path.is_file():
                        add(path)
                    elif not path.exists():
                        skipped.append(Skipped(str(path), "broken link"))
            skipped.extend(Skipped(str(e.filename or root), _os_reason(e)) for e in walk_errors)
        elif root.exists():
            skipped.append(Skipped(str(root), "not a regular file"))
        else:
            skipped.append(Skipped(str(root), "no such file or folder"))
    return files, skipped


def extract(path: Path, max_bytes: int) -> Document | Skipped:
    """The text of one file, or why it was skipped. Never raises for a bad file."""
    source = str(path)
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if size == 0:
            return Skipped(source, "empty file")
        if size > max_bytes:
            return Skipped(source, f"larger than {_mb(max_bytes)} (rag.max_file_mb)")
        if suffix in BINARY_SUFFIXES:
            return Skipped(source, f"binary file ({suffix})")
        if suffix in PDF_SUFFIXES:
            return _pdf(path)
        data = path.read_bytes()
    except OSError as exc:
        return Skipped(source, _os_reason(exc))
    if looks_binary(data[:_SNIFF_BYTES]):
        return Skipped(source, "binary file")
    text = decode_text(data)
    if text is None:
        return Skipped(source, "not text in a known encoding")
    kind = "text"
    if suffix in HTML_SUFFIXES or (suffix not in TEXT_SUFFIXES and _is_html(text)):
        text, kind = html_to_text(text), "html"
    text = normalise(text)
    if not text.strip():
        return Skipped(source, "no text in it")
    return Document(source, text, kind)


def looks_binary(head: bytes) -> bool:
    """NUL bytes, or many control characters, mean a binary file."""
    if not head:
        return False
    if b"\x00" in head:
        # UTF-16 text has NULs too; its byte-order mark says so.
        return not head.startswith((b"\xff\xfe", b"\xfe\xff"))
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head) > 0.05


def decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 (old Windows text)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return None


_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_TRAILING = re.compile(r"[ \t]+\n")


def normalise(text: str) -> str:
    """One newline style, no trailing blanks, at most one empty line in a row, no NULs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _TRAILING.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def _is_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html"))


class _HtmlText(HTMLParser):
    """Visible text with paragraphs kept: block elements become blank lines."""

    _BLOCKS = _suffixes(
        "p div section article header footer main aside nav ul ol li dl dt dd table tr h1 h2 h3 "
        "h4 h5 h6 pre blockquote figure figcaption form fieldset details summary hr title"
    )
    _HIDDEN = frozenset({"script", "style", "noscript", "template", "svg", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._in_title = False
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._HIDDEN:
            self._hidden += 1
        if tag == "pre":
            self._pre += 1
        if tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._HIDDEN and self._hidden:
            self._hidden -= 1
        if tag == "pre" and self._pre:
            self._pre -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.parts.append(data.strip())  # the title is worth keeping although in <head>
        elif not self._hidden:
            self.parts.append(data if self._pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was parsed
        pass
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.split("\n")]
    return normalise("\n".join(lines))


def _pdf(path: Path) -> Document | Skipped:
    import pypdf  # ~0.2 s: only when a PDF turns up
    from pypdf.errors import PdfReadError

    source = str(path)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings would go to the terminal
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            return Skipped(source, "encrypted PDF")
        pages: list[int] = []
        parts: list[str] = []
        offset = 0
        for page in reader.pages:
            text = normalise(page.extract_text() or "")
            pages.append(offset)
            parts.append(text)
            offset += len(text) + 2  # the "\n\n" that joins pages
    except (PdfReadError, OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return Skipped(source, f"unreadable PDF ({type(exc).__name__}: {exc})")
    except Exception as exc:  # pypdf raises many kinds on damaged files; a bad file is no crash
        return Skipped(source, f"unreadable PDF ({type(exc).__name__})")
    text = "\n\n".join(parts)
    if not text.strip():
        return Skipped(source, "PDF without a text layer (scanned? pislm does no OCR)")
    return Document(source, text, "pdf", tuple(pages))


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "no such file or folder"
    return exc.strerror or type(exc).__name__
