"""`Reply` (one scripted answer) and the tokeniser the fake uses to stream text."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

_TOKEN_RE = re.compile(r"\s*\S+|\s+$")


def tokenize(text: str) -> list[str]:
    """Split text into word tokens; whitespace sticks to the following word.

    "Hello world" -> ["Hello", " world"]; trailing whitespace becomes its own token, so
    `"".join(tokenize(t)) == t` always holds.
    """
    return _TOKEN_RE.findall(text)


# A varied, harmless vocabulary for `n_tokens` replies (so the text wraps like prose).
_VOCABULARY = """the raspberry pi runs a small language model on four cores while fan spins quietly
and each token arrives after short pause because memory bandwidth limits how fast weights stream
through cache so answers grow word by across terminal screen until it decides that has said enough
about valleys rivers mountains cities bridges trains music gardens clouds"""
_WORDS = tuple(dict.fromkeys(_VOCABULARY.split()))  # unique, in order


def generated_tokens(n: int) -> list[str]:
    """N deterministic tokens: sentences of 12 words per line, a blank line every 60 tokens."""
    out: list[str] = []
    for i in range(n):
        word = _WORDS[(i * 7 + i // len(_WORDS)) % len(_WORDS)]
        if i % 12 == 11 or i == n - 1:
            word += "."
        if i == 0:
            out.append(word.capitalize())
        elif i % 60 == 0:
            out.append("\n\n" + word.capitalize())
        elif i % 12 == 0:
            out.append("\n" + word.capitalize())
        else:
            out.append(" " + word)
    return out


@dataclass
class Reply:
    """One scripted answer for the next chat/generate/v1-chat request (see package docs)."""

    text: str | None = None
    tokens: list[str] | None = None
    n_tokens: int | None = None
    shape: str | None = None  # with n_tokens: see shapes.SHAPES (default: paragraphs)
    thinking: str | None = None
    tool_calls: list[dict] | None = None
    rate: float | None = None
    first_byte_delay: float = 0.0
    error_after: int | None = None
    error_message: str = "an error was encountered while running the model"
    drop_after: int | None = None
    stall_after: int | None = None  # streams: N tokens, then silence until the server stops
    status: int | None = None
    body: str | bytes | None = None
    content_type: str | None = None
    done_reason: str = "stop"
    model: str | None = None
    eval_count: int | None = None

    def has_content(self) -> bool:
        """True when the reply fixes the content (else the built-in behaviour writes it)."""
        return self.text is not None or self.tokens is not None or self.n_tokens is not None

    def content_tokens(self) -> list[str]:
        if self.tokens is not None:
            return list(self.tokens)
        if self.text is not None:
            return tokenize(self.text)
        if self.n_tokens is not None:
            if self.shape is not None:
                from .shapes import shaped_tokens

                return shaped_tokens(self.shape, self.n_tokens)
            return generated_tokens(self.n_tokens)
        return []

    # -- JSON (for the /_fake control endpoints) ------------------------------------------
    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        if not isinstance(data, dict):
            raise ValueError("a Reply must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown Reply fields: {', '.join(unknown)}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if isinstance(self.body, bytes):
            out["body"] = self.body.decode("utf-8", "replace")
        return out
