"""Named hosts in the core: the chats' store remembers a chat's host (schema v3, older chats
kept as they were), and ssh's own failures (from the real client) are told apart."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from pislm_tui.backend.errors import RemoteShellFailed
from pislm_tui.backend.ssh import SshShell, explain
from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
from pislm_tui.chat.store import MIGRATIONS, SessionStore


def test_a_version_2_database_gains_the_host_and_keeps_its_chats(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](db)
    MIGRATIONS[1](db)
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO sessions (title, created_at, updated_at) VALUES ('before', 1, 1)")
    db.close()
    store = SessionStore(path)
    try:
        (old,) = store.list_sessions()
        assert (old.title, old.host) == ("before", None)
        chat = Conversation(settings=SessionSettings(model="m"), title="on the pi", host="pi5")
        store.create_session(chat)
        store.add_message(chat.id or 0, ChatMessage(role="user", content="hi"))
        assert store.load(chat.id or 0).host == "pi5"
        store.set_host(old.id, "jetson")
        assert {s.title: s.host for s in store.list_sessions()} == {
            "before": "jetson",
            "on the pi": "pi5",
        }
    finally:
        store.close()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client")
async def test_an_unknown_host_name_is_said_by_the_real_client() -> None:
    shell = SshShell("pislm-test.invalid", ["-F", "/dev/null"], connect_timeout=3)
    try:
        with pytest.raises(RemoteShellFailed) as caught:
            await shell.run("true")
    finally:
        await shell.aclose()
    assert "unknown host name" in caught.value.message


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        ("pi@pi5: Permission denied (publickey).", "key was refused"),
        ("ssh: connect to host pi5 port 2222: Connection refused", "connection refused"),
        ("ssh: connect to host 10.0.0.9 port 22: Connection timed out", "does not answer"),
        ("ssh: connect to host 10.0.0.9 port 22: No route to host", "does not answer"),
        ("Host key verification failed.", "host key"),
        ("kex_exchange_identification: read: Connection reset by peer", "failed: kex"),
    ],
)
def test_ssh_failures_are_told_apart(stderr: str, said: str) -> None:
    error = explain("pi@pi5", 255, stderr)
    assert said in error.message
    assert error.exit_code == 3
