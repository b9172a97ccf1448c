"""HTTP plumbing: a stdlib HTTP/1.1 server with keep-alive, manual chunked streaming, client
disconnect detection and interruptible sleeps.

Route handlers receive an `Exchange` and either return normally (having sent a response),
raise `ApiError` (turned into the endpoint family's error body) or let `ClientGone` /
`Stopping` escape (the connection is then closed).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fake import FakeOllama

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
SSE_TYPE = "text/event-stream"
TEXT_TYPE = "text/plain; charset=utf-8"


class ApiError(Exception):
    """An error answered before any output: HTTP `status` with the endpoint's error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """The client closed the connection while we were streaming."""


class Stopping(Exception):
    """The server is shutting down; abandon the request."""


@dataclass
class RecordedRequest:
    """One request as received (control requests under /_fake/ are not recorded)."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes
    time: float
    query: str = ""  # addition: the raw query string, without "?"

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "json": self.json,
            "headers": self.headers,
        }


def go_decode_error(raw: bytes) -> tuple[Any, str | None]:
    """Parse a JSON body, describing failures the way Go's encoding/json + Ollama do."""
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        return None, "missing request body"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        pos = exc.pos
        if pos >= len(text.rstrip()):
            return None, "unexpected EOF"
        ch = text[pos]
        if exc.msg.startswith("Extra data"):
            return None, f"invalid character '{ch}' after top-level value"
        return None, f"invalid character '{ch}' looking for beginning of value"


def go_kind(value: Any) -> str:
    """The JSON kind word Go uses in unmarshal errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


class Exchange:
    """One request/response, with helpers to answer or stream."""

    def __init__(
        self, handler: _Handler, fake: FakeOllama, path: str, query: str, body: bytes
    ) -> None:
        self.handler = handler
        self.fake = fake
        self.method = handler.command
        self.path = path
        self.query = query
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.body = body
        self.streaming = False
        self.sent = False

    # -- request ----------------------------------------------------------------------
    def json_object(self, go_type: str) -> dict[str, Any]:
        """The body as a JSON object, or ApiError(400) with Ollama's wording."""
        parsed, error = go_decode_error(self.body)
        if error:
            raise ApiError(400, error)
        if parsed is None:
            return {}
        if not isinstance(parsed, dict):
            raise ApiError(
                400, f"json: cannot unmarshal {go_kind(parsed)} into Go value of type {go_type}"
            )
        return parsed

    # -- plain responses --------------------------------------------------------------
    def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = JSON_TYPE,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A complete response with Content-Length (keeps the connection reusable)."""
        h = self.handler
        h.send_response(status)
        if content_type:
            h.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        self.sent = True
        if self.method != "HEAD" and body:
            self._raw_write(body)

    def send_json(self, status: int, obj: Any) -> None:
        self.send(status, _dumps(obj).encode())

    def send_text(self, status: int, text: str) -> None:
        self.send(status, text.encode(), TEXT_TYPE)

    # -- streaming --------------------------------------------------------------------
    def open_stream(self, content_type: str) -> None:
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        if content_type == SSE_TYPE:
            h.send_header("Cache-Control", "no-cache")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        self.streaming = True
        self.sent = True

    def write_chunk(self, data: bytes) -> None:
        """One HTTP chunk (one NDJSON line or SSE event). Raises ClientGone / Stopping."""
        if not self.streaming:
            raise RuntimeError("open_stream() first")
        if self.fake._stopping.is_set():
            raise Stopping
        if self.peer_closed():
            raise ClientGone
        self._raw_write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self) -> None:
        """The terminating zero-length chunk; the connection stays usable."""
        self._raw_write(b"0\r\n\r\n")
        self.streaming = False

    def drop(self) -> None:
        """Close the socket abruptly: no terminating chunk (or no response at all)."""
        self.handler.close_connection = True
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)

    # -- timing -----------------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        """A real pause that ends early (raising Stopping) when the server stops."""
        if seconds and seconds > 0 and self.fake._stopping.wait(seconds):
            raise Stopping
        if self.fake._stopping.is_set():
            raise Stopping

    # -- low level --------------------------------------------------------------------
    def peer_closed(self) -> bool:
        """True when the client has closed its end (readable with EOF)."""
        sock = self.handler.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except (OSError, ValueError):
            return True

    def _raw_write(self, data: bytes) -> None:
        try:
            self.handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            raise ClientGone from exc
        except OSError as exc:
            if self.fake._stopping.is_set():
                raise Stopping from exc
            raise ClientGone from exc


def _dumps(obj: Any) -> str:
    """Compact JSON like Go's encoder (non-ASCII kept as UTF-8)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


