"""The figures under a reply: one line (`9.00 tok/s · 58 tokens · 6.62 s`) that opens (Enter or
a click) to the full block `ollama run --verbose` prints."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Collapsible, Static

from pislm_tui.backend.stats import GenerationStats


def summary_text(stats: GenerationStats, model: str | None = None) -> str:
    parts = [model] if model else []
    parts.append(stats.summary())
    if stats.client_measured:
        parts.append("measured here")
    return " · ".join(parts)


class StatsLine(Collapsible):
    DEFAULT_CSS = """
    StatsLine {
        background: transparent;
        border: none;
        padding: 0;
        margin: 0;
        &:focus-within { background-tint: transparent; }
        &:ansi { border-top: none; background: transparent; }
        CollapsibleTitle {
            padding: 0;
            color: $text-muted;
            &:hover { color: $foreground; background: transparent; }
            &:focus { color: $foreground; background: $boost; text-style: none; }
        }
        Contents { padding: 0 0 0 2; }
        Contents Static { color: $text-muted; }
    }
    """

    def __init__(
        self, stats: GenerationStats, model: str | None = None, *, id: str | None = None
    ) -> None:
        lines = stats.verbose_lines() or ["no figures from the server"]
        super().__init__(
            Static(Content("\n".join(lines)), classes="verbose"),
            title=summary_text(stats, model),
            collapsed=True,
            id=id,
        )
        self.stats = stats
