"""`LoadedModels`: the models in memory (`ollama ps`) with size, processor, context and the time
left before Ollama unloads them. Redrawn only when the text changes (the time left is shown in
minutes, so an idle screen stays quiet)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from pislm_tui.backend.types import LoadedModel
from pislm_tui.models.listing import time_left
from pislm_tui.sizes import decimal_bytes


def loaded_content(loaded: Sequence[LoadedModel], now: datetime, busy: str = "") -> Content:
    lines: list[Content] = []
    if not loaded:
        lines.append(
            Content.assemble(
                ("In memory: ", "bold"),
                ("nothing loaded — press l to load the selected model", "$text-muted"),
            )
        )
    for i, m in enumerate(loaded):
        left = time_left(m.expires_at, now)
        until = left if left in ("forever", "stopping…", "—") else f"{left} left"
        ctx = f" · ctx {m.context_length}" if m.context_length else ""
        lines.append(
            Content.assemble(
                ("In memory: " if i == 0 else " " * 11, "bold"),
                ("● ", "$success"),
                (m.name, "$accent"),
                f" · {decimal_bytes(m.size)} · {m.processor}{ctx} · {until}",
            )
        )
    if busy:
        lines.append(Content.styled(busy, "$warning"))
    return Content("\n").join(lines)


class LoadedModels(Static):
    DEFAULT_CSS = """
    LoadedModels {
        height: auto;
        max-height: 4;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._text: Content | None = None

    def show_unknown(self, reason: str) -> None:
        """What is in memory cannot be asked (an OpenAI-compatible server)."""
        text = Content.assemble(("In memory: ", "bold"), (reason, "$text-muted"))
        if self._text is None or not text.is_same(self._text):
            self._text = text
            self.update(text)

    def show(self, loaded: Sequence[LoadedModel], now: datetime, busy: str = "") -> None:
        text = loaded_content(loaded, now, busy)
        if text == self._text:
            return
        self._text = text
        self.update(text)
