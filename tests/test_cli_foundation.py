"""The CLI dispatcher: version, help, usage errors, exit codes, python -m."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pislm_tui import __version__
from pislm_tui.cli import build_parser, main

PISLM = Path(sys.executable).parent / "pislm"


def run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=60, env=os.environ.copy(), **kw
    )


def test_version_and_help_from_the_console_script() -> None:
    out = run(str(PISLM), "--version")
    assert out.returncode == 0 and out.stdout.strip() == f"pislm {__version__}"
    out = run(str(PISLM), "--help")
    assert out.returncode == 0
    for word in (
        "--host",
        "--api",
        "--api-key",
        "--model",
        "--theme",
        "--config",
        "--ssh",
        "--no-ssh",
    ):
        assert word in out.stdout
    for command in ("ask", "models", "pull", "rm", "ps", "bench", "monitor", "rag", "where"):
        assert command in out.stdout


def test_python_dash_m() -> None:
    out = run(sys.executable, "-m", "pislm_tui", "--version")
    assert out.returncode == 0 and __version__ in out.stdout


def test_usage_error_is_one_line_and_exit_2() -> None:
    out = run(str(PISLM), "--api", "grpc")
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "invalid choice: 'grpc'" in out.stderr


def test_global_flags_work_after_the_subcommand() -> None:
    args = build_parser().parse_args(["monitor", "--host", "pi.local"])
    assert args.host == "pi.local" and args.command == "monitor"
    args = build_parser().parse_args(["--model", "m", "monitor"])
    assert args.model == "m"


def test_unreachable_server_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["--host", f"http://127.0.0.1:{port}", "models"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith(f"pislm: cannot reach Ollama at http://127.0.0.1:{port}")
    assert err.count("\n") == 1
