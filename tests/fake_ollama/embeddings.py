"""Deterministic, meaningful embeddings: feature hashing of stemmed words.

Texts that share words get a high cosine similarity, unrelated texts ~0, so RAG retrieval
tests behave like they would with a real embedding model, without any model.
"""

from __future__ import annotations

import hashlib
import math
import re

from .knowledge import fold

_WORD_RE = re.compile(r"[a-z0-9]+")
# Words that carry no topic; hashing them would make every pair of sentences look similar.
_STOP_WORDS = """a an the and or of to in on at for with by is are was were be been it its this that
these those as from what which who how why do does did i you he she we they me my your"""
_STOP = frozenset(_STOP_WORDS.split())


def stem(word: str) -> str:
    """A crude stemmer: enough for "rivers"/"river" and "running"/"run" to collide."""
    for suffix in ("ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # "runn" -> "run"
    return word


def words(text: str) -> list[str]:
    found = [stem(w) for w in _WORD_RE.findall(fold(text))]
    return [w for w in found if w not in _STOP] or found


def _bucket(token: str, dims: int) -> tuple[int, float]:
    h = hashlib.blake2b(token.encode(), digest_size=8).digest()
    n = int.from_bytes(h, "little")
    return n % dims, (1.0 if (n >> 63) & 1 else -1.0)


def embed_text(text: str, dims: int) -> list[float]:
    """An L2-normalised `dims`-vector for `text` (never NaN; empty text has a fixed vector)."""
    vec = [0.0] * dims
    tokens = words(text)
    if not tokens:
        # A fixed, small but non-zero direction shared by all empty texts.
        vec[0] = 1.0
        return vec
    for tok in tokens:
        # Each word lands in two buckets, which halves the damage of a hash collision.
        for salt in ("a", "b"):
            i, sign = _bucket(f"{salt}:{tok}", dims)
            vec[i] += sign
    norm = math.sqrt(sum(x * x for x in vec))
    if norm == 0.0:  # perfectly cancelling collisions; astronomically unlikely
        vec[0] = 1.0
        return vec
    return [x / norm for x in vec]


def truncate(vec: list[float], dims: int | None) -> list[float]:
    """Ollama's `dimensions`: keep the first N values and re-normalise."""
    if not dims or dims <= 0 or dims >= len(vec):
        return vec
    head = vec[:dims]
    norm = math.sqrt(sum(x * x for x in head))
    if norm == 0.0:
        head[0] = 1.0
        return head
    return [x / norm for x in head]


def cosine(a: list[float], b: list[float]) -> float:
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(x * x for x in b))
    if na == 0 or nb == 0:
        return 0.0
    return sum(x * y for x, y in zip(a, b, strict=False)) / (na * nb)
