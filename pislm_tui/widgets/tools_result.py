"""A card that shows one `where` result, the work in progress, or what went wrong."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pislm_tui.tools.structured import Attempt
from pislm_tui.tools.where import WhereResult
from pislm_tui.widgets.wait_clock import elapsed_text


def result_text(r: WhereResult) -> Text:
    """Three lines: the place, the lab's sentence, how it was obtained."""
    place = f"{r.city}, {r.country}" if r.country else r.city
    retries = "1 retry" if r.retries == 1 else f"{r.retries} retries"
    return Text.assemble(
        (place, "bold"),
        f"   {r.lat:.4f}, {r.lon:.4f}\n",
        (r.sentence, "bold"),
        "\n",
        (f"{r.model} · {r.elapsed_s:.2f} s · {retries}", "dim"),
    )


def wait_line(doing: str, seconds: float, attempt: Attempt | None = None) -> str:
    """What a pane waits for, how long it has waited (from 1 s on), which retry this is and
    why the answer before it was sent back, and how to stop."""
    parts = [doing]
    if seconds >= 1:
        parts.append(elapsed_text(seconds))
    if attempt is not None and attempt.retry:
        why = f" (the last answer: {attempt.rejected})" if attempt.rejected else ""
        parts.append(f"retry {attempt.retry} of {attempt.of - 1}{why}")
    parts.append("Esc stops")
    return " · ".join(parts)


class WhereCard(Static):
    DEFAULT_CSS = """
    WhereCard { height: auto; min-height: 3; padding: 0 1; }
    WhereCard.-error { color: $error; }
    WhereCard.-muted { color: $text-muted; }
    """

    def __init__(self, hint: str = "", **kwargs: object) -> None:
        super().__init__(Text(hint), **kwargs)  # type: ignore[arg-type]
        self.result: WhereResult | None = None
        self.add_class("-muted")

    def show_result(self, result: WhereResult) -> None:
        self.result = result
        self.remove_class("-muted", "-error")
        self.update(result_text(result))

    def show_busy(self, text: str) -> None:
        self.remove_class("-error").add_class("-muted")
        self.update(Text(text))

    def show_error(self, text: str) -> None:
        self.remove_class("-muted").add_class("-error")
        self.update(Text(text))
