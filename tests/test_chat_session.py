"""The chat as the Chat tab runs it, without the UI (`chat.session`, `chat.async_store`): saving
off the event loop and in order, the prompt history, the undo of a regenerate or an edit, a
request that fails before any text, saves that fail, the close mid-reply, the gauge; and the
/api/show cache the Chat tab, the Models tab and the CLI share (`models.details`)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from pislm_tui.backend.errors import PislmError
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.backend.openai_compat import OpenAIBackend
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
from pislm_tui.chat.images import ImageAttachment
from pislm_tui.chat.session import ChatSession, copy_choices, default_updates, live_figures
from pislm_tui.chat.store import SessionStore
from pislm_tui.chat.turn import LiveReply, stream_reply
from pislm_tui.models.details import ModelDetailsCache
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import wait_for

PNG = b"\x89PNG\r\n\x1a\n"
MODEL = "llama3.2:1b"


class Reports:
    """What the session told the user (error, title)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, error: PislmError, title: str) -> None:
        self.seen.append((str(error), title))


def _new(model: str = MODEL) -> Conversation:
    return Conversation(settings=SessionSettings(model=model))


async def _session(db: Path, reports: Reports, *, resume: bool = False) -> ChatSession:
    session = ChatSession(_new(), reports)
    resumed = await session.open(db, resume=resume)
    if resumed is not None:
        session.show(resumed)
    return session


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT role, status, content FROM messages ORDER BY id").fetchall()


async def _reply(session: ChatSession, backend: OllamaBackend, model: str = MODEL) -> LiveReply:
    live, request = session.start_reply(model)
    try:
        await stream_reply(backend, request, live, save=session.save_reply)
    except PislmError:
        session.reply_failed()
        raise
    session.end_reply()
    return live


async def _drain(session: ChatSession) -> None:
    """Every write queued so far has run (the store's thread keeps them in order)."""
    assert session.store is not None
    await session.store.run(lambda: None)


# -- off the loop, in order -------------------------------------------------------------------------


async def test_a_prompt_is_saved_off_the_event_loop(tmp_path: Path) -> None:
    """While the save waits for the database (another writer holds it), the loop runs on:
    the 20 MiB image does not stop the app; once the lock goes, the prompt is saved whole."""
    db = tmp_path / "sessions.db"
    reports = Reports()
    session = await _session(db, reports)
    image = ImageAttachment(tmp_path / "big.png", PNG + bytes(20 * 1024 * 1024 - len(PNG)), "PNG")
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another pislm in the middle of a write
    saving = asyncio.ensure_future(session.add_prompt("What is this?", [image], MODEL))
    ticks = 0
    while ticks < 50:  # the loop keeps turning while the save waits
        await asyncio.sleep(0)
        ticks += 1
    assert not saving.done() and _rows_now(other) == []  # still waiting for the lock
    other.execute("ROLLBACK")
    other.close()
    message = await saving
    assert reports.seen == []
    assert message.id is not None and session.conversation.id is not None
    stored = SessionStore(db)
    try:
        loaded = stored.load(session.conversation.id)
    finally:
        stored.close()
    assert loaded.title == "What is this?" and loaded.settings.model == MODEL
    assert [len(i.data) for i in loaded.messages[0].images] == [20 * 1024 * 1024]
    await session.close()


def _rows_now(conn: sqlite3.Connection) -> list[tuple[str]]:
    return conn.execute("SELECT role FROM messages").fetchall()


async def test_the_store_is_called_in_one_thread_that_is_not_the_loops(tmp_path: Path) -> None:
    session = await _session(tmp_path / "sessions.db", Reports())
    assert session.store is not None
    names = await asyncio.gather(
        *(session.store.run(lambda: threading.current_thread().name) for _ in range(3))
    )
    assert len(set(names)) == 1 and names[0] != threading.current_thread().name
    await session.close()


