"""pislm against its peers, in one run, on this machine: oterm 0.26.1 (the best-known Textual
Ollama client, installed from PyPI into its own venv by this script) and the minimal reference
client (the official `ollama` client printing chunks). All three talk to the same fake Ollama
server (its own process) and run in a real pseudo-terminal of the same size.

Figures: start-up to the main screen, RSS after start, CPU-seconds per 1,000 streamed tokens at
10 tok/s and at full speed, terminal bytes per token, how long after the server's last token the
final frame appeared, and idle CPU and bytes/s with the prompt focused in an SSH session.

    .venv/bin/python bench/compare.py [--tokens 2000] [--size 120x40] [--idle 30] [--idle-settle 35] [--skip-oterm]
        [--shape paragraphs|one-paragraph|code|list|table|mixed]

The streamed reply has the given shape (`tests/fake_ollama/shapes.py`; default `paragraphs`, the
figures in docs/benchmarks.md); `bench/stream.py` runs every shape against the minimal client.

The first run creates `bench/.cache/oterm-0.26.1/` (a venv, about 2 minutes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import ROOT, FakeServer, PtyProcess, isolated_env, pislm_argv, table

sys.path.insert(0, str(ROOT))
from tests.fake_ollama.shapes import SHAPES, shaped_tokens

HERE = Path(__file__).parent
OTERM_VERSION = "0.26.1"
OTERM_VENV = HERE / ".cache" / f"oterm-{OTERM_VERSION}"
MODEL = "llama3.2:1b"
END = " ENDMARK."  # the reply's last token: the final frame is the one that shows it
PROMPT = "Tell me a long story about the Raspberry Pi."


@dataclass
class Figures:
    client: str
    start_s: float | None = None
    rss_mib: float | None = None
    cpu_slow: float | None = None  # CPU-s per 1,000 tokens at 10 tok/s
    bytes_slow: float | None = None
    cpu_fast: float | None = None
    bytes_fast: float | None = None
    lag_fast: float | None = None  # final frame after the server's last token, full speed
    idle_cpu_pct: float | None = None
    idle_bytes_s: float | None = None
    notes: list[str] = field(default_factory=list)


# -- the three clients ---------------------------------------------------------------------------


class Client:
    name = ""

    def start(self, server: FakeServer, home: Path, cols: int, rows: int) -> PtyProcess: ...

    def ready(self, app: PtyProcess) -> None:
        """Wait for the main screen with the prompt focused."""

    def ask(self, app: PtyProcess) -> None:
        app.send(PROMPT + "\r")


class Pislm(Client):
    name = "pislm"

    def start(self, server, home, cols, rows):
        env = isolated_env(home, SSH_CONNECTION="127.0.0.1 50000 127.0.0.1 22")
        return PtyProcess(
            pislm_argv("--host", server.url, "--model", MODEL), cols=cols, rows=rows, env=env
        )

    def main_screen(self, screen: str) -> bool:
        return "pislm" in screen and "Chat" in screen and "Ask something" in screen

    def ready(self, app):
        app.wait_for_text("Ollama 0.", timeout=60)


class Oterm(Client):
    name = f"oterm {OTERM_VERSION}"

    def start(self, server, home, cols, rows):
        data = home / ".local" / "share" / "oterm"
        data.mkdir(parents=True, exist_ok=True)
        (data / "config.json").write_text(json.dumps({"splash-screen": False}))
        env = isolated_env(
            home,
            OLLAMA_URL=server.url,
            OLLAMA_HOST=server.url,
            SSH_CONNECTION="127.0.0.1 50000 127.0.0.1 22",
        )
        return PtyProcess([str(OTERM_VENV / "bin" / "oterm")], cols=cols, rows=rows, env=env)

    def main_screen(self, screen: str) -> bool:
        return "oterm" in screen and "palette" in screen

    def ready(self, app):
        # A new chat: Ctrl+N, Tab to the model field, type the name, Tab (oterm fetches the
        # model's details and enables Save), then click Save (Enter is swallowed by the field).
        app.wait_quiet(1.0)
        app.send("\x0e")
        app.wait_for_text("Type model name", timeout=30)
        app.send("\t")
        app.wait_quiet(0.5)
        app.send(MODEL)
        app.wait_quiet(0.5)
        app.send("\t")
        app.wait_for_text("Size:", timeout=30)
        app.wait_quiet(1.0)
        row, col = find(app.text(), "Save")
        click = f"\x1b[<0;{col + 3};{row + 1}M\x1b[<0;{col + 3};{row + 1}m"
        app.send(click)
        app.wait_for(lambda s: "Type model name" not in s, timeout=30, what="the chat screen")
        app.wait_quiet(1.5)


class Minimal(Client):
    name = "minimal client"

    def start(self, server, home, cols, rows):
        return PtyProcess(
            [sys.executable, str(HERE / "minimal_client.py"), server.url, MODEL, PROMPT],
            cols=cols,
            rows=rows,
            env=isolated_env(home),
        )

    def main_screen(self, screen: str) -> bool:
        return "[ready]" in screen

    def ask(self, app):
        app.send("\n")


def find(screen: str, text: str) -> tuple[int, int]:
    for row, line in enumerate(screen.splitlines()):
        col = line.find(text)
        if col >= 0:
            return row, col
    raise LookupError(f"{text!r} is not on the screen:\n{screen}")


# -- measurements --------------------------------------------------------------------------------


def start_up(
    client: Client, server: FakeServer, cols: int, rows: int, runs: int
) -> tuple[float, float]:
    times, rss = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            app = client.start(server, Path(home), cols, rows)
            try:
                shown = app.wait_for(
                    client.main_screen, timeout=120, what=f"{client.name} main screen"
                )
                times.append(shown - app.started)
                app.wait_quiet(1.0)
                rss.append(app.rss())
            finally:
                app.close()
    return statistics.median(times), statistics.median(rss)


def wait_server_done(server: FakeServer, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.control("stats"):
            return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError("the server never finished the reply")


def stream(
    client: Client,
    server: FakeServer,
    tokens: int,
    rate: float | None,
    cols: int,
    rows: int,
    shape: str = "paragraphs",
):
    # The end mark is a word of the last paragraph, or a paragraph of its own after a block.
    end = END if shape == "paragraphs" else "\n\n" + END.strip()
    reply = [*shaped_tokens(shape, tokens - 1), end]
    server.control("reset", {})
    server.control("default", {"tokens": reply, "rate": rate})
    with tempfile.TemporaryDirectory() as home:
        app = client.start(server, Path(home), cols, rows)
        try:
            app.wait_for(client.main_screen, timeout=120, what=f"{client.name} main screen")
            client.ready(app)
            app.wait_quiet(1.0)
            cpu0, bytes0 = app.cpu(), app.bytes_total
            client.ask(app)
            done = wait_server_done(server, tokens / (rate or 200) * 3 + 120)
            shown = app.wait_for_text(END.strip(), timeout=600)
            app.settle()
            cpu, written = app.cpu() - cpu0, app.bytes_total - bytes0
        finally:
            app.close(quit_keys=None if isinstance(client, Minimal) else b"\x11")
    return cpu / tokens * 1000, written / tokens, max(0.0, shown - done)


def idle(
    client: Client, server: FakeServer, cols: int, rows: int, seconds: float, settle: float
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        app = client.start(server, Path(home), cols, rows)
        try:
            app.wait_for(client.main_screen, timeout=120, what=f"{client.name} main screen")
            client.ready(app)
            app.wait_quiet(2.0, timeout=60)
            time.sleep(settle)  # nobody typing for a while (every client waits the same)
            cpu0, bytes0, t0 = app.cpu(), app.bytes_total, time.monotonic()
            time.sleep(seconds)
            cpu, written, elapsed = (
                app.cpu() - cpu0,
                app.bytes_total - bytes0,
                time.monotonic() - t0,
            )
        finally:
            app.close()
    return 100 * cpu / elapsed, written / elapsed


def ensure_oterm() -> bool:
    if (OTERM_VENV / "bin" / "oterm").exists():
        return True
    print(f"installing oterm {OTERM_VERSION} into {OTERM_VENV} (once)…", file=sys.stderr)
    venv.create(OTERM_VENV, with_pip=True)
    result = subprocess.run(
        [str(OTERM_VENV / "bin" / "pip"), "install", "-q", f"oterm=={OTERM_VERSION}"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return False
    return True


def guarded(figures: Figures, what: str, call: Callable[[], object]) -> object | None:
    try:
        return call()
    except Exception as exc:  # a peer failing one measurement must not lose the others
        figures.notes.append(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measurement")
    parser.add_argument(
        "--idle-settle",
        type=float,
        default=35.0,
        help="seconds without input before the idle measurement starts (pislm's live strip "
        "rests after 30 s over SSH)",
    )
    parser.add_argument("--start-runs", type=int, default=3)
    parser.add_argument("--skip-oterm", action="store_true")
    parser.add_argument("--shape", choices=SHAPES, default="paragraphs")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))

    clients: list[Client] = [Pislm(), Minimal()]
    if not args.skip_oterm and ensure_oterm():
        clients.insert(1, Oterm())

    server = FakeServer()
    results: list[Figures] = []
    try:
        for client in clients:
            f = Figures(client.name)
            print(f"measuring {client.name}…", file=sys.stderr)
            got = guarded(
                f, "start-up", lambda c=client: start_up(c, server, cols, rows, args.start_runs)
            )
            if got:
                f.start_s, f.rss_mib = got
            got = guarded(
                f,
                "10 tok/s",
                lambda c=client: stream(c, server, args.tokens, 10.0, cols, rows, args.shape),
            )
            if got:
                f.cpu_slow, f.bytes_slow, _ = got
            got = guarded(
                f,
                "full speed",
                lambda c=client: stream(c, server, args.tokens, None, cols, rows, args.shape),
            )
            if got:
                f.cpu_fast, f.bytes_fast, f.lag_fast = got
            if not isinstance(client, Minimal):
                got = guarded(
                    f,
                    "idle",
                    lambda c=client: idle(c, server, cols, rows, args.idle, args.idle_settle),
                )
                if got:
                    f.idle_cpu_pct, f.idle_bytes_s = got
            results.append(f)
    finally:
        server.stop()

    def show(value: float | None, digits: int = 2) -> str:
        return "n/a" if value is None else f"{value:,.{digits}f}"

    print(
        f"\n{args.tokens} tokens ({args.shape}), {cols}x{rows} pseudo-terminal, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print(
        table(
            [
                [
                    r.client,
                    show(r.start_s),
                    show(r.rss_mib, 0),
                    show(r.cpu_slow),
                    show(r.bytes_slow, 1),
                    show(r.cpu_fast),
                    show(r.bytes_fast, 1),
                    show(r.lag_fast),
                    show(r.idle_cpu_pct),
                    show(r.idle_bytes_s, 0),
                ]
                for r in results
            ],
            [
                "client",
                "start s",
                "RSS MiB",
                "CPU s/1k tok @10/s",
                "B/tok @10/s",
                "CPU s/1k tok full",
                "B/tok full",
                "final frame lag s",
                "idle CPU %",
                "idle B/s",
            ],
        )
    )
    ours = results[0]
    for peer in results[1:]:
        ratios = []
        for label, a, b in [
            ("start", ours.start_s, peer.start_s),
            ("RSS", ours.rss_mib, peer.rss_mib),
            ("CPU @10/s", ours.cpu_slow, peer.cpu_slow),
            ("bytes @10/s", ours.bytes_slow, peer.bytes_slow),
            ("CPU full", ours.cpu_fast, peer.cpu_fast),
            ("bytes full", ours.bytes_fast, peer.bytes_fast),
        ]:
            if a and b:
                ratios.append(f"{label} {a / b:.2f}x")
        print(f"pislm / {peer.client}: " + ", ".join(ratios))
    for r in results:
        for note in r.notes:
            print(f"note ({r.client}): {note}")


if __name__ == "__main__":
    main()
