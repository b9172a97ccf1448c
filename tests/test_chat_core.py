"""Chat core without the UI: options typed by name, the conversation and its request, the
SQLite store (WAL, migrations, search, durability after `kill -9`), Markdown export, code
blocks, path completion, and the streaming turn against the fake server over real sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pislm_tui.backend.errors import (
    ModelNotFound,
    ServerUnreachable,
    UsageError,
)
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.chat.blocks import code_blocks
from pislm_tui.chat.conversation import (
    ChatMessage,
    Conversation,
    SessionSettings,
    StoredImage,
    merge_options,
    title_from_prompt,
)
from pislm_tui.chat.export import export_markdown, to_markdown
from pislm_tui.chat.images import complete_path
from pislm_tui.chat.options import parse_options, parse_value
from pislm_tui.chat.store import SCHEMA_VERSION, SessionStore, StoreError
from pislm_tui.chat.turn import LiveReply, stream_reply
from pislm_tui.config import ChatSettings
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import wait_for

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))

# -- options --------------------------------------------------------------------------------------


def test_options_are_typed_by_name() -> None:
    options = parse_options(
        [
            "temperature=0.2",
            "top_k=40",
            "num_ctx=4096",
            "seed=-1",
            "use_mmap=off",
            "stop=###",
            "stop= END",
        ]
    )
    assert options == {
        "temperature": 0.2,
        "top_k": 40,
        "num_ctx": 4096,
        "seed": -1,
        "use_mmap": False,
        "stop": ["###", " END"],
    }
    assert isinstance(options["top_k"], int) and isinstance(options["temperature"], float)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("temp=1", "unknown option 'temp'"),
        ("top_k=4.5", "top_k must be an integer"),
        ("temperature=hot", "temperature must be a number"),
        ("temperature=3", "temperature"),  # out of range (0-2)
        ("top_p=1.5", "top_p"),
        ("num_ctx=12", "num_ctx"),
        ("temperature", "bad option 'temperature'"),
    ],
)
def test_bad_options_are_refused_with_a_message(pair: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_options([pair])
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_parse_value_and_merge() -> None:
    assert parse_value("num_predict", " 128 ") == 128
    merged = merge_options({"temperature": 0.5, "seed": 1}, {"seed": None, "top_p": 0.9})
    assert merged == {"temperature": 0.5, "top_p": 0.9}


# -- conversation ---------------------------------------------------------------------------------


def test_history_carries_system_prompt_every_turn_and_images() -> None:
    settings = SessionSettings(
        model="llava-phi3:3.8b",
        system_prompt="Be brief.",
        options={"temperature": 0.1},
        keep_alive="5m",
    )
    conversation = Conversation(settings=settings)
    conversation.messages += [
        ChatMessage("user", "What is this?", images=[StoredImage("a.png", PNG)]),
        ChatMessage("assistant", "A cat.", thinking="looks furry"),
        ChatMessage("user", "Sure?"),
        ChatMessage("assistant", "", status="stopped"),  # said nothing: left out
        ChatMessage("user", "Answer please"),
    ]
    request = conversation.request()
    assert [(m.role, m.content) for m in request.messages] == [
        ("system", "Be brief."),
        ("user", "What is this?"),
        ("assistant", "A cat."),
        ("user", "Sure?"),
        ("user", "Answer please"),
    ]
    assert request.messages[1].images == [PNG]
    assert request.messages[2].thinking == "looks furry"
    assert request.kwargs() == {"options": {"temperature": 0.1}, "think": None, "keep_alive": "5m"}


@pytest.mark.parametrize(
    ("raw", "wire"), [("-1", -1), ("300", 300), ("1.5", 1.5), ("10m", "10m"), (None, None)]
)
def test_keep_alive_numbers_go_as_numbers(raw: str | None, wire: object) -> None:
    conversation = Conversation(settings=SessionSettings(model="m", keep_alive=raw))
    assert conversation.request().kwargs()["keep_alive"] == wire


def test_session_settings_from_config_defaults() -> None:
    chat = ChatSettings.model_validate(
        {
            "system_prompt": "You are terse.",
            "options": {"temperature": 0.3},
            "keep_alive": "1h",
            "think": False,
        }
    )
    settings = SessionSettings.from_defaults(chat, "qwen3:1.7b")
    assert settings.model == "qwen3:1.7b"
    assert settings.options == {"temperature": 0.3}
    assert (settings.keep_alive, settings.think, settings.system_prompt) == (
        "1h",
        False,
        "You are terse.",
    )
    with pytest.raises(UsageError):
        SessionSettings(options={"top_p": 7})


def test_titles_come_from_the_first_prompt() -> None:
    assert (
        title_from_prompt("  What is\n the capital   of France? ")
        == "What is the capital of France?"
    )
    long = title_from_prompt("word " * 40)
    assert len(long) <= 60 and long.endswith("…")
    assert title_from_prompt("", images=1) == "Image"


def test_context_used_is_prompt_plus_reply_of_the_last_reply() -> None:
    conversation = Conversation(settings=SessionSettings(model="m"))
    assert conversation.context_used() is None
    conversation.messages.append(
        ChatMessage("assistant", "x", stats=GenerationStats(prompt_eval_count=26, eval_count=58))
    )
    assert conversation.context_used() == 84


# -- store ----------------------------------------------------------------------------------------


def _conversation(title: str = "Capital of France") -> Conversation:
    return Conversation(
        settings=SessionSettings(model="llama3.2:1b", options={"seed": 7}), title=title
    )


def test_store_uses_wal_and_the_current_schema(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data" / "sessions.db")
    assert store.version == SCHEMA_VERSION
    mode = (
        sqlite3.connect(tmp_path / "data" / "sessions.db")
        .execute("PRAGMA journal_mode")
        .fetchone()[0]
    )
    assert mode == "wal"
    store.close()


def test_store_round_trip_with_images_stats_and_status(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    conversation = _conversation()
    session = store.create_session(conversation)
    store.add_message(session, ChatMessage("user", "hi", images=[StoredImage("cat.png", PNG)]))
    reply = ChatMessage("assistant", "Hel", model="llama3.2:1b", status="streaming")
    store.add_message(session, reply)
    reply.content, reply.status, reply.done_reason = "Hello!", "complete", "stop"
    reply.stats = GenerationStats(
        total_duration_ns=3_512_345_678, eval_count=58, eval_duration_ns=3_101_234_567
    )
    store.update_message(reply)
    store.close()

    loaded = SessionStore(tmp_path / "sessions.db").load(session)
    assert loaded.title == "Capital of France"
    assert loaded.settings.options == {"seed": 7}
    user, answer = loaded.messages
    assert user.images == [StoredImage("cat.png", PNG)]
    assert (answer.content, answer.status, answer.done_reason) == ("Hello!", "complete", "stop")
    assert answer.stats == reply.stats


def test_list_search_rename_delete(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    first = store.create_session(_conversation("Pi cooling"))
    store.add_message(first, ChatMessage("user", "How hot does a Pi 5 get under load?"))
    second = store.create_session(_conversation("Capital of France"))
    store.add_message(second, ChatMessage("user", "What is 100% of Paris_?"))
    assert [s.id for s in store.list_sessions()] == [second, first]  # newest first
    assert [s.id for s in store.list_sessions("PI 5")] == [first]  # message text, any case
    assert [s.id for s in store.list_sessions("france")] == [second]  # title
    assert [s.id for s in store.list_sessions("100%")] == [second]  # % and _ are literal
    assert store.list_sessions("50%") == []
    assert store.list_sessions()[0].messages == 1
    store.rename_session(first, "Thermals")
    assert store.load(first).title == "Thermals"
    store.delete_session(second)
    assert [s.id for s in store.list_sessions()] == [first]
    with pytest.raises(StoreError, match="does not exist"):
        store.load(second)
    assert (
        sqlite3.connect(tmp_path / "sessions.db")
        .execute("SELECT COUNT(*) FROM messages")
        .fetchone()[0]
        == 1
    )


def test_recent_prompts_newest_first_without_repeats(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions.db")
    session = store.create_session(_conversation())
    for text in ("one", "two", "one", "three"):
        store.add_message(session, ChatMessage("user", text))
        store.add_message(session, ChatMessage("assistant", "ok"))
    assert store.recent_prompts() == ["three", "one", "two"]


def test_a_database_from_a_newer_pislm_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer pislm"):
        SessionStore(path)


def test_an_older_database_is_migrated_step_by_step(tmp_path: Path) -> None:
    from pislm_tui.chat.store import MIGRATIONS

    path = tmp_path / "sessions.db"
    db = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](db)  # a version-1 database with a chat in it
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO sessions (title, created_at, updated_at) VALUES ('old', 1, 1)")
    db.close()
    store = SessionStore(path)
    assert store.version == SCHEMA_VERSION
    assert [s.title for s in store.list_sessions()] == ["old"]
    indexes = {
        row[0]
        for row in sqlite3.connect(path).execute(
            "SELECT name FROM sqlite_master WHERE type='index'"
        )
    }
    assert "sessions_by_update" in indexes


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        SessionStore(path)
    assert "not a pislm database" in str(caught.value) and "move it aside" in str(caught.value)


def test_kill_9_during_a_reply_keeps_every_complete_message(tmp_path: Path) -> None:
    """A child process saves like the app does, then dies by SIGKILL mid-reply."""
    path = tmp_path / "sessions.db"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from pislm_tui.chat.store import SessionStore
        from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
        store = SessionStore(Path({str(path)!r}))
        conv = Conversation(settings=SessionSettings(model="m"), title="t")
        session = store.create_session(conv)
        store.add_message(session, ChatMessage("user", "first"))
        store.add_message(session, ChatMessage("assistant", "complete answer"))
        store.add_message(session, ChatMessage("user", "second"))
        reply = ChatMessage("assistant", "partial", status="streaming")
        store.add_message(session, reply)
        reply.content = "partial and growing"
        store.update_message(reply)
        print("saved", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "saved"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    store = SessionStore(path)
    conversation = store.load(store.latest_session_id() or 0)
    assert [(m.role, m.content, m.status) for m in conversation.messages] == [
        ("user", "first", "complete"),
        ("assistant", "complete answer", "complete"),
        ("user", "second", "complete"),
        ("assistant", "partial and growing", "streaming"),
    ]
    assert "unfinished" in (conversation.messages[-1].note or "")


# -- export, blocks, paths --------------------------------------------------------------------------


def test_export_writes_markdown_with_figures_and_notes(tmp_path: Path) -> None:
    conversation = _conversation("Capital: of France?")
    conversation.id = 3
    conversation.settings.system_prompt = "Be brief."
    conversation.messages += [
        ChatMessage("user", "What is the capital of France?", images=[StoredImage("map.png", PNG)]),
        ChatMessage(
            "assistant",
            "Paris.\n\n```python\nprint('hi')\n```",
            thinking="easy one",
            model="llama3.2:1b",
            stats=GenerationStats(
                total_duration_ns=2_000_000_000, eval_count=18, eval_duration_ns=2_000_000_000
            ),
        ),
        ChatMessage("user", "And Chile?"),
        ChatMessage("assistant", "Santi", status="stopped", model="llama3.2:1b"),
    ]
    path = export_markdown(conversation, tmp_path / "exports")
    assert path.parent == tmp_path / "exports" and path.name.endswith("-capital-of-france-3.md")
    text = path.read_text(encoding="utf-8")
    assert text == to_markdown(conversation)
    assert text.startswith("# Capital: of France?\n")
    assert "- Model: llama3.2:1b" in text and "- Options: seed=7" in text
    assert "## System prompt\n\nBe brief." in text
    assert "## You\n\nWhat is the capital of France?\n\nImages: map.png · 72 B" in text
    assert "<details><summary>Thinking</summary>\n\neasy one" in text
    assert "```python\nprint('hi')\n```" in text
    assert "*llama3.2:1b" not in text and "*9.00 tok/s · 18 tokens · 2.00 s*" in text
    assert text.rstrip().endswith("Santi\n\n*stopped*")
    assert not list((tmp_path / "exports").glob(".export-*"))


def test_code_blocks_are_found_like_the_renderer_finds_them() -> None:
    blocks = code_blocks(
        "Intro\n\n```python\ndef main():\n    pass\n```\n\n    indented\n\n~~~\nplain\n~~~"
    )
    assert [(b.language, b.code) for b in blocks] == [
        ("python", "def main():\n    pass"),
        ("", "indented"),
        ("", "plain"),
    ]
    assert blocks[0].label == "python · 2 lines · def main():"


def test_path_completion_offers_folders_and_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "Cat.PNG").write_bytes(PNG)
    (tmp_path / "photos" / "notes.txt").write_text("x")
    (tmp_path / "photos" / ".hidden.png").write_bytes(PNG)
    assert complete_path(f"{tmp_path}/pho") == f"{tmp_path}/photos/"
    assert complete_path(f"{tmp_path}/photos/") == f"{tmp_path}/photos/Cat.PNG"
    assert complete_path(f"{tmp_path}/photos/c") == f"{tmp_path}/photos/Cat.PNG"  # any case
    assert complete_path(f"{tmp_path}/photos/n") is None  # not an image
    assert complete_path(f"{tmp_path}/photos/.h") == f"{tmp_path}/photos/.hidden.png"
    assert complete_path(f"{tmp_path}/nowhere/x") is None
    monkeypatch.setenv("HOME", str(tmp_path))
    assert complete_path("~/pho") == "~/photos/"


# -- the streaming turn -----------------------------------------------------------------------------


def _request(
    fake: FakeOllama, prompt: str = "hi", model: str = "llama3.2:1b", **settings: object
) -> tuple[OllamaBackend, object]:
    backend = OllamaBackend(fake.url, read_timeout=10)
    conversation = Conversation(settings=SessionSettings(model=model, **settings))  # type: ignore[arg-type]
    conversation.messages.append(ChatMessage("user", prompt))
    return backend, conversation.request()


async def test_a_reply_streams_with_figures_and_saves_at_a_cadence(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(text="one two three four five six", rate=40))
    backend, request = _request(fake_ollama)
    saved: list[tuple[str, str]] = []
    seen: list[str] = []
    now = [0.0]

    def chunk(text: str, thinking: str) -> None:
        seen.append(text)
        now[0] += 0.5  # each token "takes" half a second

    reply = LiveReply(ChatMessage("assistant"))
    await stream_reply(
        backend,
        request,  # type: ignore[arg-type]
        reply,
        save=lambda m: saved.append((m.content, m.status)),
        save_every_s=2,
        on_chunk=chunk,
        clock=lambda: now[0],
    )
    await backend.aclose()
    assert reply.message.content == "one two three four five six"
    assert reply.message.status == "complete" and reply.message.done_reason == "stop"
    assert "".join(seen) == reply.message.content
    stats = reply.message.stats
    assert stats is not None and stats.eval_count == fake_ollama.last_stats["eval_count"]  # type: ignore[index]
    # the growing reply is saved every 2 s (here: after 4 tokens), then the complete one
    assert saved == [("one two three four", "streaming"), (reply.message.content, "complete")]
    assert reply.take() == (reply.message.content, "")


async def test_escape_codes_are_stripped_even_when_split_across_chunks(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.script(Reply(tokens=["Hi ", "\x1b[3", "1mred\x1b", "[0m ", "\x1b]0;pwned\x07done"]))
    backend, request = _request(fake_ollama)
    reply = LiveReply(ChatMessage("assistant"))
    await stream_reply(backend, request, reply)  # type: ignore[arg-type]
    await backend.aclose()
    assert reply.message.content == "Hi red done"


async def test_cancel_keeps_the_partial_reply_stopped_and_closes_the_connection(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.script(Reply(n_tokens=400, rate=50))
    backend, request = _request(fake_ollama)
    saved: list[str] = []
    reply = LiveReply(ChatMessage("assistant"))
    task = asyncio.create_task(
        stream_reply(backend, request, reply, save=lambda m: saved.append(m.status))
    )  # type: ignore[arg-type]
    await wait_for(lambda: reply.tokens >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reply.message.status == "stopped" and reply.message.content
    assert saved[-1] == "stopped"
    assert fake_ollama.wait_for(lambda: "/api/chat" in fake_ollama.disconnects)
    await backend.aclose()


async def test_a_dropped_connection_keeps_what_arrived_with_the_reason(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.script(Reply(text="alpha beta gamma delta", drop_after=2))
    backend, request = _request(fake_ollama)
    reply = LiveReply(ChatMessage("assistant"))
    await stream_reply(backend, request, reply)  # type: ignore[arg-type]
    await backend.aclose()
    assert reply.message.content == "alpha beta"
    assert reply.message.status == "error"
    assert "cut off" in (reply.message.error or "")


async def test_failures_before_any_text_propagate(fake_ollama: FakeOllama) -> None:
    backend, request = _request(fake_ollama, model="nope:1b")
    reply = LiveReply(ChatMessage("assistant"))
    with pytest.raises(ModelNotFound) as caught:
        await stream_reply(backend, request, reply)  # type: ignore[arg-type]
    assert "pislm pull nope:1b" in str(caught.value)
    await backend.aclose()

    down = OllamaBackend("http://127.0.0.1:9", connect_timeout=2)
    with pytest.raises(ServerUnreachable):
        await stream_reply(down, request, LiveReply(ChatMessage("assistant")))  # type: ignore[arg-type]
    await down.aclose()


async def test_thinking_is_kept_apart_from_the_answer(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(thinking="Let me think.", text="Paris."))
    backend, request = _request(fake_ollama, model="qwen3:1.7b", think=True)
    reply = LiveReply(ChatMessage("assistant"))
    await stream_reply(backend, request, reply)  # type: ignore[arg-type]
    await backend.aclose()
    assert (reply.message.thinking, reply.message.content) == ("Let me think.", "Paris.")
    assert fake_ollama.requests_to("/api/chat")[-1].json["think"] is True