Route = Callable[[Exchange], None]
Resolver = Callable[[str], "dict[str, Route] | None"]
ErrorWriter = Callable[[Exchange, int, str], None]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-ollama"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Per-chunk latency must not depend on Nagle + delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `requests`; stderr noise helps nobody

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        fake = self.server.fake
        target = self.path
        path, _, query = target.partition("?")
        body = self._read_body()
        x = Exchange(self, fake, path, query, body)
        if not path.startswith("/_fake/"):
            fake._record(x)
        try:
            if fake._stopping.is_set():
                raise Stopping
            if (
                not path.startswith("/_fake/")
                and fake.host_check
                and not host_allowed(x.headers.get("host", ""))
            ):
                x.send(403, b"", None)
                return
            routes = self.server.resolve(path)
            if routes is None:
                x.send_text(404, "404 page not found")
                return
            route = routes.get(self.command)
            if route is None:
                x.send_text(405, "405 method not allowed")
                return
            route(x)
        except ApiError as err:
            if x.sent:  # too late for a status code: cut the connection instead
                x.drop()
                return
            self.server.write_error(x, err.status, err.message)
        except ClientGone:
            fake._record_disconnect(path)
            self.close_connection = True
        except Stopping:
            x.drop()
        except Exception as exc:  # a bug in the fake: say so loudly instead of hanging a test
            traceback.print_exc(file=sys.stderr)
            if x.sent:
                x.drop()
            else:
                self.server.write_error(x, 500, f"fake_ollama internal error: {exc!r}")
        finally:
            if x.streaming:  # a handler bug left a stream open: never leave the client hanging
                x.drop()

    do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = do_PATCH = do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow stream must never block interpreter exit or stop()
    block_on_close = False
    # Tests poll the control endpoints every few ms while the app streams: on a loaded machine
    # the default backlog (5) overflows and the kernel resets the next connection.
    request_queue_size = 128

    def __init__(
        self, addr: tuple[str, int], fake: FakeOllama, resolve: Resolver, write_error: ErrorWriter
    ) -> None:
        self.fake = fake
        self.resolve = resolve
        self.write_error = write_error
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that resets its connection (a cancelled stream) is normal here, not a bug.
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def serve(
    fake: FakeOllama, host: str, port: int, resolve: Resolver, write_error: ErrorWriter
) -> tuple[_Server, threading.Thread]:
    """Bind and serve in a daemon thread."""
    httpd = _Server((host, port), fake, resolve, write_error)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-ollama", daemon=True
    )
    thread.start()
    return httpd, thread


def shutdown(httpd: _Server, thread: threading.Thread) -> None:
    """Stop accepting, cut every open connection, close the listening socket."""
    httpd.shutdown()
    httpd.close_connections()
    httpd.server_close()
    thread.join(timeout=2)


# -- Host-header check (Ollama's allowedHostsMiddleware) ------------------------------------
def host_allowed(host_header: str) -> bool:
    import ipaddress

    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in ("", "localhost"):
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return addr.is_loopback or addr.is_private or addr.is_unspecified
    if host == socket.gethostname().lower():
        return True
    return host.endswith((".localhost", ".local", ".internal"))


def now_ns() -> int:
    return time.time_ns()
