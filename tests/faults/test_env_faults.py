"""Environment faults: a terminal resized to almost nothing, a broken config file, a data dir that
cannot be written (read-only, not a folder, a disk that fills mid-session), a damaged document
store, two pislm at once on one data dir, `kill -9` mid-reply, a terminal that goes away, Ctrl+C.

Everything is real: SQLite and ChromaDB on disk in temporary dirs, the app in a real pty
(`env_helpers.PtyApp`) or under Textual's pilot, the fake Ollama over real sockets.

How the faults are made, so that they run unprivileged (CI) and as root (where chmod blocks
nothing):
- a data dir that cannot be written: the path is an existing regular file (or the database path
  a folder), which no user can write into; plain chmod 0o555 only where it means something
  (not root);
- a disk that fills mid-session: RLIMIT_FSIZE lowered to 0 on the running app (`prlimit`, allowed
  on one's own processes): from then on the kernel fails every write to a regular file
  (EFBIG), as a full disk fails it (ENOSPC); raising it again is the user freeing space.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.chat.store import SessionStore
from pislm_tui.config import Paths, load_settings
from pislm_tui.widgets.message_view import AssistantMessage
from pislm_tui.widgets.prompt_input import PromptInput
from tests.fake_ollama import FakeOllama
from tests.faults.env_helpers import (
    FakeServer,
    PtyApp,
    child_env,
    cpu_seconds,
    peek_messages,
    run_cli,
    wait_until,
)
from tests.helpers import patient, screen_text

MakeApp = Callable[..., PislmApp]
IS_ROOT = os.geteuid() == 0
TABS = ["chat", "models", "rag", "tools", "monitor"]
FKEYS = {"rag": b"\x1bOS", "monitor": b"\x1b[17~"}  # F4, F6 as an xterm sends them


wait_for = patient(20.0)


def notes(app: PislmApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def replies(app: PislmApp) -> list[AssistantMessage]:
    return list(app.query(AssistantMessage))


async def chat_turn(app: PislmApp, pilot: Any, text: str, count: int) -> AssistantMessage:
    """Send `text` from the Chat tab and wait until reply number `count` is complete."""
    prompt = app.query_one(PromptInput)
    await wait_for(lambda: app.current_model, pilot=pilot, what="a model")
    prompt.focus()
    prompt.set_text(text)
    await pilot.press("enter")
    chat = app.query_one("#chat-tab")
    await wait_for(
        lambda: len(replies(app)) >= count and not chat.streaming,  # type: ignore[attr-defined]
        pilot=pilot,
        what=f"reply {count}",
    )
    reply = replies(app)[count - 1]
    assert reply.message.status == "complete", reply.message
    return reply


def data_dir() -> Path:
    return Paths.from_env().data_dir


# -- 1. resizing ---------------------------------------------------------------------------------


async def test_resize_to_40x12_and_back_on_every_tab(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, what="connected")
        for tab in TABS:
            app.show_tab(tab)
            await wait_for(lambda t=tab: app.query(f"#{t}-tab"), pilot=pilot, what=tab)
            for cols, rows in [(40, 12), (120, 40), (40, 12), (80, 24)]:
                await pilot.resize_terminal(cols, rows)
                await wait_for(lambda c=cols, r=rows: app.size == (c, r), pilot=pilot)
                await pilot.pause()
                lines = screen_text(app).splitlines()
                assert len(lines) == rows and all(len(line) == cols for line in lines)
            assert app.is_running and app.active_tab == tab
            # back at 80x24 the screen is whole: status line, every tab label, the footer
            text = screen_text(app)
            assert "Ollama 0.33.0" in text and "Quit" in text.splitlines()[-1]
            assert all(
                label in text for label in ("Chat", "Models", "RAG", "Function Calling", "Monitor")
            )
        app.show_tab("chat")
        await pilot.resize_terminal(40, 12)
        await pilot.resize_terminal(120, 40)
        reply = await chat_turn(app, pilot, "still there after resizing?", 1)
        assert "You said: still there after resizing?" in reply.message.content
        await wait_for(
            lambda: "You said: still there after resizing?" in screen_text(app), pilot=pilot
        )


# -- 2. a broken config file ---------------------------------------------------------------------

BAD_CONFIGS = {
    # name: (file text, what the warning must say, a check of the settings)
    "not-toml": (
        'model = "llama3.2:1b"\n[chat\nsystem_prompt = "x"\n',
        ["is not valid TOML", "line 2"],
        lambda s: s.model is None,  # nothing of the file is used
    ),
    "wrong-type": (
        'model = "llama3.2:1b"\n\n[chat]\nflush_hz = "fast"\nsystem_prompt = "Be brief."\n',
        ["line 4: chat.flush_hz", "using the default"],
        lambda s: s.chat.flush_hz == 4 and s.chat.system_prompt == "Be brief.",
    ),
    "unknown-key": (
        'model = "llama3.2:1b"\ncolour = "red"\n[rag]\ntop_k = 3\n',
        ["line 2: colour: unknown key, ignored"],
        lambda s: s.model == "llama3.2:1b" and s.rag.top_k == 3,
    ),
}


def write_config(text: str) -> Path:
    path = Paths.from_env().config_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
async def test_bad_config_file_app_starts_with_defaults_and_names_the_key(
    case: str, fake_ollama: FakeOllama
) -> None:
    text, expected, check = BAD_CONFIGS[case]
    path = write_config(text)
    loaded = load_settings(overrides={"host": fake_ollama.url})
    assert check(loaded.settings)
    app = PislmApp(loaded)
    async with app.run_test(size=(100, 30)) as pilot:
        warning = await wait_for(
            lambda: [n for n in notes(app) if str(path) in n], pilot=pilot, what="the warning"
        )
        assert all(part in warning[0] for part in expected), warning
        reply = await chat_turn(app, pilot, "hello", 1)  # the app works
        assert "You said: hello" in reply.message.content


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_file_cli_still_runs_and_warns_on_stderr(
    case: str, fake_ollama: FakeOllama
) -> None:
    text, expected, _check = BAD_CONFIGS[case]
    path = write_config(text)
    result = run_cli("models", "--host", fake_ollama.url)
    assert result.returncode == 0, result.stderr
    assert "llama3.2:1b" in result.stdout  # the command did its work
    warning = [line for line in result.stderr.splitlines() if str(path) in line]
    assert warning and warning[0].startswith("pislm: warning:"), result.stderr
    assert all(part in warning[0] for part in expected), warning


# -- 3. a data dir that cannot be written --------------------------------------------------------


def _data_dir_is_a_file() -> Path:
    path = data_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")
    return path


def _sessions_db_is_a_folder() -> Path:
    path = data_dir() / "sessions.db"
    path.mkdir(parents=True)
    return path


def _read_only_data_dir() -> Path:
    path = data_dir()
    path.mkdir(parents=True)
    path.chmod(0o555)
    return path


UNWRITABLE = {
    "data-dir-is-a-file": (_data_dir_is_a_file, "is not a folder"),
    "sessions-db-is-a-folder": (_sessions_db_is_a_folder, "unable to open database file"),
    "read-only-data-dir": (_read_only_data_dir, "unable to open database file"),
}


@pytest.mark.parametrize("case", list(UNWRITABLE))
async def test_unwritable_data_dir_chat_works_in_memory(
    case: str, make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    if case == "read-only-data-dir" and IS_ROOT:
        pytest.skip("root ignores file permissions (the other cases make the same fault)")
    make_fault, detail = UNWRITABLE[case]
    culprit = make_fault()
    try:
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            shown = await wait_for(
                lambda: [n for n in notes(app) if "chats will not be saved" in n],
                pilot=pilot,
                what="the warning",
            )
            assert detail in shown[0] and str(culprit) in shown[0], shown
            assert "free some disk space or fix the permissions" in shown[0]
            for n in (1, 2):
                reply = await chat_turn(app, pilot, f"question {n}", n)
                assert f"You said: question {n}. This is reply number {n}." in reply.message.content
            await wait_for(lambda: "This is reply number 2" in screen_text(app), pilot=pilot)
            assert "question 1" in screen_text(app)
            assert app.is_running
    finally:
        if case == "read-only-data-dir":
            culprit.chmod(0o755)
    assert not (data_dir() / "sessions.db").is_file()


async def test_damaged_sessions_db_is_named_and_chat_works_in_memory(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    """A sessions.db whose header is fine but whose pages were overwritten (a bad SD card)."""
    from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings

    db = data_dir() / "sessions.db"
    store = SessionStore(db)
    for n in range(20):
        conversation = Conversation(title=f"chat {n}", settings=SessionSettings())
        store.create_session(conversation)
        for _ in range(10):
            store.add_message(conversation.id, ChatMessage("user", "x" * 500))  # type: ignore[arg-type]
    store.close()
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.seek(4096)
        f.write(b"\xa5" * (size - 8192))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        shown = await wait_for(
            lambda: [n for n in notes(app) if "is damaged" in n], pilot=pilot, what="the warning"
        )
        assert str(db) in shown[0] and "move it aside" in shown[0], shown
        reply = await chat_turn(app, pilot, "question 1", 1)
        assert "You said: question 1. This is reply number 1." in reply.message.content
        assert app.is_running


def _limit_file_size(pid: int, limit: int | None) -> None:
    """RLIMIT_FSIZE of a running process: 0 fails every write to a regular file, None lifts it."""
    _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard if limit is None else limit, hard))


@pytest.fixture
def fake_server() -> Any:
    """The fake Ollama in its own process (the app under test is a separate process too)."""
    server = FakeServer()
    try:
        yield server
    finally:
        server.stop()


def start_pty_app(server: FakeServer, **env: str) -> PtyApp:
    app = PtyApp(
        [sys.executable, "-m", "pislm_tui"],
        env=child_env(OLLAMA_HOST=server.url, PISLM_MONITOR__SHOW_STRIP="false", **env),
    )
    app.wait_for_text("7 models", timeout=60)
    app.wait_for_text("llama3.2:1b", timeout=30)
    return app


def send_prompt(app: PtyApp, text: str) -> None:
    app.send(text)
    app.wait_for_text(text, timeout=20)  # typed into the prompt box
    app.send(b"\r")


@pytest.mark.slow
def test_disk_fills_mid_session_conversation_kept_and_saving_resumes(
    fake_server: FakeServer,
) -> None:
    db = data_dir() / "sessions.db"
    app = start_pty_app(fake_server)
    try:
        send_prompt(app, "first question")
        app.wait_for_text("This is reply number 1.")
        wait_until(lambda: [m[1] for m in peek_messages(db)] == ["complete", "complete"])

        _limit_file_size(app.pid, 0)  # the disk is full from now on
        send_prompt(app, "second question")
        app.wait_for_text("This is reply number 2.")
        app.wait_for(lambda s: "cannot save" in s, what="the 'not saved' message")
        screen = app.text()
        assert "first question" in screen and "This is reply number 1." in screen
        assert "second question" in screen
        assert app.proc.poll() is None

        _limit_file_size(app.pid, None)  # space freed: the next turn is saved again
        send_prompt(app, "third question")
        app.wait_for_text("This is reply number 3.")
        wait_until(
            lambda: (
                [(m[0], m[2].split(".")[0]) for m in peek_messages(db)][-2:]
                == [("user", "third question"), ("assistant", "You said: third question")]
            ),
            what="the third turn saved",
        )
        app.send(b"\x11")  # Ctrl+Q
        assert app.wait_exit(20) == 0
    finally:
        app.kill()
    stored = peek_messages(db)
    assert [m[2] for m in stored if m[0] == "user"] == ["first question", "third question"]
    assert all(m[1] == "complete" for m in stored)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- 4. a damaged document store -----------------------------------------------------------------


def _chroma_is_a_file(chroma: Path, host: str) -> str:
    chroma.parent.mkdir(parents=True, exist_ok=True)
    chroma.write_text("junk")
    return "is not a folder"


def _chroma_sqlite_garbage(chroma: Path, host: str) -> str:
    chroma.mkdir(parents=True)
    (chroma / "chroma.sqlite3").write_bytes(bytes(range(256)) * 64)
    return "is damaged"


def _chroma_sqlite_malformed(chroma: Path, host: str) -> str:
    """A real store (made by `pislm rag demo`) whose database pages, not its header, were
    overwritten."""
    made = run_cli("rag", "demo", "--host", host)
    assert made.returncode == 0, made.stderr
    database = chroma / "chroma.sqlite3"
    size = database.stat().st_size
    with open(database, "r+b") as f:
        f.seek(4096)
        f.write(b"\xa5" * (size - 8192))
    return "is damaged"


DAMAGED_CHROMA = {
    "chroma-is-a-file": _chroma_is_a_file,
    "garbage-in-chroma.sqlite3": _chroma_sqlite_garbage,
    "malformed-chroma.sqlite3": _chroma_sqlite_malformed,
}


@pytest.mark.parametrize("case", list(DAMAGED_CHROMA))
def test_damaged_chroma_cli_names_the_path_and_what_to_do(
    case: str, fake_ollama: FakeOllama
) -> None:
    chroma = Paths.from_env().chroma_dir
    detail = DAMAGED_CHROMA[case](chroma, fake_ollama.url)
    result = run_cli("rag", "ls", "--host", fake_ollama.url)
    assert result.returncode == 5, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message, message
    assert f"{chroma} {detail}" in message
    assert "move it aside" in message and "add your documents again" in message
    assert run_cli("models", "--host", fake_ollama.url).returncode == 0  # the rest works


def rag_message(app: PislmApp) -> list[str]:
    """The RAG tab's message line, once the tab is there."""
    return [str(widget.render()) for widget in app.query("#rag-message")]


