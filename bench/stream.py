"""Streaming cost: 2,000 tokens from the fake server into the real app in a pseudo-terminal, at a
Pi's pace (10 tok/s) and at full speed, against the minimal reference client (the official
`ollama` client printing chunks) measured in the same run, for replies of several shapes
(`tests/fake_ollama/shapes.py`): short paragraphs, one long paragraph, one long code block, a
long list, a table, and a mix of all.

Prints, per shape, client and pace: CPU-seconds of the client process per 1,000 tokens, bytes
written to the terminal per token, and at full speed how long after the server's last token the
final frame appeared; then, per shape, pislm's CPU against the `paragraphs` shape and against the
minimal client.

    .venv/bin/python bench/stream.py [--shape all|paragraphs|one-paragraph|code|list|table|mixed]...
        [--tokens 2000] [--size 120x40] [--skip-slow] [--flush-hz 2]...

`--flush-hz N` adds a pislm run with `chat.flush_hz = N` (the default is 4): most of pislm's
CPU while a reply streams is its frames, one per flush.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import FakeServer, PtyProcess, isolated_env, pislm_argv, table

from tests.fake_ollama.shapes import SHAPES

HERE = Path(__file__).parent
MODEL = "llama3.2:1b"


@dataclass
class Result:
    shape: str
    client: str
    pace: str
    cpu_per_1000: float
    bytes_per_token: float
    lag_s: float | None


def wait_server_done(server: FakeServer, count: int, timeout: float) -> float:
    """When the server had sent the whole reply (its stats entry is written with the last bytes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(server.control("stats")) > count:
            return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError("the server never finished the reply")


def run_pislm(
    server: FakeServer,
    shape: str,
    tokens: int,
    rate: float | None,
    cols: int,
    rows: int,
    flush_hz: float | None = None,
) -> Result:
    server.control("reset", {})
    server.control("default", {"n_tokens": tokens, "shape": shape, "rate": rate})
    with tempfile.TemporaryDirectory() as home:
        app = PtyProcess(
            pislm_argv("--host", server.url, "--model", MODEL),
            cols=cols,
            rows=rows,
            env=isolated_env(
                Path(home), **({"PISLM_CHAT__FLUSH_HZ": f"{flush_hz:g}"} if flush_hz else {})
            ),
        )
        try:
            app.wait_for_text("Ollama 0.", timeout=60)
            app.wait_for_text("Ask something", timeout=60)
            app.wait_quiet(1.0)
            cpu0, bytes0 = app.cpu(), app.bytes_total
            app.send("Tell me a long story about the Pi.\r")
            pace = "full speed" if rate is None else f"{rate:g} tok/s"
            server_done = wait_server_done(server, 0, timeout=tokens / (rate or 1000) * 3 + 120)
            # The final frame: the figures under the reply, with the server's token count.
            shown = app.wait_for(
                lambda s: re.search(rf"\b{tokens}\s+tokens\b", s) is not None,
                timeout=300,
                what="the stats line of the finished reply",
            )
            app.settle()
            cpu, written = app.cpu() - cpu0, app.bytes_total - bytes0
        finally:
            app.close()
    client = "pislm" if flush_hz is None else f"pislm {flush_hz:g} Hz"
    return Result(
        shape, client, pace, cpu / tokens * 1000, written / tokens, max(0.0, shown - server_done)
    )


def run_minimal(
    server: FakeServer, shape: str, tokens: int, rate: float | None, cols: int, rows: int
) -> Result:
    server.control("reset", {})
    server.control("default", {"n_tokens": tokens, "shape": shape, "rate": rate})
    client = PtyProcess(
        [
            sys.executable,
            str(HERE / "minimal_client.py"),
            server.url,
            MODEL,
            "Tell me a long story.",
        ],
        cols=cols,
        rows=rows,
    )
    try:
        # Count from the request on: the client's start-up (importing ollama) is not streaming.
        client.wait_for_text("[ready]", timeout=60)
        cpu0, bytes0 = client.cpu(), client.bytes_total
        client.send("\n")
        server_done = wait_server_done(server, 0, timeout=tokens / (rate or 1000) * 3 + 120)
        shown = client.wait_for_text("[done]", timeout=120)
        cpu = client.cpu() - cpu0
        written = client.bytes_total - bytes0
    finally:
        client.close(quit_keys=None)
    pace = "full speed" if rate is None else f"{rate:g} tok/s"
    return Result(
        shape,
        "minimal client",
        pace,
        cpu / tokens * 1000,
        written / tokens,
        max(0.0, shown - server_done),
    )


def ratios(results: list[Result]) -> list[list[object]]:
    """Per shape at each pace: pislm's CPU against the paragraphs shape and the minimal client."""
    cpu = {(r.shape, r.client, r.pace): r.cpu_per_1000 for r in results}
    rows = []
    for (shape, client, pace), value in cpu.items():
        if not client.startswith("pislm"):
            continue
        paragraphs = cpu.get(("paragraphs", client, pace))
        minimal = cpu.get((shape, "minimal client", pace))
        rows.append(
            [
                shape,
                client,
                pace,
                f"{value / paragraphs:.2f}x" if paragraphs else "n/a",
                f"{value / minimal:.2f}x" if minimal else "n/a",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--shape",
        action="append",
        choices=[*SHAPES, "all"],
        help="reply shape (repeatable; default: all)",
    )
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--skip-slow", action="store_true", help="only the full-speed runs")
    parser.add_argument(
        "--flush-hz",
        type=float,
        action="append",
        help="also run pislm with chat.flush_hz at this rate (repeatable; CPU against frames)",
    )
    args = parser.parse_args()
    shapes = list(SHAPES) if not args.shape or "all" in args.shape else args.shape
    cols, rows = (int(x) for x in args.size.split("x"))
    paces = [None] if args.skip_slow else [10.0, None]
    server = FakeServer()
    results: list[Result] = []
    try:
        for shape in shapes:
            for rate in paces:
                print(f"{shape} at {rate or 'full speed'}…", file=sys.stderr)
                results.append(run_minimal(server, shape, args.tokens, rate, cols, rows))
                results.append(run_pislm(server, shape, args.tokens, rate, cols, rows))
                for hz in args.flush_hz or []:
                    results.append(run_pislm(server, shape, args.tokens, rate, cols, rows, hz))
    finally:
        server.stop()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Streaming {args.tokens} tokens at {cols}x{rows} (load average after: {load})")
    print(
        table(
            [
                [
                    r.shape,
                    r.client,
                    r.pace,
                    r.cpu_per_1000,
                    r.bytes_per_token,
                    "" if r.lag_s is None else f"{r.lag_s:.2f}",
                ]
                for r in results
            ],
            [
                "shape",
                "client",
                "pace",
                "CPU s / 1000 tokens",
                "bytes / token",
                "final frame after last token (s)",
            ],
        )
    )
    print()
    print(
        table(
            ratios(results),
            ["shape", "client", "pace", "pislm CPU / paragraphs", "pislm / minimal"],
        )
    )


if __name__ == "__main__":
    main()
