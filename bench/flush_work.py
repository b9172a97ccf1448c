"""The work of one flush, per reply shape, without a terminal: what the reply widget and
Textual (layout, compositor) cost for each piece of streamed text, against Textual's own
`Markdown.append` streaming the same pieces in the same run.

A headless app holds one `ReplyMarkdown` at 120x40. Each shape (`tests/fake_ollama/shapes.py`)
is fed in pieces of 3 tokens (a flush at 4 Hz of a reply at 10-12 tok/s), and after each piece the
app lays out and paints. Prints the main thread's CPU per flush over the first and the last
quarter of the reply (a cost that grows with the open block shows as a late figure far above
the early one), and Textual-built inline contents per flush.

    .venv/bin/python bench/flush_work.py [--shape all|paragraphs|...]... [--tokens 1000]

The terminal's side (bytes, the writer thread) and the stream (HTTP, the worker) are not in
these figures: `bench/stream.py` measures the whole app.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from harness import table  # (it puts the project's root on sys.path)
from textual.app import App, ComposeResult

from pislm_tui.widgets.reply_markdown import ReplyMarkdown
from tests.fake_ollama.shapes import SHAPES, shaped_tokens

PIECE = 3  # tokens per flush


class Reply(App[None]):
    def __init__(self, streaming: bool) -> None:
        super().__init__()
        self.streaming = streaming

    def compose(self) -> ComposeResult:
        yield ReplyMarkdown(streaming=self.streaming, page_lines=20)


async def flushes(shape: str, tokens: int, streaming: bool) -> tuple[float, float, float]:
    """(ms per flush in the first quarter, in the last quarter, contents built per flush)."""
    app = Reply(streaming)
    pieces = shaped_tokens(shape, tokens)
    costs: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        markdown = app.query_one(ReplyMarkdown)
        await pilot.pause()
        for start in range(0, len(pieces), PIECE):
            began = time.thread_time()
            await markdown.append_text("".join(pieces[start : start + PIECE]))
            await pilot.pause()  # the layout and the frame of this flush
            costs.append(time.thread_time() - began)
        built = markdown.counters.built
    quarter = max(1, len(costs) // 4)
    early, late = costs[:quarter], costs[-quarter:]
    return (
        sum(early) / len(early) * 1000,
        sum(late) / len(late) * 1000,
        built / len(costs) if streaming else float("nan"),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", action="append", choices=[*SHAPES, "all"])
    parser.add_argument("--tokens", type=int, default=1000)
    args = parser.parse_args()
    shapes = list(SHAPES) if not args.shape or "all" in args.shape else args.shape
    rows = []
    for shape in shapes:
        print(f"{shape}…", file=sys.stderr)
        fast = asyncio.run(flushes(shape, args.tokens, streaming=True))
        stock = asyncio.run(flushes(shape, args.tokens, streaming=False))
        rows.append(
            [
                shape,
                f"{fast[0]:.2f}",
                f"{fast[1]:.2f}",
                f"{stock[0]:.2f}",
                f"{stock[1]:.2f}",
                f"{stock[1] / fast[1]:.1f}x",
                f"{fast[2]:.2f}",
            ]
        )
    print(f"{args.tokens} tokens per reply, {PIECE} tokens per flush, 120x40, headless")
    print(
        table(
            rows,
            [
                "shape",
                "pislm ms/flush, first quarter",
                "last quarter",
                "Markdown.append, first quarter",
                "last quarter",
                "Markdown / pislm, last",
                "contents built / flush",
            ],
        )
    )


if __name__ == "__main__":
    main()
