"""`FakeOllama`: the server object tests hold — lifecycle, scripting, state and inspection."""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from .behaviour import DEFAULT_NUM_CTX
from .models import DEFAULT_MODELS, FakeModel, default_registry, find, normalize_name
from .reply import Reply
from .server import Exchange, RecordedRequest, serve, shutdown


class FakeOllama:
    """A protocol-faithful Ollama stand-in on a real loopback socket.

    All mutable state is guarded by one re-entrant lock; handlers run in daemon threads.
    """

    def __init__(
        self,
        models: list[FakeModel] | None = None,
        version: str = "0.33.0",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._initial_models = [
            copy.deepcopy(m) for m in (DEFAULT_MODELS if models is None else models)
        ]
        self.models: dict[str, FakeModel] = {}
        self.registry: dict[str, FakeModel] = default_registry()
        self.loaded: dict[str, float] = {}
        self.loaded_ctx: dict[str, int] = {}  # addition: runtime context shown by /api/ps
        self.version = version
        self.host = host
        self.port = port
        self.default_reply: Reply | None = None
        self.embed_delay = 0.0
        self.load_delay = 0.0  # addition: seconds a load request (chat without messages) takes
        self.pull_delay = 0.005
        self.pull_fail: dict[str, str] = {}
        self.host_check = False
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[str] = []
        self.last_stats: dict[str, Any] | None = None
        self.stats_log: list[dict[str, Any]] = []
        self._queue: list[Reply] = []
        self._seq = 0
        self._httpd: Any = None
        self._thread: threading.Thread | None = None
        self._restore_models()

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> FakeOllama:
        from .routes import resolve, write_error

        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd, self._thread = serve(self, self.host, self.port, resolve, write_error)
        self.port = self._httpd.server_address[1]
        return self

    def stop(self) -> None:
        """Prompt even with clients inside slow streams: sleeps wake up, sockets are cut."""
        self._stopping.set()
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None and thread is not None:
            shutdown(httpd, thread)

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- scripting ----------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        """Queue replies (FIFO) for the next chat/generate/v1-chat requests."""
        for r in replies:
            if not isinstance(r, Reply):
                raise TypeError(f"script() takes Reply objects, got {type(r).__name__}")
        with self._lock:
            self._queue.extend(replies)

    @property
    def queued(self) -> list[Reply]:
        """Addition: the replies not consumed yet (a copy)."""
        with self._lock:
            return list(self._queue)

    def add_model(self, m: FakeModel) -> None:
        with self._lock:
            self.models[m.name] = m

    def remove_model(self, name: str) -> None:
        with self._lock:
            m = find(self.models, name)
            if m is not None:
                del self.models[m.name]
                self.loaded.pop(m.name, None)
                self.loaded_ctx.pop(m.name, None)

    def find_model(self, name: str) -> FakeModel | None:
        """Addition: the installed model for a name, matched like Ollama (tag defaults to
        `latest`, case-insensitive), or None."""
        with self._lock:
            return find(self.models, name)

    # -- inspection ---------------------------------------------------------------------
    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Addition: poll `condition` until true (returns False on timeout). For tests that
        must wait for a server-side effect such as a recorded disconnect."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if condition():
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    def reset(self) -> None:
        """Clear queue, requests, disconnects, stats; restore models and loaded state."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.disconnects.clear()
            self.stats_log.clear()
            self.last_stats = None
            self._seq = 0
            self._restore_models()

    def _restore_models(self) -> None:
        with self._lock:
            self.models = {m.name: copy.deepcopy(m) for m in self._initial_models}
            self.loaded.clear()
            self.loaded_ctx.clear()

    # -- used by the handlers -------------------------------------------------------------
    def _record(self, x: Exchange) -> None:
        from .server import go_decode_error

        parsed, error = go_decode_error(x.body) if x.body else (None, None)
        rec = RecordedRequest(
            x.method,
            x.path,
            dict(x.headers),
            None if error else parsed,
            x.body,
            time.time(),
            x.query,
        )
        with self._lock:
            self.requests.append(rec)

    def _record_disconnect(self, path: str) -> None:
        with self._lock:
            self.disconnects.append(path)

    def _record_stats(self, model: str, stats: dict[str, int]) -> None:
        entry = {"model": model, **stats}
        with self._lock:
            self.last_stats = entry
            self.stats_log.append(entry)

    def _take_reply(self, model: str) -> Reply | None:
        """The first queued reply for this model (or for any model), else default_reply."""
        with self._lock:
            for i, r in enumerate(self._queue):
                if _reply_fits(r, model):
                    return self._queue.pop(i)
            d = self.default_reply
            return d if d is not None and _reply_fits(d, model) else None

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def _purge_expired(self) -> None:
        now = time.time()
        with self._lock:
            for name, expires in list(self.loaded.items()):
                if expires <= now:
                    del self.loaded[name]
                    self.loaded_ctx.pop(name, None)

    def is_loaded(self, name: str) -> bool:
        self._purge_expired()
        with self._lock:
            return normalize_name(name) in self.loaded

    def _load(self, name: str, keep_alive: float, num_ctx: int | None) -> bool:
        """Mark a model loaded for a request; True when it already was (warm)."""
        with self._lock:
            was = self.is_loaded(name)
            # While a request runs the model stays resident even with keep_alive 0.
            hold = keep_alive if keep_alive > 0 else 3600.0
            self.loaded[name] = max(self.loaded.get(name, 0.0), time.time() + hold)
            if num_ctx or not was:
                self.loaded_ctx[name] = num_ctx or DEFAULT_NUM_CTX
            return was

    def _release(self, name: str, keep_alive: float) -> None:
        """After a request: unload for keep_alive 0, else restart the keep-alive timer."""
        with self._lock:
            if keep_alive == 0:
                self.loaded.pop(name, None)
                self.loaded_ctx.pop(name, None)
            elif name in self.models and name in self.loaded:
                self.loaded[name] = math.inf if math.isinf(keep_alive) else time.time() + keep_alive

    def _unload(self, name: str) -> None:
        with self._lock:
            self.loaded.pop(name, None)
            self.loaded_ctx.pop(name, None)


def _reply_fits(reply: Reply, model: str) -> bool:
    return reply.model is None or normalize_name(reply.model).lower() == model.lower()
