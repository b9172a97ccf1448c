"""Shared fixtures. Every test runs with HOME and the XDG directories in a temporary folder, and
without the user's OLLAMA_HOST / PISLM_* / SSH variables, so nothing touches the real home."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_ollama import FakeOllama

# A failed snapshot prints the rows that differ (the HTML report is not in a CI log).
pytest_plugins = ["tests.snapshot_text"]

# Snapshot tests show the server address, so their server listens on a fixed port: below
# Linux's ephemeral range (32768-60999), where the other tests' connections would take it now
# and then and the fixture would wait.
SNAPSHOT_PORT = 29311


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (`-n 2 --dist loadgroup`), the tests that need the fixed snapshot port
    run one after another on one worker instead of waiting for each other's port."""
    for item in items:
        if "snapshot_ollama" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("snapshot-port"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith("PISLM_") or name in (
            "OLLAMA_HOST",
            "OLLAMA_API_KEY",
            "SSH_CONNECTION",
            "SSH_TTY",
            "SSH_CLIENT",
            "TEXTUAL_FPS",
            "TEXTUAL_ANIMATIONS",
            "NO_COLOR",
            # Textual takes the terminal size from these before asking the terminal, and
            # pytest-xdist's workers set them (80x24): a child app in a 120x40 pty would draw
            # at 80x24.
            "COLUMNS",
            "LINES",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    # A truecolor terminal unless a test says otherwise (the 16-colour theme is picked for
    # 16-colour terminals when no theme is configured).
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")  # chromadb
    return home


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A fresh protocol-faithful Ollama on 127.0.0.1 and a random port."""
    with FakeOllama().start() as server:
        yield server


@pytest.fixture
def snapshot_ollama() -> Iterator[FakeOllama]:
    """The fake server on a fixed port, for snapshots that show the address. If another run
    holds the port (two test runs at once), wait for it rather than fail."""
    deadline = time.monotonic() + 120
    while True:
        try:
            server = FakeOllama(port=SNAPSHOT_PORT).start()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with server:
        yield server


@pytest.fixture
def make_settings(fake_ollama: FakeOllama) -> Callable[..., Any]:
    """`make_settings(**overrides)` -> LoadedSettings pointing at the fake server.
    Overrides are nested dicts as on the command line, e.g. chat={"system_prompt": "..."}."""
    from pislm_tui.config import load_settings

    def make(**overrides: Any) -> Any:
        overrides.setdefault("host", fake_ollama.url)
        return load_settings(overrides=overrides)

    return make


@pytest.fixture
def make_app(make_settings: Callable[..., Any]) -> Callable[..., Any]:
    """`make_app(**overrides)` -> a PislmApp against the fake server (not started)."""
    from pislm_tui.app import PislmApp

    def make(*, ssh: bool = False, **overrides: Any) -> PislmApp:
        return PislmApp(make_settings(**overrides), ssh=ssh)

    return make
