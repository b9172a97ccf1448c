"""The figures under a reply: one line (`9.00 tok/s · 58 tokens · 6.62 s`) that opens (Enter or
a click) to the full block `ollama run --verbose` prints."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Collapsible, Static

from pislm_tui.backend.stats import GenerationStats
from pislm_tui.monitor.conditions import RunConditions


def summary_text(
    stats: GenerationStats, model: str | None = None, conditions: RunConditions | None = None
) -> str:
    parts = [model] if model else []
    parts.append(stats.summary())
    if stats.client_measured:
        parts.append("measured here")
    if conditions is not None and conditions.throttled:
        parts.append("⚠ throttled")  # the speed is not comparable (the block says why)
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
        self,
        stats: GenerationStats,
        model: str | None = None,
        *,
        conditions: RunConditions | None = None,
        id: str | None = None,
    ) -> None:
        lines = stats.verbose_lines() or ["no figures from the server"]
        if conditions is not None:  # the machine while the reply was made
            lines += conditions.lines(stats.eval_count)
        super().__init__(
            Static(Content("\n".join(lines)), classes="verbose"),
            title=summary_text(stats, model, conditions),
            collapsed=True,
            id=id,
        )
        self.stats = stats
        self.conditions = conditions
