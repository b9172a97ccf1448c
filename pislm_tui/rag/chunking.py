"""Split a text into chunks of at most `size` characters, on the most natural boundary that fits
(paragraphs, then lines, then sentences, then words), neighbouring chunks sharing up to
`overlap` characters of whole pieces so a fact cut at a boundary is still found whole.

Each chunk gets an id from its source and content (see `chunk_ids`), which is what makes
ingesting an unchanged file a no-op and a changed file a replacement."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# Boundaries, most natural first. Each keeps its separator at the end of the piece before it,
# so pieces laid end to end are the text again.
_BOUNDARIES = (
    re.compile(r"\n\s*\n"),  # paragraphs
    re.compile(r"\n"),  # lines
    re.compile(r"(?<=[.!?。！？])\s+"),  # sentences
    re.compile(r"\s+"),  # words
)


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int  # 0-based position in its source
    text: str
    start: int  # offset of the chunk's first character in the source text


def split_text(text: str, size: int, overlap: int) -> list[Chunk]:
    """Chunks of at most `size` characters (whitespace at their ends trimmed)."""
    if size < 1:
        raise ValueError("chunk size must be positive")
    overlap = max(0, min(overlap, size // 2))  # more would make chunks repeat themselves
    spans = _pieces(text, 0, len(text), 0, size)
    chunks: list[Chunk] = []
    window: list[tuple[int, int]] = []

    def emit() -> None:
        start, end = window[0][0], window[-1][1]
        body = text[start:end]
        stripped = body.strip()
        lead = len(body) - len(body.lstrip())
        covered = chunks[-1].start + len(chunks[-1].text) if chunks else 0
        # Nothing but whitespace after the previous chunk: it would repeat the overlap only.
        if stripped and start + lead + len(stripped) > covered:
            chunks.append(Chunk(len(chunks), stripped, start + lead))

    for span in spans:
        if window and span[1] - window[0][0] > size:
            emit()
            # Keep the trailing pieces that fit in the overlap (and leave room for this one).
            while window and (
                window[-1][1] - window[0][0] > overlap or span[1] - window[0][0] > size
            ):
                window.pop(0)
        window.append(span)
    if window:
        emit()
    return chunks


def _pieces(text: str, start: int, end: int, level: int, size: int) -> list[tuple[int, int]]:
    """Spans of at most `size` covering text[start:end], split at the first boundary kind that
    occurs in the span; a word longer than `size` is cut."""
    if end - start <= size:
        return [(start, end)]
    if level >= len(_BOUNDARIES):
        return [(i, min(i + size, end)) for i in range(start, end, size)]
    cuts = [m.end() for m in _BOUNDARIES[level].finditer(text, start, end) if m.end() < end]
    if not cuts:
        return _pieces(text, start, end, level + 1, size)
    out: list[tuple[int, int]] = []
    for a, b in zip([start, *cuts], [*cuts, end], strict=True):
        if b > a:
            out.extend(_pieces(text, a, b, level + 1, size))
    return out


def chunk_ids(source: str, chunks: list[Chunk]) -> list[str]:
    """Stable ids: a hash of the source, the chunk text and how many identical chunks came
    before it in the same source (so a repeated paragraph still gets its own id)."""
    seen: dict[str, int] = {}
    ids = []
    for chunk in chunks:
        n = seen.get(chunk.text, 0)
        seen[chunk.text] = n + 1
        digest = hashlib.sha256(f"{source}\x00{n}\x00{chunk.text}".encode()).hexdigest()
        ids.append(digest[:32])
    return ids