@pytest.mark.parametrize("case", ["chroma-is-a-file", "malformed-chroma.sqlite3"])
async def test_damaged_chroma_rag_tab_says_so_and_the_app_works(
    case: str, make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    chroma = Paths.from_env().chroma_dir
    detail = DAMAGED_CHROMA[case](chroma, fake_ollama.url)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_tab("rag")
        message = await wait_for(
            lambda: next((m for m in rag_message(app) if "Press r" in m), None),
            pilot=pilot,
            timeout=60,
            what="the store's message",
        )
        assert f"{chroma} {detail}" in message and "move it aside" in message
        assert "Press r to try again" in message
        app.show_tab("chat")
        reply = await chat_turn(app, pilot, "does chat still work?", 1)
        assert "You said: does chat still work?" in reply.message.content


# -- 5. two pislm at once on one data dir --------------------------------------------------------


def _save_sessions(path: str, who: int, barrier: Any, turns: int, out: Any) -> None:
    """One pislm's worth of saving, as the Chat tab does it: a session, then per turn the prompt
    and a reply saved as it grows, then complete."""
    from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
    from pislm_tui.chat.store import SessionStore

    try:
        barrier.wait(30)
        store = SessionStore(Path(path))  # all open a fresh database at the same moment
        conversation = Conversation(title=f"writer {who}", settings=SessionSettings())
        store.create_session(conversation)
        for turn in range(turns):
            store.add_message(conversation.id, ChatMessage("user", f"w{who} q{turn}"))
            reply = ChatMessage("assistant", status="streaming")
            for part in range(3):
                reply.content = f"w{who} a{turn} part{part}"
                if reply.id is None:
                    store.add_message(conversation.id, reply)
                else:
                    store.update_message(reply)
            reply.status = "complete"
            store.update_message(reply)
        store.close()
        out.put((who, "ok"))
    except BaseException as exc:  # reported to the test, which fails with it
        out.put((who, f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
def test_several_pislm_save_sessions_at_once(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sessions.db"
    writers, turns = 4, 40
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(writers), ctx.Queue()
    procs = [
        ctx.Process(target=_save_sessions, args=(str(path), n, barrier, turns, out))
        for n in range(writers)
    ]
    for proc in procs:
        proc.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(30)
    assert results == dict.fromkeys(range(writers), "ok")
    store = SessionStore(path)
    try:
        sessions = store.list_sessions()
        assert sorted(s.title for s in sessions) == [f"writer {n}" for n in range(writers)]
        for summary in sessions:
            who = int(summary.title.split()[1])
            conversation = store.load(summary.id)
            assert [(m.role, m.content, m.status) for m in conversation.messages] == [
                item
                for turn in range(turns)
                for item in (
                    ("user", f"w{who} q{turn}", "complete"),
                    ("assistant", f"w{who} a{turn} part2", "complete"),
                )
            ]
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
def test_two_rag_ingests_into_one_collection_at_once(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    fake_ollama.embed_delay = 0.01  # both runs overlap
    folders = []
    for who in range(2):
        folder = tmp_path / f"docs{who}"
        folder.mkdir()
        for n in range(12):
            words = " ".join(f"w{who}f{n}x{i} topic{i % 7}" for i in range(300))
            (folder / f"file{n}.txt").write_text(words)
        folders.append(folder)
    env = child_env()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pislm_tui", "rag", "add", "shared", str(folder), "--json"],
            cwd=Path(__file__).resolve().parents[2],
            env={**env, "OLLAMA_HOST": fake_ollama.url},
            stdout=-1,
            stderr=-1,
            text=True,
        )
        for folder in folders
    ]
    outputs = [proc.communicate(timeout=180) for proc in procs]
    for proc, (_stdout, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
        assert "locked" not in stderr
    reports = [json.loads(stdout) for stdout, _ in outputs]
    expected = {f["source"]: f["chunks"] for r in reports for f in r["files"]}
    assert len(expected) == 24

    listing = run_cli("rag", "ls", "shared", "--json", "--host", fake_ollama.url)
    assert listing.returncode == 0, listing.stderr
    found = json.loads(listing.stdout)
    assert found["chunks"] == sum(expected.values())
    assert {s["source"]: s["chunks"] for s in found["sources"]} == expected

    # Every chunk is in the vector index too: found first when searched with its own vector.
    from pislm_tui.rag import RagStore

    loaded = load_settings()
    store = RagStore.open(loaded.paths, loaded.settings.rag)
    got = store._client.get_collection("shared").get(include=["embeddings", "documents"])
    assert len(got["ids"]) == sum(expected.values())
    # (Chroma's HNSW index is approximate, and overlapping chunks have near vectors: the chunk
    # must be among the nearest few, at distance 0, not always the very first.)
    for text, vector in zip(got["documents"], got["embeddings"], strict=True):
        near = store.query("shared", list(vector), 5)
        assert any(hit.text == text and hit.distance < 1e-5 for hit in near)


# -- 6. kill -9 mid-reply ------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_mid_reply_keeps_what_was_saved(fake_server: FakeServer) -> None:
    db = data_dir() / "sessions.db"
    app = start_pty_app(fake_server, PISLM_CHAT__SAVE_EVERY_S="0.2")
    try:
        send_prompt(app, "first question")
        app.wait_for_text("This is reply number 1.")
        fake_server.control("script", {"n_tokens": 400, "rate": 25})
        send_prompt(app, "tell me a long story")
        partial = wait_until(
            lambda: next(
                (
                    m[2]
                    for m in peek_messages(db)[3:]
                    if m[0] == "assistant" and len(m[2].split()) >= 10
                ),
                None,
            ),
            what="part of the reply saved",
        )
        assert app.proc.poll() is None
        os.killpg(app.pid, signal.SIGKILL)
        assert app.wait_exit(10) == -signal.SIGKILL
    finally:
        app.kill()

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = peek_messages(db)
    assert stored[:3] == [
        ("user", "complete", "first question"),
        ("assistant", "complete", "You said: first question. This is reply number 1."),
        ("user", "complete", "tell me a long story"),
    ]
    role, status, text = stored[3]
    assert (role, status) == ("assistant", "streaming")  # shown as unfinished
    assert text.startswith(partial) and 0 < len(text.split()) < 400
    # The fake's reply for n_tokens is deterministic: what was saved is its beginning.
    store = SessionStore(db)
    try:
        conversation = store.load(store.latest_session_id())  # type: ignore[arg-type]
    finally:
        store.close()
    assert [m.content for m in conversation.messages][:3] == [m[2] for m in stored[:3]]
    assert conversation.messages[3].content == text

    # The app opens it again and shows the chat, unfinished reply included.
    again = start_pty_app(fake_server)
    try:
        again.wait_for_text("tell me a long story")
        again.wait_for_text("first question")
        again.send(b"\x11")
        assert again.wait_exit(20) == 0
    finally:
        again.kill()


# -- 7. the terminal goes away; Ctrl+C -----------------------------------------------------------


def _restored(output: bytes) -> None:
    """The bytes written last leave the terminal as it was: alternate screen left, cursor shown,
    mouse tracking off, colours reset."""
    tail = output[-400:]
    assert b"\x1b[?1049l" in tail, tail
    assert b"\x1b[?25h" in tail.split(b"\x1b[?1049l")[-1]
    assert b"\x1b[?1000l" in tail and b"\x1b[?1003l" in tail and b"\x1b[?1006l" in tail
    assert tail.endswith(b"\x1b[0m"), tail


@pytest.mark.slow
@pytest.mark.parametrize("where", ["chat", "rag", "monitor"])
def test_ctrl_c_quits_cleanly_and_restores_the_terminal(
    where: str, fake_server: FakeServer
) -> None:
    app = start_pty_app(fake_server)
    try:
        if where != "chat":
            app.send(FKEYS[where])  # the tab's key
            app.wait_for_text("Opening the document store" if where == "rag" else "CPU")
            if where == "rag":
                app.wait_for(lambda s: "Opening the document store" not in s, 60, "the store")
                app.send("a")  # the Add documents dialog, its path field focused:
                app.wait_for_text("Add documents")  # Ctrl+C must not be copy there either
                app.send("zqx")
                app.wait_for_text("zqx")
        app.send(b"\x03")
        assert app.wait_exit(15) == 0
    finally:
        app.kill()
    _restored(app.output())


@pytest.mark.slow
def test_sighup_mid_reply_ends_the_app_and_saves_the_reply_as_stopped(
    fake_server: FakeServer,
) -> None:
    db = data_dir() / "sessions.db"
    app = start_pty_app(fake_server)
    try:
        fake_server.control("script", {"n_tokens": 400, "rate": 25})
        send_prompt(app, "a long one please")
        app.wait_for(lambda s: "tok/s" in s, what="the reply streaming")
        os.kill(app.pid, signal.SIGHUP)
        assert app.wait_exit(15) == 128 + signal.SIGHUP
    finally:
        app.kill()
    _restored(app.output())
    stored = peek_messages(db)
    assert [(m[0], m[1]) for m in stored] == [("user", "complete"), ("assistant", "stopped")]
    assert 0 < len(stored[1][2].split()) < 400


@pytest.mark.slow
@pytest.mark.parametrize("sighup", ["default", "ignored"])
def test_closed_terminal_ends_the_app_without_spinning(
    sighup: str, fake_server: FakeServer
) -> None:
    """The pty master closes (an SSH session drops). With SIGHUP ignored (nohup, or the terminal
    is not the controlling one) nothing but the dead terminal says so."""
    app = PtyApp(
        [sys.executable, "-m", "pislm_tui"],
        env=child_env(OLLAMA_HOST=fake_server.url),
        ignore_sighup=sighup == "ignored",
    )
    try:
        app.wait_for_text("7 models", timeout=60)
        cpu_before = cpu_seconds(app.pid)
        started = time.monotonic()
        app.close_master()
        status = app.wait_exit(15)
        if status is None:  # still running: say how busy it is
            time.sleep(1)
            busy = cpu_seconds(app.pid) - cpu_before
            raise AssertionError(f"still running 15 s after the hang-up, {busy:.1f} s CPU used")
        assert status in (128 + signal.SIGHUP, -signal.SIGHUP)
        assert time.monotonic() - started < 15
    finally:
        app.kill()