async def test_a_reply_is_saved_in_order_and_resumed_with_the_history(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    db = tmp_path / "sessions.db"
    fake_ollama.script(Reply(text="Paris."), Reply(text="Berlin."))
    backend = OllamaBackend(fake_ollama.url)
    reports = Reports()
    session = await _session(db, reports)
    try:
        await session.add_prompt("Capital of France?", [], MODEL)
        await _reply(session, backend)
        await session.add_prompt("Capital of Germany?", [], MODEL)
        await _reply(session, backend)
        await session.close()
    finally:
        await backend.aclose()
    assert _rows(db) == [
        ("user", "complete", "Capital of France?"),
        ("assistant", "complete", "Paris."),
        ("user", "complete", "Capital of Germany?"),
        ("assistant", "complete", "Berlin."),
    ]
    again = await _session(db, reports, resume=True)
    assert [m.content for m in again.conversation.messages][-1] == "Berlin."
    assert again.store is not None
    assert again.store.recent_prompts() == ["Capital of Germany?", "Capital of France?"]
    await again.close()
    assert reports.seen == []


async def test_settings_changed_while_a_new_chat_is_saved_are_saved_after_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "sessions.db"
    session = await _session(db, Reports())
    assert session.store is not None
    adding = asyncio.ensure_future(session.add_prompt("hi", [], MODEL))
    await asyncio.sleep(0)  # the insert is queued, its id not known yet
    session.use_model("qwen3:1.7b")
    await adding
    await session.close()
    stored = SessionStore(db)
    try:
        assert stored.load(session.conversation.id).settings.model == "qwen3:1.7b"  # type: ignore[arg-type]
    finally:
        stored.close()


# -- undo -----------------------------------------------------------------------------------------


async def test_regenerate_replaces_the_last_reply_once_the_new_one_comes(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    db = tmp_path / "sessions.db"
    fake_ollama.script(Reply(text="First."), Reply(text="Second."))
    backend = OllamaBackend(fake_ollama.url)
    session = await _session(db, Reports())
    try:
        await session.add_prompt("Say something", [], MODEL)
        first = await _reply(session, backend)
        assert session.can_redo()
        hidden = session.prepare_regenerate()
        assert hidden == [first.message] and session.conversation.messages[-1].role == "user"
        live, request = session.start_reply(MODEL)
        assert [m.content for m in request.messages] == ["Say something"]  # not the old reply
        await stream_reply(backend, request, live, save=session.save_reply)
        assert session.end_reply() == [first.message]  # its view goes
        await _drain(session)
    finally:
        await backend.aclose()
    assert [m.content for m in session.conversation.messages] == ["Say something", "Second."]
    assert [r[2] for r in _rows(db)] == ["Say something", "Second."]
    await session.close()


async def test_a_failed_edit_gives_the_prompt_back_and_restores_the_exchange(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    db = tmp_path / "sessions.db"
    fake_ollama.script(Reply(text="Paris."))
    backend = OllamaBackend(fake_ollama.url)
    session = await _session(db, Reports())
    try:
        await session.add_prompt("Capital of France?", [], MODEL)
        await _reply(session, backend)
        assert session.start_edit() == "Capital of France?" and session.editing
        taken = session.hide_last_exchange()
        session.editing = False
        assert [m.content for m in taken] == ["Capital of France?", "Paris."]
        assert session.conversation.messages == []
        await session.add_prompt("Capital of Spain?", [], MODEL)
        live, request = session.start_reply("no-such-model:1b")
        try:
            await stream_reply(backend, request, live, save=session.save_reply)
        except PislmError:
            back = session.reply_failed()
        else:
            raise AssertionError("an unknown model must fail before any text")
        await _drain(session)
    finally:
        await backend.aclose()
    assert back.text == "Capital of Spain?" and back.prompt is not None
    assert [m.content for m in back.restored] == ["Capital of France?", "Paris."]
    assert session.editing  # Enter retries the edit
    assert [m.content for m in session.conversation.messages] == ["Capital of France?", "Paris."]
    assert [r[2] for r in _rows(db)] == ["Capital of France?", "Paris."]  # the new prompt is gone
    assert session.store is not None
    assert session.store.recent_prompts() == ["Capital of France?"]
    await session.close()


async def test_a_first_prompt_that_fails_leaves_no_saved_chat(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    db = tmp_path / "sessions.db"
    backend = OllamaBackend(fake_ollama.url)
    session = await _session(db, Reports())
    try:
        await session.add_prompt("Hello?", [], "no-such-model:1b")
        assert session.conversation.id is not None
        live, request = session.start_reply("no-such-model:1b")
        try:
            await stream_reply(backend, request, live, save=session.save_reply)
        except PislmError:
            back = session.reply_failed()
        await _drain(session)
    finally:
        await backend.aclose()
    assert back.emptied and session.conversation.id is None and session.conversation.title == ""
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)
    await session.close()


# -- saves that fail, the close mid-reply ---------------------------------------------------------


async def test_a_save_that_fails_is_reported_once_and_the_chat_goes_on(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    db = tmp_path / "sessions.db"
    fake_ollama.script(Reply(n_tokens=30, rate=200))
    backend = OllamaBackend(fake_ollama.url)
    reports = Reports()
    session = await _session(db, reports)
    try:
        await session.add_prompt("Tell me more", [], MODEL)
        with sqlite3.connect(db) as conn:  # the table goes (a damaged or foreign database)
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("DROP TABLE images")
            conn.execute("DROP TABLE messages")
        live, request = session.start_reply(MODEL)
        await stream_reply(backend, request, live, save=session.save_reply, save_every_s=0)
        session.end_reply()
        await _drain(session)
    finally:
        await backend.aclose()
    assert live.message.status == "complete" and len(live.message.content.split()) == 30
    assert [title for _, title in reports.seen] == ["Not saved"]
    await session.close()


async def test_closing_mid_reply_keeps_what_arrived_marked_stopped(
    tmp_path: Path, fake_ollama: FakeOllama
) -> None:
    db = tmp_path / "sessions.db"
    fake_ollama.script(Reply(n_tokens=400, rate=40))
    backend = OllamaBackend(fake_ollama.url)
    session = await _session(db, Reports())
    try:
        await session.add_prompt("A long one", [], MODEL)
        live, request = session.start_reply(MODEL)
        streaming = asyncio.ensure_future(stream_reply(backend, request, live))
        await wait_for(lambda: live.tokens >= 5)
        await session.close()  # the app goes: the stream is not over
        streaming.cancel()
        await asyncio.gather(streaming, return_exceptions=True)
    finally:
        await backend.aclose()
    rows = _rows(db)
    assert rows[0][:2] == ("user", "complete")
    assert rows[1][:2] == ("assistant", "stopped") and rows[1][2]


async def test_a_store_that_cannot_be_opened_is_reported_and_the_chat_lives_in_memory(
    tmp_path: Path,
) -> None:
    (tmp_path / "sessions.db").mkdir()  # a folder where the file should be
    reports = Reports()
    session = await _session(tmp_path / "sessions.db", reports, resume=True)
    assert session.store is None and [t for _, t in reports.seen] == ["Saved chats unavailable"]
    message = await session.add_prompt("still works", [], MODEL)
    assert session.conversation.messages == [message] and message.id is None
    await session.close()


# -- settings, the gauge, copy --------------------------------------------------------------------


def test_thinking_toggles_from_what_the_model_can_do() -> None:
    from pislm_tui.backend.types import ModelDetails

    session = ChatSession(_new(), Reports())
    thinker = ModelDetails("qwen3:1.7b", capabilities=frozenset({"completion", "thinking"}))
    plain = ModelDetails(MODEL, capabilities=frozenset({"completion"}))
    assert session.toggle_think(plain) is None and session.conversation.settings.think is None
    assert session.toggle_think(thinker) is False  # the model thinks by default: now off
    assert session.toggle_think(thinker) is True
    assert session.toggle_think(None) is False  # unknown: it can be tried


def test_the_gauge_and_the_live_figures() -> None:
    session = ChatSession(_new(), Reports())
    assert session.gauge(MODEL, "ollama", None) == ("", None)  # nothing sent yet
    reply = ChatMessage(
        "assistant", "hi", stats=GenerationStats(prompt_eval_count=100, eval_count=45)
    )
    session.conversation.messages += [ChatMessage("user", "hi"), reply]
    session.note_running_context("llama3.2:1b", 4096)
    text, tooltip = session.gauge("llama3.2:1b", "ollama", None)
    assert text == "ctx 145/4,096 (4%)" and tooltip and "ollama ps" in tooltip
    live = LiveReply(ChatMessage("assistant"), started=10.0)
    assert live_figures(None) == ""
    assert live_figures(live, now=13.2) == "waiting for the first token · 3 s · Esc stops"
    live.first_token, live.last_token, live.tokens = 11.0, 12.0, 11
    assert live_figures(live) == "10.0 tok/s · 11 tokens · Esc stops"


def test_copy_choices_and_the_defaults_written_for_new_chats() -> None:
    conversation = _new()
    assert copy_choices(conversation) == []
    conversation.messages += [
        ChatMessage("user", "code?"),
        ChatMessage("assistant", "Here:\n\n```python\nprint(1)\n```\n"),
    ]
    choices = copy_choices(conversation)
    assert choices == [
        ("Last reply · 5 lines", conversation.messages[1].content),
        ("Code: python · 1 line · print(1)", "print(1)"),
    ]
    settings = SessionSettings(model="m", options={"temperature": 0.2}, think=True)
    updates = default_updates(settings, ["temperature", "seed"])
    assert updates == {
        "model": "m",
        "chat": {
            "system_prompt": "",
            "options": {"temperature": 0.2, "seed": None},
            "keep_alive": None,
            "think": True,
        },
    }


# -- /api/show once per model, shared ---------------------------------------------------------------


async def test_the_details_cache_asks_again_only_for_a_new_digest_or_a_refresh(
    fake_ollama: FakeOllama,
) -> None:
    backend = OllamaBackend(fake_ollama.url)
    cache = ModelDetailsCache(backend)
    try:
        listed = await backend.list_models()
        cache.listed = lambda: listed
        shows = lambda: len(fake_ollama.requests_to("/api/show"))  # noqa: E731
        first = await asyncio.gather(cache.get(MODEL), cache.get(MODEL))
        assert first[0] is first[1] and shows() == 1  # two askers, one request
        assert cache.cached(MODEL) is first[0] and await cache.get(MODEL) is first[0]
        assert shows() == 1
        fake_ollama.models[MODEL].digest = "ab" * 32  # pulled again: another build
        listed = await backend.list_models()
        assert cache.cached(MODEL) is None and MODEL in cache.known  # old answer still readable
        await cache.get(MODEL)
        assert shows() == 2
        cache.refresh()  # the Models tab's r
        assert cache.cached(MODEL) is None
        await cache.get(MODEL)
        assert shows() == 3 and cache.cached(MODEL) is not None
    finally:
        await backend.aclose()


async def test_the_details_cache_says_when_the_server_gives_no_details(
    fake_ollama: FakeOllama,
) -> None:
    backend = OpenAIBackend(f"{fake_ollama.url}/v1")
    cache = ModelDetailsCache(backend)
    try:
        assert await cache.get(MODEL) is None and MODEL in cache.known
        assert cache.unsupported is not None and "OpenAI-compatible" in str(cache.unsupported)
    finally:
        await backend.aclose()
