"""Benchmark harness: run a terminal program in a real pseudo-terminal and measure it the way a
user's SSH session would see it — bytes written to the terminal, CPU time of the process, memory,
and what is on the screen (a VT emulator, pyte, reads the output)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake server lives in tests/fake_ollama

from tests import vt  # noqa: E402 (pyte, plus REP)
from tests.fake_ollama.process import FakeOllamaProcess  # noqa: E402

FakeServer = FakeOllamaProcess  # the name the benchmarks use


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PtyProcess:
    """A program on the slave side of a pty of the given size. A reader thread drains the master
    side, counts bytes with timestamps and feeds a pyte screen."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cols: int = 120,
        rows: int = 40,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.cols, self.rows = cols, rows
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, **(env or {})}
        full_env.setdefault("TERM", "xterm-256color")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd=cwd or ROOT,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.master = master
        self.screen = vt.Screen(cols, rows)
        # Answer the program's queries as a terminal does (DSR: where the cursor is; pislm asks
        # it to find out whether the terminal repeats characters).
        self.screen.write_process_input = self.send
        self.stream = vt.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.bytes_total = 0
        self.writes: list[tuple[float, int]] = []  # (time, bytes) per read from the pty
        self.last_write = self.started
        self._closed = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                break
            if not data:
                break
            now = time.monotonic()
            if b"\x1b[?2026$p" in data:
                # Answer like a modern terminal: synchronized output is supported, so the
                # program wraps each frame in begin/end markers as it would for a real user.
                self.send(b"\x1b[?2026;2$y")
            with self.lock:
                self.bytes_total += len(data)
                self.writes.append((now, len(data)))
                self.last_write = now
                self.stream.feed(data)
        self._closed.set()

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def send(self, data: str | bytes) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def wait_for(
        self, predicate: Callable[[str], bool], timeout: float = 30.0, what: str = ""
    ) -> float:
        """Wait until the screen satisfies `predicate`; return the time of the write that made it so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                screen = "\n".join(self.screen.display)
                stamp = self.last_write
            if predicate(screen):
                return stamp
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"process exited ({self.proc.returncode}) while waiting for {what}"
                )
            time.sleep(0.005)
        raise TimeoutError(f"timed out waiting for {what or predicate}; screen:\n{self.text()}")

    def wait_for_text(self, text: str, timeout: float = 30.0) -> float:
        return self.wait_for(lambda s: text in s, timeout, what=repr(text))

    def wait_quiet(self, seconds: float = 0.5, timeout: float = 30.0) -> None:
        """Wait until nothing has been written for `seconds`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                idle = time.monotonic() - self.last_write
            if idle >= seconds:
                return
            time.sleep(0.02)

    def settle(self) -> None:
        """After a final frame: let the writes of that frame end (0.3 s without output), for at
        most a second. Bounded, so a blinking cursor (a write every 0.5 s) or a clock does not
        add up to 30 s of idle work to what a reply cost; every client gets the same."""
        self.wait_quiet(0.3, timeout=1.0)

    def bytes_since(self, since: float, until: float | None = None) -> int:
        with self.lock:
            return sum(n for t, n in self.writes if t >= since and (until is None or t <= until))

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss(self) -> float:
        return rss_mib(self.pid)

    def close(self, quit_keys: bytes | None = b"\x11") -> None:
        """Quit politely (Ctrl+Q by default), then insist."""
        if self.proc.poll() is None and quit_keys:
            try:
                self.send(quit_keys)
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(OSError):
            os.close(self.master)


def pislm_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "pislm_tui", *args]


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """A temporary HOME and XDG dirs, no inherited Ollama/pislm/SSH settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PISLM_", "OLLAMA_", "SSH_", "TEXTUAL_"))
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        TERM="xterm-256color",
        COLORTERM="truecolor",
        ANONYMIZED_TELEMETRY="False",
    )
    env.update(extra)
    return env


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A plain fixed-width table for printing figures."""
    cells = [headers, *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)
