"""The app processes behind the browser tabs: at most `limit` at once, each started by
textual-serve's `AppService` (one per websocket) and each the leader of a process group of its
own (`child.py` starts one), so that ending a session ends whatever the app started too.

A session ends when its tab closes (the websocket closes; the app is asked to quit as Ctrl+Q
would, which lets the Chat tab save), or when the server stops (every session at once). An app
that does not quit within `grace` seconds gets SIGTERM, then SIGKILL, to its whole group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

log = logging.getLogger("pislm.web")

QUIT_GRACE = 10.0  # s for an app to quit by itself (a reply being saved) before SIGTERM
TERM_GRACE = 3.0  # s after SIGTERM before SIGKILL


def signal_group(pid: int, sig: int) -> bool:
    """Send `sig` to the process group `pid` leads, or to the process alone when it has not
    made its group yet (never to the server's own group). False when nothing was there."""
    try:
        os.killpg(pid, sig)
        return True
    except ProcessLookupError:
        pass
    except PermissionError:
        return False
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def group_alive(pid: int) -> bool:
    """Whether any process of the group `pid` is still there (zombies included)."""
    try:
        os.killpg(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def child_pids() -> set[int]:
    return {p.pid for p in psutil.Process().children()}


@dataclass
class Session:
    number: int
    address: str
    service: AppService
    pid: int | None = None
    started: float = field(default_factory=time.monotonic)
    ending: asyncio.Task[None] | None = None


class Sessions:
    def __init__(self, command: str, limit: int, download_manager: DownloadManager) -> None:
        self.command = command
        self.limit = limit
        self.download_manager = download_manager
        self.active: dict[int, Session] = {}
        self._reserved = 0  # places taken by websockets whose app is starting
        self._count = 0
        self._spawn_lock = asyncio.Lock()
        self.groups: set[int] = set()  # every group ever led by an app: swept at the end

    def full(self) -> bool:
        return len(self.active) + self._reserved >= self.limit

    @contextlib.contextmanager
    def place(self) -> Iterator[None]:
        """A place for one more app, held while it starts (raise `Full` when none is left)."""
        if self.full():
            raise Full(self.limit)
        self._reserved += 1
        try:
            yield
        finally:
            self._reserved -= 1

    async def start(
        self, websocket: web.WebSocketResponse, address: str, width: int, height: int
    ) -> Session:
        """Start the app for `websocket`; its output goes to the browser from now on."""
        self._count += 1
        service = AppService(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        session = Session(self._count, address, service)
        # One start at a time: the new child of this process is this session's app.
        async with self._spawn_lock:
            before = child_pids()
            await service.start(width, height)
            new = child_pids() - before
        session.pid = min(new) if new else None
        if session.pid is not None:
            self.groups.add(session.pid)
        self.active[session.number] = session
        log.info("session %d started for %s (pid %s)", session.number, address, session.pid)
        return session

    async def end(self, session: Session, grace: float = QUIT_GRACE) -> None:
        """Ask the app to quit; past `grace`, SIGTERM then SIGKILL its whole group. Called by
        the tab's handler and by the server's stop alike: the second call waits for the first."""
        if session.ending is None:
            session.ending = asyncio.ensure_future(self._end(session, grace))
        await asyncio.shield(session.ending)

    async def _end(self, session: Session, grace: float) -> None:
        stopping = asyncio.ensure_future(session.service.stop())
        try:
            for sig, wait in ((None, grace), (signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, None)):
                if sig is not None and session.pid is not None:
                    log.warning("session %d: sending %s", session.number, signal.Signals(sig).name)
                    signal_group(session.pid, sig)
                done, _ = await asyncio.wait({stopping}, timeout=wait)
                if done:
                    break
            with contextlib.suppress(Exception):
                await stopping
        finally:
            if session.pid is not None:
                if group_alive(session.pid):
                    signal_group(session.pid, signal.SIGTERM)  # what the app started and left
                else:
                    self.groups.discard(session.pid)  # gone: its number may be reused
            self.active.pop(session.number, None)
            seconds = time.monotonic() - session.started
            log.info("session %d ended after %.0f s", session.number, seconds)

    async def end_all(self, grace: float = QUIT_GRACE) -> None:
        """Every session, at once; then anything still in their groups or below this process."""
        await asyncio.gather(
            *(self.end(s, grace) for s in list(self.active.values())), return_exceptions=True
        )
        self.sweep()

    def sweep(self) -> None:
        """The last resort when the server ends: SIGKILL to every group an app led and to every
        process still below this one."""
        for pid in self.groups:
            if group_alive(pid):
                signal_group(pid, signal.SIGKILL)
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()


class Full(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"all {limit} sessions are taken")
        self.limit = limit
