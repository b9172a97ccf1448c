"""The Chat tab keeps drawing while its chats are saved (issue 13, "Off the loop"): every SQLite
call runs in the store's own thread, so a 20 MiB image saved mid-chat does not freeze a frame.

Proved without timing: another writer holds the database, so the save has to wait; while it
waits, a timer of the app keeps ticking and the send is still under way. Run on the event loop,
the save would hold the loop until SQLite gave up ("database is locked"): no tick, and the
prompt not saved."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from pislm_tui.app import PislmApp
from pislm_tui.chat.images import ImageAttachment
from pislm_tui.chat.store import SessionStore
from pislm_tui.config import Paths
from pislm_tui.tabs.chat import ChatTab
from pislm_tui.widgets.image_chips import ImageChips
from pislm_tui.widgets.message_view import UserMessage
from tests.chat_helpers import chat_ready, notes, replies, reply_ended, send, wait_for
from tests.fake_ollama import FakeOllama, Reply

PNG = b"\x89PNG\r\n\x1a\n"
BIG = 20 * 1024 * 1024


async def test_a_20_mib_image_saved_mid_chat_does_not_freeze_the_app(
    make_app: Callable[..., PislmApp], fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.script(Reply(text="A very large cat."))
    app = make_app(model="llava-phi3:3.8b", monitor={"show_strip": False})
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        image = ImageAttachment(tmp_path / "cat.png", PNG + bytes(BIG - len(PNG)), "PNG")
        await app.query_one(ImageChips).add(image)
        ticks: list[int] = []
        app.set_interval(0.02, lambda: ticks.append(1))  # runs only while the loop turns
        other = sqlite3.connect(Paths.from_env().sessions_db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another pislm in the middle of a write
        try:
            await send(pilot, "What is in this picture?")
            # Sent: waiting for the store, or (before the fix) gone out already.
            await wait_for(lambda: chat._sending or replies(app), pilot=pilot, what="the send")
            before = len(ticks)
            await wait_for(lambda: len(ticks) >= before + 5, pilot=pilot, what="timer ticks")
            # The ticks came while the save waited: the send is not over, nothing is stored.
            assert chat._sending and not chat.streaming
            assert other.execute("SELECT COUNT(*) FROM messages").fetchone() == (0,)
        finally:
            other.execute("ROLLBACK")
            other.close()
        reply = await reply_ended(app, pilot)
        assert reply.message.content == "A very large cat."
        assert not [n for n in notes(app) if "cannot save" in n]  # (StoreError's text)
    with sqlite3.connect(Paths.from_env().sessions_db) as db:
        rows = db.execute(
            "SELECT m.role, m.content, length(i.data) FROM messages m"
            " LEFT JOIN images i ON i.message_id = m.id ORDER BY m.id"
        ).fetchall()
    assert rows == [
        ("user", "What is in this picture?", BIG),
        ("assistant", "A very large cat.", None),
    ]


async def test_a_prompt_sent_while_the_saved_chats_open_is_kept_and_answered(
    make_app: Callable[..., PislmApp], fake_ollama: FakeOllama
) -> None:
    """The tab opens its store in a worker at start; a prompt sent before that ended was wiped
    by the chat shown at its end, and the reply then failed on a removed view. Here another
    program holds a read lock on the database, so the store cannot open (its switch to WAL
    waits) until the prompt has been sent."""
    path = Paths.from_env().sessions_db
    SessionStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")  # the switch back to WAL needs every reader gone
    other.execute("BEGIN")
    other.execute("SELECT COUNT(*) FROM messages").fetchone()  # a read lock, held
    fake_ollama.script(Reply(text="Kept and answered."))
    app = make_app(monitor={"show_strip": False})
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.current_model, pilot=pilot, what="a model")
            chat = app.query_one(ChatTab)
            assert chat.conversation is None  # the start waits for the database
            await send(pilot, "hello")
            # Sent: waiting for the store, or (before the fix) gone out already.
            await wait_for(lambda: chat._sending or replies(app), pilot=pilot, what="the send")
            other.execute("ROLLBACK")  # the store opens now
            reply = await reply_ended(app, pilot)
            await wait_for(lambda: chat.conversation is not None, pilot=pilot, what="start")
            assert reply.message.content == "Kept and answered." and reply.is_attached
            assert [m.content for m in chat.session.conversation.messages] == [
                "hello",
                "Kept and answered.",
            ]
            assert [view.message.content for view in app.query(UserMessage)] == ["hello"]
    finally:
        other.close()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT role, content FROM messages ORDER BY id").fetchall()
    assert rows == [("user", "hello"), ("assistant", "Kept and answered.")]
