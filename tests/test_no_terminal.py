"""The app without a terminal: it refuses to start (one line on stderr, exit 2, nothing on stdout)
instead of spinning at 100 % CPU on an input at its end; under textual-serve's web driver (pipes,
no terminal) it starts, and ends when textual-serve goes away. Real processes, real pipes and
ptys. A terminal that closes while the app runs: tests/faults/test_env_faults.py."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.env_helpers import child_env, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
APP = [sys.executable, "-m", "pislm_tui", "--host", "http://127.0.0.1:9"]  # nothing listens there
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"  # what textual-serve sets


def _env(**extra: str) -> dict[str, str]:
    env = child_env(**extra)
    env.pop("TEXTUAL_DRIVER", None)
    env.update(extra)
    return env


def _finish(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The exit status within `timeout` s, else None (and the process is killed)."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return None


def test_app_with_no_terminal_exits_2_at_once_and_writes_nothing_to_stdout() -> None:
    """`pislm </dev/null >out` ran forever at a full core, drawing escape codes into files."""
    started = time.monotonic()
    proc = subprocess.Popen(
        APP,
        cwd=ROOT,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    status = _finish(proc, timeout=2)
    elapsed = time.monotonic() - started
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    assert status == 2, f"status {status} after {elapsed:.1f} s; stderr: {err[-300:]!r}"
    assert elapsed < 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1, lines
    assert "needs a terminal" in lines[0] and "stdin" in lines[0]
    assert "pislm --help" in lines[0]  # what to use instead


def _read_all(fd: int, timeout: float) -> bytes:
    """What the other side wrote, until it closes (or `timeout`)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # a pty whose last slave closed
            break
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.parametrize(
    ("terminal", "named"),
    [("stdin", "stdout is not a terminal"), ("stdout", "stdin is not a terminal")],
    ids=["stdin-tty-stdout-pipe", "stdout-tty-stdin-null"],
)
def test_app_refuses_when_only_part_of_it_is_a_terminal(terminal: str, named: str) -> None:
    """stdin a terminal and stdout a file (`pislm >out`), or the other way round: refused, with
    the one line on stderr (the terminal) naming what is missing."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            APP,
            cwd=ROOT,
            env=_env(TERM="xterm-256color"),
            stdin=slave if terminal == "stdin" else subprocess.DEVNULL,
            stdout=slave if terminal == "stdout" else subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        status = _finish(proc, timeout=10)
        shown = _read_all(master, timeout=5).decode(errors="replace")
        if proc.stdout is not None:
            assert proc.stdout.read() == b""
    finally:
        with contextlib.suppress(OSError):
            os.close(master)
    assert status == 2, shown
    assert "\x1b[" not in shown  # nothing was drawn
    assert len(shown.strip().splitlines()) == 1, shown
    assert named in shown


def test_cli_subcommands_still_work_without_a_terminal() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pislm_tui", "--version"],
        cwd=ROOT,
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and out.stdout.startswith("pislm ")


@pytest.mark.slow
@pytest.mark.parametrize("closed", ["stdin", "every pipe"])
def test_under_the_web_driver_the_app_runs_and_ends_when_textual_serve_goes_away(
    closed: str,
) -> None:
    """textual-serve runs the app with pipes and TEXTUAL_DRIVER set to Textual's web driver: the
    terminal check lets it through and the app speaks the web protocol on stdout. When
    textual-serve is killed its pipes close: the app must end, not run on (a child left behind
    once spun for 37 minutes)."""
    proc = subprocess.Popen(
        APP,
        cwd=ROOT,
        env=_env(TEXTUAL_DRIVER=WEB_DRIVER, COLUMNS="80", ROWS="24"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        shown = b""
        deadline = time.monotonic() + 60
        # The web driver's greeting, then the first frame as data packets ("D" + length).
        while b"pislm" not in shown.partition(b"__GANGLION__\n")[2]:
            assert time.monotonic() < deadline, f"no web-driver frame; got {shown[:200]!r}"
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, f"stdout closed; stderr: {proc.stderr.read()[-500:]!r}"  # type: ignore[union-attr]
                shown += chunk
            assert proc.poll() is None, proc.stderr.read()[-500:]  # type: ignore[union-attr]
        cpu_before = cpu_seconds(proc.pid)
        proc.stdin.close()
        if closed == "every pipe":
            proc.stdout.close()
            proc.stderr.close()  # type: ignore[union-attr]
        try:
            status = proc.wait(15)
        except subprocess.TimeoutExpired:
            time.sleep(1)
            busy = cpu_seconds(proc.pid) - cpu_before
            raise AssertionError(
                f"still running 15 s after its pipes closed ({busy:.1f} s CPU)"
            ) from None
        assert status == 129  # 128 + SIGHUP: the input hung up
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
