"""Start-up cost: time from exec to the first full frame (status line, tabs and footer drawn),
to "connected", and memory after start. Prints the figures; compare with `docs/benchmarks.md`.

    .venv/bin/python bench/startup.py [--runs 5] [--size 120x40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from harness import FakeServer, PtyProcess, isolated_env, pislm_argv, table


def measure(url: str, cols: int, rows: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as home:
        app = PtyProcess(
            pislm_argv("--host", url), cols=cols, rows=rows, env=isolated_env(Path(home))
        )
        try:
            t_frame = app.wait_for(
                lambda s: "pislm" in s and "Chat" in s and "palette" in s, what="first frame"
            )
            t_conn = app.wait_for_text("Ollama 0.")
            time.sleep(1.0)  # settle, then read memory
            rss = app.rss()
        finally:
            app.close()
        return t_frame - app.started, t_conn - app.started, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    server = FakeServer()
    try:
        runs = [measure(server.url, cols, rows) for _ in range(args.runs)]
    finally:
        server.stop()
    frame, conn, rss = (statistics.median(r[i] for r in runs) for i in range(3))
    print(f"pislm start-up at {cols}x{rows}, median of {args.runs} runs")
    print(
        table(
            [
                ["first full frame (s)", frame],
                ["connected (s)", conn],
                ["RSS after start (MiB)", rss],
            ],
            ["figure", "pislm"],
        )
    )


if __name__ == "__main__":
    main()
