"""What the Models tab costs on a busy Pi: CPU time of the app and bytes it writes to the terminal
(what an SSH link carries) while the tab sits idle (the `ollama ps` refresh still runs), while a
pull streams progress lines, and while a bench runs. The fake server runs in its own process;
the app runs in a real pseudo-terminal. The live strip is off so only this tab is measured.

    .venv/bin/python bench/models_ui.py [--seconds 20] [--size 80x24] [--ssh]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness import FakeServer, PtyProcess, isolated_env, pislm_argv, table

MODELS_KEY = "\x1bOR"  # F3 as xterm sends it
SETTLE = 3.0


def window(app: PtyProcess, seconds: float) -> tuple[float, float]:
    """CPU % of one core and terminal bytes/s over the next `seconds`."""
    cpu0, t0 = app.cpu(), time.monotonic()
    time.sleep(seconds)
    cpu1, t1 = app.cpu(), time.monotonic()
    return 100.0 * (cpu1 - cpu0) / (t1 - t0), app.bytes_since(t0, t1) / (t1 - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--ssh", action="store_true", help="run the app in SSH mode")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    server = FakeServer()
    rows_out: list[list[object]] = []
    try:
        with tempfile.TemporaryDirectory() as home:
            env = isolated_env(Path(home), PISLM_MONITOR__SHOW_STRIP="false")
            argv = pislm_argv("--host", server.url, "--ssh" if args.ssh else "--no-ssh")
            app = PtyProcess(argv, cols=cols, rows=rows, env=env)
            try:
                app.wait_for_text("Ollama 0.")
                time.sleep(1.0)  # the Chat tab settles and takes the focus
                app.send(MODELS_KEY)
                app.wait_for_text("nomic-embed-text")
                time.sleep(SETTLE)
                rows_out.append(["idle (ps refresh every 10 s)", *window(app, args.seconds)])

                # A pull whose lines come every 0.25 s, for long enough to measure.
                server.control("config", {"pull_delay": args.seconds / 14})
                app.send("p")
                app.wait_for_text("Pull a model")
                app.send("tinyllama\r")
                app.wait_for_text("Pulling tinyllama")
                rows_out.append(["pull in progress", *window(app, args.seconds * 0.8)])
                app.wait_for_text("tinyllama:latest", timeout=args.seconds * 3)

                # A bench of two models whose replies stream at 10 tokens/s.
                server.control("default", {"rate": 10, "n_tokens": 20})
                app.send("b")
                app.wait_for_text("Models (space picks)")
                time.sleep(0.5)
                app.send("\x12")  # ctrl+r
                app.wait_for_text("warm-up")
                rows_out.append(["bench running", *window(app, min(args.seconds, 10.0))])
            finally:
                app.close()
    finally:
        server.stop()
    mode = "SSH mode" if args.ssh else "local mode"
    print(f"pislm Models tab, {args.size}, {mode}")
    print(
        table(
            [[name, f"{cpu:.2f}", f"{bps:.0f}"] for name, cpu, bps in rows_out],
            ["state", "CPU % of one core", "terminal bytes/s"],
        )
    )


if __name__ == "__main__":
    main()
