"""Idle cost per tab: CPU time the app uses, and bytes it writes to the terminal, while it sits
on each tab doing nothing (the live strip keeps sampling; the Monitor tab samples at 1 Hz).

Each tab gets a fresh `pislm` in a real pseudo-terminal against the fake server in its own
process; after the tab is shown and has settled, CPU time (/proc/<pid>/stat, all threads) and
terminal bytes are counted over the window. Aim (issue #4): under 1 % of one core on Monitor at
1 Hz, under 0.5 % elsewhere.

    .venv/bin/python bench/idle.py [--seconds 30] [--size 80x24] [--ssh] [--tabs chat,monitor]
                                   [--machine tests/fixtures/monitor/pi5_cool] [--against DIR]

--machine points the monitor at a recorded machine's /proc and /sys (static files: a perfectly
idle Pi), which separates the cost of sampling from the cost of drawing changes. --against runs every
measurement a second time with another source tree first on PYTHONPATH (e.g. an export of
main), alternately, so a change is compared with the code before it in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness import FakeServer, PtyProcess, isolated_env, pislm_argv, table

# F2..F6 as xterm sends them (Alt+1..5 would not do: in a plain terminal Textual reads ESC+digit
# as a macOS character, ¡™£¢∞).
TABS = {
    "chat": "\x1bOQ",
    "models": "\x1bOR",
    "rag": "\x1bOS",
    "tools": "\x1b[15~",
    "monitor": "\x1b[17~",
}


def measure(
    url: str,
    tab: str,
    *,
    seconds: float,
    cols: int,
    rows: int,
    ssh: bool,
    strip: bool,
    machine: Path | None = None,
    settle: float = 3.0,
    tree: Path | None = None,
):
    with tempfile.TemporaryDirectory() as home:
        env = isolated_env(Path(home))
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        if not strip:
            env["PISLM_MONITOR__SHOW_STRIP"] = "false"
        if machine is not None:
            env["PISLM_MONITOR__PROC_ROOT"] = str(machine / "proc")
            env["PISLM_MONITOR__SYS_ROOT"] = str(machine / "sys")
            env["PISLM_MONITOR__VCGENCMD"] = str(machine / "vcgencmd")
        args = ["--host", url, "--ssh" if ssh else "--no-ssh"]
        # `python -m` puts its working directory first on sys.path: run in the tree measured.
        app = PtyProcess(pislm_argv(*args), cols=cols, rows=rows, env=env, cwd=tree)
        try:
            app.wait_for_text("Ollama 0.")
            time.sleep(1.0)  # let the first tab settle (it takes the focus)
            app.send(TABS[tab])
            if tab == "monitor":
                app.wait_for_text("Processes")
            time.sleep(settle)
            cpu0, t0 = app.cpu(), time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = app.cpu(), time.monotonic()
            written = app.bytes_since(t0, t1)
        finally:
            app.close()
    elapsed = t1 - t0
    return 100.0 * (cpu1 - cpu0) / elapsed, written / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--ssh", action="store_true", help="run the app in SSH mode")
    parser.add_argument("--tabs", default=",".join(TABS))
    parser.add_argument(
        "--machine", type=Path, help="a recorded machine (tests/fixtures/monitor/…)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        help="seconds on the tab before measuring (65: the 60 s history is full)",
    )
    parser.add_argument(
        "--no-strip-baseline", action="store_true", help="skip the Chat run without the strip"
    )
    parser.add_argument(
        "--against", type=Path, help="another source tree to measure alternately (e.g. main)"
    )
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    server = FakeServer()
    results = []
    try:
        runs = [(t, True) for t in args.tabs.split(",")]
        if not args.no_strip_baseline:
            runs.insert(0, ("chat", False))
        trees: list[Path | None] = [None]
        if args.against:
            trees.append(args.against.resolve())
        for tab, strip in runs:
            for tree in trees:
                cpu, bps = measure(
                    server.url,
                    tab,
                    seconds=args.seconds,
                    cols=cols,
                    rows=rows,
                    ssh=args.ssh,
                    strip=strip,
                    machine=args.machine.resolve() if args.machine else None,
                    settle=args.settle,
                    tree=tree,
                )
                label = tab if strip else f"{tab} (strip off)"
                if args.against:
                    label += f" [{tree.name if tree else 'this tree'}]"
                aim = 1.0 if tab == "monitor" else 0.5
                results.append([label, cpu, bps, "yes" if cpu < aim else "NO"])
    finally:
        server.stop()
    mode = "SSH mode" if args.ssh else "local mode"
    source = f", monitor reading {args.machine}" if args.machine else ""
    print(f"pislm idle cost, {args.seconds:g} s per tab at {cols}x{rows}, {mode}{source}")
    print(table(results, ["tab", "CPU % of one core", "terminal bytes/s", "within aim"]))


if __name__ == "__main__":
    main()
