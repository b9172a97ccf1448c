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
from pislm_tui.config import Paths
from pislm_tui.widgets.image_chips import ImageChips
from tests.chat_helpers import chat_ready, notes, reply_ended, send, wait_for
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
            await wait_for(lambda: chat._sending, pilot=pilot, what="the send")
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
