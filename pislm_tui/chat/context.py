"""The context gauge: how much of the model's context window the chat fills, measured against
the size the server really runs the model with, and honest when that size is not known.

Where the size comes from, best first: `num_ctx` set for the chat (Ollama loads the model with
it); the size the server reports for the loaded model (/api/ps `context_length`); the length
the model was trained for (/api/show), which is only an upper bound — Ollama's own default is
much smaller — and is shown as `≤N`; otherwise `?`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["num_ctx", "server", "trained", "unknown"]


@dataclass(frozen=True, slots=True)
class ContextWindow:
    size: int | None
    source: Source


def context_window(
    *, num_ctx: int | None = None, running: int | None = None, trained: int | None = None
) -> ContextWindow:
    """The best-known context size. Pass `num_ctx` only where the server applies it (Ollama;
    an OpenAI-compatible API drops it)."""
    if num_ctx:
        return ContextWindow(num_ctx, "num_ctx")
    if running:
        return ContextWindow(running, "server")
    if trained:
        return ContextWindow(trained, "trained")
    return ContextWindow(None, "unknown")


def gauge_text(used: int | None, window: ContextWindow) -> str:
    """`ctx 145/4,096 (4%)`; `ctx 145/≤131,072` (at most); `ctx 145/?`; empty before any reply."""
    if not used:
        return ""
    size = window.size
    if size and window.source in ("num_ctx", "server"):
        return f"ctx {used:,}/{size:,} ({100 * used / size:.0f}%)"
    if size and window.source == "trained":
        return f"ctx {used:,}/≤{size:,}"
    return f"ctx {used:,}/?"


def gauge_tooltip(used: int | None, window: ContextWindow, model: str | None, kind: str) -> str:
    """What the gauge means, said in full (the label's tooltip)."""
    name = model or "the model"
    head = f"Context: {used:,} tokens used by the last exchange" if used else "Context"
    size = window.size
    if window.source == "num_ctx" and size:
        return f"{head}, of the {size:,} this chat asks for (num_ctx, Ctrl+S)."
    if window.source == "server" and size:
        return f"{head}, of the {size:,} the server runs {name} with (ollama ps)."
    if window.source == "trained" and size:
        return (
            f"{head}. The server has not said yet what context it runs {name} with (it does "
            f"once the model is loaded); ≤{size:,} is what the model was trained for, the most "
            "it can take. Set num_ctx in the chat settings (Ctrl+S) to fix the size."
        )
    if kind == "openai":
        return (
            f"{head}. An OpenAI-compatible server does not say what context it runs {name} "
            "with (for llama.cpp, its --ctx-size); the gauge cannot show how full it is."
        )
    return f"{head}. The server has not said what context it runs {name} with."
