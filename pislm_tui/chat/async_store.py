"""The saved chats off the event loop: `SessionStore`'s calls run in one thread of their own.

A prompt's image can be 20 MiB, and an SD card can stall a commit for a moment: neither may
freeze a frame, so the UI never calls SQLite itself. One thread (not a pool) keeps the calls in
the order they were made: a reply's saves never overtake the message they belong to, and a
delete never runs before the insert that gave the row its id. Writes a caller does not wait for
(`submit`) report a failure through `report` instead of raising."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pislm_tui.backend.errors import PislmError
from pislm_tui.chat.conversation import Conversation
from pislm_tui.chat.export import export_markdown
from pislm_tui.chat.store import SessionStore, SessionSummary

T = TypeVar("T")
Report = Callable[[PislmError, str], None]  # (error, title): shown to the user, nothing lost

PROMPT_HISTORY = 200  # prompts ↑ walks through, newest first


class AsyncSessionStore:
    def __init__(self, db: SessionStore, pool: ThreadPoolExecutor) -> None:
        self.db = db  # the store itself: only ever called in `pool`'s thread (tests may read it)
        self._pool = pool
        self.history: list[str] = []  # the user's latest prompts, newest first (↑ in the box)
        self._last_remembered: tuple[str, int | None] | None = None
        self.closed = False

    @classmethod
    async def open(cls, path: Path) -> AsyncSessionStore:
        """Open (and upgrade) the database and read the prompt history; raises `StoreError`."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-store")

        def opened() -> tuple[SessionStore, list[str]]:
            db = SessionStore(path)
            return db, db.recent_prompts(PROMPT_HISTORY)

        try:
            db, history = await asyncio.get_running_loop().run_in_executor(pool, opened)
        except BaseException:
            pool.shutdown(wait=False)
            raise
        store = cls(db, pool)
        store.history = history
        return store

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)` in the store's thread, after every call made before it."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

    def submit(
        self, call: Callable[..., Any], *args: Any, report: Report, title: str
    ) -> asyncio.Future[Any] | None:
        """`call(*args)` in the store's thread without waiting for it; a `PislmError` goes to
        `report(error, title)`. None once the store is closed (the app is going away)."""
        if self.closed:
            return None
        future = asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

        def done(future: asyncio.Future[Any]) -> None:
            error = None if future.cancelled() else future.exception()
            if isinstance(error, PislmError):
                report(error, title)
            elif error is not None:  # a bug: let the loop's handler log it
                future.get_loop().call_exception_handler(
                    {"message": "saving a chat failed", "exception": error, "future": future}
                )

        future.add_done_callback(done)
        return future

    # -- what the saved-chats screen and the tab ask -------------------------------------------

    async def list_sessions(self, query: str = "") -> list[SessionSummary]:
        return await self.run(self.db.list_sessions, query)

    async def latest_session_id(self) -> int | None:
        return await self.run(self.db.latest_session_id)

    async def load(self, session_id: int) -> Conversation:
        return await self.run(self.db.load, session_id)

    async def rename_session(self, session_id: int, title: str) -> None:
        await self.run(self.db.rename_session, session_id, title)

    async def delete_session(self, session_id: int) -> None:
        await self.run(self.db.delete_session, session_id)

    async def export(self, session_id: int, exports_dir: Path) -> Path:
        """Write the saved chat as Markdown; raises `StoreError` or `OSError`."""

        def export() -> Path:
            return export_markdown(self.db.load(session_id), exports_dir)

        return await self.run(export)

    # -- the prompt history ------------------------------------------------------------------

    def recent_prompts(self) -> list[str]:
        """For the prompt box: read at open, kept up to date since (no SQLite on the loop)."""
        return list(self.history)

    def remember_prompt(self, text: str) -> None:
        """A prompt just saved: first in the history (once)."""
        if not text.strip():
            return
        before = self.history.index(text) if text in self.history else None
        if before is not None:
            del self.history[before]
        self.history.insert(0, text)
        del self.history[PROMPT_HISTORY:]
        self._last_remembered = (text, before)

    def forget_prompt(self, text: str) -> None:
        """The prompt just remembered was taken back (its request failed; its row is gone):
        the history is as it was before."""
        last, self._last_remembered = self._last_remembered, None
        if last is None or last[0] != text or not self.history or self.history[0] != text:
            return
        self.history.pop(0)
        if last[1] is not None:  # it had been sent before: that copy is still saved
            self.history.insert(last[1], text)

    async def close(self) -> None:
        """After every write made so far; then nothing more is saved."""
        if self.closed:
            return
        self.closed = True
        try:
            await self.run(self.db.close)
        finally:
            self._pool.shutdown(wait=False)
