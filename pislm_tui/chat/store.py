"""Saved chats: SQLite in the data dir (`sessions.db`).

WAL journal with `synchronous=NORMAL`: every commit is one append to the log, and a killed
process (even `kill -9`) loses no committed transaction. The app calls it off the event loop
(`chat.async_store`: an image BLOB can be 20 MiB); the connection may be used from any thread,
one call at a time (a lock holds each transaction together).
Each write below is its own transaction, so a reply cut short by a crash is kept as far as its
last save (its status stays 'streaming', which the app shows as unfinished). The schema carries a version (`PRAGMA user_version`) and is upgraded step by step."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pislm_tui.backend.errors import PislmError
from pislm_tui.backend.stats import GenerationStats
from pislm_tui.chat.conversation import (
    ChatMessage,
    Conversation,
    SessionSettings,
    StoredImage,
)


class StoreError(PislmError):
    """The sessions database cannot be read or written."""


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Statements one by one (`executescript` would commit the migration's transaction)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL DEFAULT '',
            thinking TEXT NOT NULL DEFAULT '',
            model TEXT,
            status TEXT NOT NULL DEFAULT 'complete',
            done_reason TEXT,
            error TEXT,
            stats TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX messages_by_session ON messages(session_id, id);
        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX images_by_message ON images(message_id, position);
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    # Sessions listed newest first on every open of the list.
    db.execute("CREATE INDEX sessions_by_update ON sessions(updated_at DESC)")


def _v3(db: sqlite3.Connection) -> None:
    # The host a chat was held with (a [hosts.NAME] name, or the server's address); NULL for
    # chats from before: they were held with whatever server was configured then.
    db.execute("ALTER TABLE sessions ADD COLUMN host TEXT")


# MIGRATIONS[n] takes a database from version n to n + 1. Append only; never edit a step.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: int
    title: str
    created_at: float
    updated_at: float
    messages: int
    model: str | None
    host: str | None = None  # where it was held (None: before pislm knew hosts)


def _use_wal(db: sqlite3.Connection, tries: int = 40) -> None:
    """Switch to the WAL journal. On a new database, another pislm opening it at the same
    moment can hold the lock the switch needs, and SQLite answers "database is locked" at once
    instead of waiting (`timeout` does not cover it): try again for a moment."""
    for attempt in range(tries):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SessionStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = threading.RLock()
            self._db = sqlite3.connect(
                path, timeout=5.0, isolation_level=None, check_same_thread=False
            )
            _use_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise self._error("chats will not be saved, the store cannot be opened", exc) from None

    def _error(self, what: str, exc: BaseException) -> StoreError:
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            return StoreError(
                f"{what}: {self.path} is not a pislm database",
                "move it aside; pislm starts a new one",
            )
        if isinstance(exc, sqlite3.DatabaseError) and "malformed" in str(exc):
            return StoreError(
                f"{what}: {self.path} is damaged ({exc})",
                f"move it aside (rename it to {self.path.name}.broken); pislm starts a new one",
            )
        if isinstance(exc, FileExistsError | NotADirectoryError):
            detail = f"{exc.filename or self.path.parent} is not a folder"
        elif isinstance(exc, OSError):
            detail = f"{exc.strerror or exc}: {exc.filename or self.path}"
        else:
            detail = f"{exc}: {self.path}"
        return StoreError(
            f"{what}: {detail}",
            f"free some disk space or fix the permissions of {self.path.parent}; "
            "until then chats are kept only while pislm runs",
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        """One committed transaction; any SQLite failure becomes a `StoreError`."""
        with self._lock, self._failing_as(what):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _read(self, what: str) -> Iterator[sqlite3.Connection]:
        """Reads, one thread at a time; any SQLite failure becomes a `StoreError`."""
        with self._lock, self._failing_as(what):
            yield self._db

    @contextmanager
    def _failing_as(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise self._error(what, exc) from None

    # -- schema ----------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer pislm (schema {version}, this one knows "
                f"{SCHEMA_VERSION})",
                "upgrade pislm, or use another data directory (XDG_DATA_HOME)",
            )
        while version < SCHEMA_VERSION:
            with self._tx("cannot upgrade the saved chats") as db:
                # Read again under the write lock: another pislm starting at the same moment
                # may have just done this step.
                version = self.version
                if version < SCHEMA_VERSION:
                    MIGRATIONS[version](db)
                    version += 1
                    db.execute(f"PRAGMA user_version = {version}")

    # -- sessions --------------------------------------------------------------------------------

    def create_session(self, conversation: Conversation) -> int:
        now = time.time()
        with self._tx("cannot save the chat") as db:
            cursor = db.execute(
                "INSERT INTO sessions (title, created_at, updated_at, settings, host)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    conversation.title,
                    now,
                    now,
                    conversation.settings.model_dump_json(),
                    conversation.host,
                ),
            )
        conversation.id = int(cursor.lastrowid or 0)
        conversation.created_at = conversation.updated_at = now
        return conversation.id

    def save_settings(self, session_id: int, settings: SessionSettings) -> None:
        with self._tx("cannot save the chat settings") as db:
            db.execute(
                "UPDATE sessions SET settings = ? WHERE id = ?",
                (settings.model_dump_json(), session_id),
            )

    def set_host(self, session_id: int, host: str | None) -> None:
        """A chat not yet started on one host, started on another after a switch."""
        with self._tx("cannot save the chat's host") as db:
            db.execute("UPDATE sessions SET host = ? WHERE id = ?", (host, session_id))

    def rename_session(self, session_id: int, title: str) -> None:
        with self._tx("cannot rename the chat") as db:
            db.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))

    def delete_session(self, session_id: int) -> None:
        with self._tx("cannot delete the chat") as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def list_sessions(self, query: str = "", limit: int = 500) -> list[SessionSummary]:
        """Newest first; `query` matches titles and message text (case-insensitive)."""
        sql = """
            SELECT s.id, s.title, s.created_at, s.updated_at, s.settings,
                   (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id), s.host
            FROM sessions s
        """
        params: list[Any] = []
        if query.strip():
            sql += """
            WHERE s.title LIKE ? ESCAPE '\\'
               OR EXISTS (SELECT 1 FROM messages m
                          WHERE m.session_id = s.id AND m.content LIKE ? ESCAPE '\\')
            """
            params += [_like(query.strip())] * 2
        sql += " ORDER BY s.updated_at DESC, s.id DESC LIMIT ?"
        params.append(limit)
        with self._read("cannot read the saved chats") as db:
            rows = db.execute(sql, params).fetchall()
        return [
            SessionSummary(
                id=row[0],
                title=row[1],
                created_at=row[2],
                updated_at=row[3],
                messages=row[5],
                model=_settings(row[4]).model,
                host=row[6],
            )
            for row in rows
        ]

    def latest_session_id(self) -> int | None:
        with self._read("cannot read the saved chats") as db:
            row = db.execute(
                "SELECT id FROM sessions ORDER BY updated_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else int(row[0])

    def load(self, session_id: int) -> Conversation:
        with self._read("cannot read the chat") as db:
            head = db.execute(
                "SELECT title, created_at, updated_at, settings, host FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            if head is None:
                raise StoreError(f"chat {session_id} does not exist (deleted?)")
            rows = db.execute(
                "SELECT id, role, content, thinking, model, status, done_reason, error, stats,"
                " created_at FROM messages WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
            images: dict[int, list[StoredImage]] = {}
            for message_id, name, data in db.execute(
                "SELECT i.message_id, i.name, i.data FROM images i"
                " JOIN messages m ON m.id = i.message_id"
                " WHERE m.session_id = ? ORDER BY i.message_id, i.position",
                (session_id,),
            ):
                images.setdefault(message_id, []).append(StoredImage(name, bytes(data)))
        messages = [
            ChatMessage(
                id=row[0],
                role=row[1],
                content=row[2],
                thinking=row[3],
                model=row[4],
                status=row[5],
                done_reason=row[6],
                error=row[7],
                stats=GenerationStats.from_record(json.loads(row[8])) if row[8] else None,
                created_at=row[9],
                images=images.get(row[0], []),
            )
            for row in rows
        ]
        return Conversation(
            id=session_id,
            title=head[0],
            created_at=head[1],
            updated_at=head[2],
            settings=_settings(head[3]),
            messages=messages,
            host=head[4],
        )

    # -- messages --------------------------------------------------------------------------------

    def add_message(self, session_id: int, message: ChatMessage) -> int:
        with self._tx("cannot save the message") as db:
            cursor = db.execute(
                "INSERT INTO messages (session_id, role, content, thinking, model, status,"
                " done_reason, error, stats, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, message.role, *_mutable(message), message.created_at),
            )
            message.id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO images (message_id, position, name, data) VALUES (?, ?, ?, ?)",
                [(message.id, n, img.name, img.data) for n, img in enumerate(message.images)],
            )
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (time.time(), session_id))
        return message.id

    def update_message(self, message: ChatMessage) -> None:
        """Save a reply's text, status and figures (the growing reply, then the final one)."""
        if message.id is None:
            raise ValueError("message not stored yet")
        with self._tx("cannot save the reply") as db:
            db.execute(
                "UPDATE messages SET content = ?, thinking = ?, model = ?, status = ?,"
                " done_reason = ?, error = ?, stats = ? WHERE id = ?",
                (*_mutable(message), message.id),
            )

    def delete_messages(self, session_id: int, message_ids: list[int]) -> None:
        if not message_ids:
            return
        with self._tx("cannot remove the message") as db:
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in message_ids])
            db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (time.time(), session_id))

    def recent_prompts(self, limit: int = 200) -> list[str]:
        """The user's latest prompts across chats, newest first, without repeats. A convenience:
        a database that cannot be read gives none (saving and loading report the problem)."""
        try:
            with self._read("cannot read the prompts") as db:
                rows = db.execute(
                    "SELECT content FROM messages WHERE role = 'user' AND content != ''"
                    " ORDER BY id DESC LIMIT ?",
                    (limit * 2,),
                ).fetchall()
        except StoreError:
            return []
        return list(dict.fromkeys(row[0] for row in rows))[:limit]


def _mutable(message: ChatMessage) -> tuple[Any, ...]:
    stats = json.dumps(message.stats.to_record()) if message.stats else None
    return (
        message.content,
        message.thinking,
        message.model,
        message.status,
        message.done_reason,
        message.error,
        stats,
    )


def _settings(raw: str) -> SessionSettings:
    """Settings of a stored session; a bad or outdated value falls back to defaults."""
    try:
        return SessionSettings.model_validate_json(raw)
    except (ValueError, PislmError):
        return SessionSettings()
