"""Helpers for the server-fault suite: a free port, a "server" that answers every request with
the same junk (a proxy's HTML 502, a web server's plain text), driving the Chat tab, reading the
saved chats, and running the real CLI in a child process."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pislm_tui.app import PislmApp
from pislm_tui.config import Paths, load_settings
from pislm_tui.widgets.prompt_input import PromptInput
from tests.chat_helpers import (  # noqa: F401  (re-exported for the fault tests)
    chat_ready,
    chat_tab,
    notes,
    replies,
    reply_ended,
    send,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]

HTML_502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def junk_server(
    status: int, body: bytes, content_type: str = "text/html"
) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server answering every request with `status` and `body` (e.g. a proxy whose
    Ollama is gone). Yields (url, paths asked)."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            paths.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_HEAD = _answer

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", paths
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


# -- the app ---------------------------------------------------------------------------------------


def app_at(url: str, **overrides: Any) -> PislmApp:
    """The app against `url` (no live strip: its sampler is not what these tests are about)."""
    overrides.setdefault("monitor", {"show_strip": False})
    return PislmApp(load_settings(overrides={"host": url, **overrides}))


def prompt_text(app: PislmApp) -> str:
    return app.query_one(PromptInput).text


def stored_messages() -> list[tuple[str, str, str, str | None]]:
    """(role, status, content, error) of every saved message, in order."""
    db = sqlite3.connect(Paths.from_env().sessions_db)
    try:
        return db.execute(
            "SELECT role, status, content, error FROM messages ORDER BY id"
        ).fetchall()
    finally:
        db.close()


# -- the CLI ---------------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    """`python -m pislm_tui args...` in a child process (a traceback would show on stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "pislm_tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=timeout,
    )


def one_error_line(stderr: str) -> str:
    """The single line `pislm: ...` the CLI prints for an error; fails on anything else."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith("pislm: "), lines[0]
    return lines[0]
