"""Code blocks in a reply, found the way the Markdown renderer finds them (fenced or indented)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str
    code: str

    @property
    def label(self) -> str:
        """`python · 12 lines · def main():`"""
        lines = self.code.splitlines() or [""]
        first = next((line.strip() for line in lines if line.strip()), "")
        if len(first) > 40:
            first = first[:39] + "…"
        count = f"{len(lines)} line{'s' if len(lines) != 1 else ''}"
        return " · ".join(part for part in (self.language or "code", count, first) if part)


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like")


def code_blocks(markdown: str) -> list[CodeBlock]:
    return [
        CodeBlock(
            language=(token.info or "").strip().split(" ")[0], code=token.content.rstrip("\n")
        )
        for token in _parser().parse(markdown)
        if token.type in ("fence", "code_block")
    ]
