"""textual-serve's `Server`, made safe to leave running on a LAN.

Public parts of textual-serve only: its `Server` (the static files and their path, downloads)
and its `AppService` (one app process per websocket, through `sessions.Sessions`). What this adds
around them: an aiohttp application of our own, with the gate (`gate.Gate`: token, cookie,
failures rate-limited) in front of every route, the index page from our template (no request to
another host, sized for phones), the sessions limit, and a stop that ends every app.

The websocket relay (`_relay`) speaks textual.js's side of textual-serve's protocol (what its
`Server._process_messages` does, with the messages checked): tests/test_web_unit.py checks that
the textual.js of the installed textual-serve sends nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
import signal
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from pislm_tui.backend.errors import UsageError
from pislm_tui.web import pages
from pislm_tui.web.child import SERVER_PID
from pislm_tui.web.gate import FailureLimit, Gate, client_address, cookie_name
from pislm_tui.web.sessions import Full, Sessions

log = logging.getLogger("pislm.web")

TEMPLATES = Path(__file__).parent / "templates"
MIN_COLUMNS = 60  # a phone's page gets a font small enough for this many columns…
MIN_FONT = 10  # …down to this size (CSS px); below it the screen gets fewer columns
WEBSOCKET_HEARTBEAT = 15.0  # s: a tab that went away without closing (phone asleep) is seen


def _size(value: str | None, default: int, most: int = 1000) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(max(number, 1), most)


class PislmWebServer(Server):
    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        token: str,
        max_sessions: int,
        limit: FailureLimit | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title="pislm", templates_path=TEMPLATES)
        self.sessions = Sessions(command, max_sessions, self.download_manager)
        self.limit = limit or FailureLimit()
        self.token = token
        self.gate: Gate | None = None
        self.bound_port = port
        self._stop = asyncio.Event()
        self._handlers: set[asyncio.Task[Any]] = set()

    # -- the aiohttp application -----------------------------------------------------------------

    def make_app(self, port: int) -> web.Application:
        self.gate = Gate(self.token, cookie_name(port), self.limit, on_refused=self._refused)
        app = web.Application(middlewares=[self.gate.middleware])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_response_prepare.append(self._headers)
        return app

    @staticmethod
    async def _headers(request: web.Request, response: web.StreamResponse) -> None:
        pages.secure_headers(response)

    @staticmethod
    def _refused(address: str, why: str) -> None:
        log.warning("refused %s: %s", address, why)

    # -- routes ------------------------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        if self.sessions.full():
            return pages.sessions_full(self.sessions.limit)
        nonce = secrets.token_urlsafe(16)
        font_size = request.query.get("fontsize", "")
        context = {
            "title": self.title,
            "nonce": nonce,
            "font_size": str(_size(font_size, 16, 64)) if font_size else "",
            "min_columns": MIN_COLUMNS,
            "min_font": MIN_FONT,
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        return pages.secure_headers(response, script_nonce=nonce)

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            return await self._websocket(request)
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        websocket = web.WebSocketResponse(heartbeat=WEBSOCKET_HEARTBEAT)
        width = _size(request.query.get("width"), 80)
        height = _size(request.query.get("height"), 24)
        address = client_address(request)
        try:
            with self.sessions.place():
                await websocket.prepare(request)
                if self._stop.is_set():
                    await websocket.close()
                    return websocket
                session = await self.sessions.start(websocket, address, width, height)
        except Full as full:
            log.warning("refused %s: all %d sessions taken", address, full.limit)
            if not websocket.prepared:
                await websocket.prepare(request)
            await websocket.send_bytes(pages.sessions_full_text(full.limit).encode())
            await websocket.close()
            return websocket
        try:
            await self._relay(websocket, session.service)
        finally:
            await self.sessions.end(session)
        return websocket

    @staticmethod
    async def _relay(websocket: web.WebSocketResponse, service: AppService) -> None:
        """What textual.js sends, to the app: keys, sizes, focus; pings answered here."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except ValueError:
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], (envelope[1] if len(envelope) > 1 else None)
            if kind == "stdin" and isinstance(data, str):
                await service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await service.set_terminal_size(
                    _size(str(data.get("width")), 80), _size(str(data.get("height")), 24)
                )
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    # -- running -----------------------------------------------------------------------------------

    def request_exit(self) -> None:
        self._stop.set()

    async def run(self, announce: Any = None) -> int:
        """Serve until SIGTERM, SIGINT or SIGHUP; then end every session. `announce(port)` is
        called once listening."""
        os.environ[SERVER_PID] = str(os.getpid())  # for the apps: end when this process does
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(sig, self.request_exit)
        app = self.make_app(self.port)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as error:
                raise _listen_error(error, self.host, self.port) from error
            self.bound_port = _bound_port(runner, self.port)
            if self.bound_port != self.port and self.gate is not None:
                self.gate.cookie = cookie_name(self.bound_port)
            if announce is not None:
                announce(self.bound_port)
            await self._stop.wait()
            log.info("stopping: ending %d session(s)", len(self.sessions.active))
            await self.sessions.end_all()
            if self._handlers:
                await asyncio.wait(self._handlers, timeout=5)
        finally:
            self.sessions.sweep()
            await runner.cleanup()
        return 0


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked


def _listen_error(error: OSError, host: str, port: int) -> UsageError:
    if error.errno == errno.EADDRINUSE:
        return UsageError(
            f"port {port} on {host} is already in use (another pislm web?)",
            hint="choose another with --port",
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return UsageError(
            f"{host} is not an address of this machine", hint="use --bind 0.0.0.0 or one of its own"
        )
    return UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}")
