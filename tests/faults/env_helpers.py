"""Helpers for the environment fault tests: the real app in a real pseudo-terminal (after
bench/harness.py, plus the raw bytes it wrote and control over the master side), the fake server
in its own process, and read-only peeks into a sessions database another process is writing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests import vt
from tests.fake_ollama.process import FakeOllamaProcess
from tests.helpers import wait_for_sync

ROOT = Path(__file__).resolve().parents[2]


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment (HOME/XDG already isolated by the autouse fixture) for a child."""
    env = dict(os.environ)
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    """`python -m pislm_tui ARGS` in its own process; a CompletedProcess with text output."""
    return subprocess.run(
        [sys.executable, "-m", "pislm_tui", *args],
        cwd=ROOT,
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class FakeServer(FakeOllamaProcess):
    """The fake server in its own process, with the tests' isolated environment."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, env=child_env())


class PtyApp:
    """A program on the slave side of a pty (its controlling terminal). A reader thread keeps
    every byte written to the terminal and feeds a pyte screen."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        cols: int = 100,
        rows: int = 30,
        ignore_sighup: bool = False,
        answer_queries: bool = False,
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

        def setup() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            # Ignored as under `nohup` (a closed terminal then sends no signal that kills), else
            # the default even if the test runner itself ignores SIGHUP (inherited by children).
            signal.signal(signal.SIGHUP, signal.SIG_IGN if ignore_sighup else signal.SIG_DFL)

        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color"},
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=setup,
        )
        os.close(slave)
        self.master: int | None = master
        self.screen = vt.Screen(cols, rows)
        if answer_queries:  # a cursor report for DSR, as a terminal gives (the REP probe)
            self.screen.write_process_input = self.send
        self._stream = vt.ByteStream(self.screen)
        self._lock = threading.Lock()
        self.raw = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        master = self.master
        assert master is not None
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                self.raw += data
                self._stream.feed(data)

    def output(self) -> bytes:
        with self._lock:
            return bytes(self.raw)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.screen.display)

    def send(self, data: str | bytes) -> None:
        assert self.master is not None
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def wait_for(
        self, predicate: Callable[[str], Any], timeout: float = 30.0, what: str = ""
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.text())
            if value:
                return value
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the app exited ({self.proc.returncode}) while waiting for {what}; "
                    f"screen:\n{self.text()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text()}")
            time.sleep(0.02)

    def wait_for_text(self, text: str, timeout: float = 30.0) -> None:
        self.wait_for(lambda screen: text in screen, timeout, what=repr(text))

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status, or None if the process is still running after `timeout` s."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close_master(self) -> None:
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def kill(self) -> None:
        """Make sure the process is gone (end of a test, passing or not)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.reader.join(5) if self.master is None else None
        with contextlib.suppress(OSError):
            self.close_master()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peek_messages(db_path: Path) -> list[tuple[str, str, str]]:
    """(role, status, content) of every stored message, read without writing to the database
    (another process owns it); [] while it does not exist yet."""
    if not db_path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        return db.execute("SELECT role, status, content FROM messages ORDER BY id").fetchall()
    except sqlite3.Error:  # the schema is not there yet
        return []
    finally:
        db.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    return wait_for_sync(predicate, timeout=timeout, what=what)
