"""Who may in. Every request (the page, the static files, the websocket that starts an app,
downloads) needs the token: `?token=…` once, then a cookie (HttpOnly, SameSite=Strict) set by
the redirect that also takes the token out of the address bar. A wrong or missing token gets
401 and reaches no handler, so no app process is started. An address that fails too often gets
429 for a while (`FailureLimit`)."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web

from pislm_tui.web import pages

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

COOKIE_MAX_AGE = 30 * 24 * 3600  # s: a phone keeps access for a month without the URL again


def cookie_name(port: int) -> str:
    """Cookies do not tell ports apart: two servers on one host each need their own name."""
    return f"pislm_web_{port}"


def cookie_header(name: str, token: str, *, secure: bool) -> str:
    """The Set-Cookie value: only the server sees it (HttpOnly), and only requests from its own
    pages carry it (SameSite=Strict: no other site can make a browser use it). `Secure` when
    the page came over HTTPS (a TLS proxy in front), where the browser would keep it anyway."""
    parts = [f"{name}={token}", "Path=/", f"Max-Age={COOKIE_MAX_AGE}", "HttpOnly"]
    parts.append("SameSite=Strict")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class FailureLimit:
    """At most `failures` refused requests per client address in `window` seconds; past that
    the address gets 429 until its oldest failure is `window` old. Refusals while blocked are
    not counted (the block ends on time). At most `addresses` are remembered."""

    def __init__(
        self,
        failures: int = 10,
        window: float = 60.0,
        *,
        addresses: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.window = window
        self.addresses = addresses
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._seen.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._seen[address]
            return None
        return times

    def retry_after(self, address: str) -> float:
        """Seconds until `address` may try again; 0 when it may now."""
        now = self.clock()
        times = self._recent(address, now)
        if times is None or len(times) < self.failures:
            return 0.0
        return max(0.0, times[0] + self.window - now)

    def failed(self, address: str) -> None:
        now = self.clock()
        times = self._recent(address, now)
        if times is None:
            times = self._seen[address] = deque()
            while len(self._seen) > self.addresses:
                self._seen.popitem(last=False)
        times.append(now)


def client_address(request: web.Request) -> str:
    """The address to count failures against. Behind a proxy on this machine (a loopback peer
    that says X-Forwarded-For) it is the last address the proxy added, not the proxy's own."""
    peer = request.remote or "?"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        try:
            loopback = ipaddress.ip_address(peer).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return forwarded.split(",")[-1].strip() or peer
    return peer


def came_over_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


@dataclass
class Gate:
    token: str
    cookie: str  # the cookie's name
    limit: FailureLimit
    on_refused: Callable[[str, str], None] = lambda address, why: None

    def _matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _same_origin(self, request: web.Request) -> bool:
        """A websocket opened by a page of another site: its Origin names another host."""
        origin = request.headers.get("Origin")
        if origin is None or request.path != "/ws":
            return True
        return origin.split("://", 1)[-1].rstrip("/") == request.host

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        address = client_address(request)
        wait = self.limit.retry_after(address)
        if wait > 0:
            self.on_refused(address, "too many failures")
            return pages.too_many(wait)
        query_token = request.query.get("token")
        allowed = self._matches(query_token) or self._matches(request.cookies.get(self.cookie))
        if not allowed:
            self.limit.failed(address)
            self.on_refused(address, "wrong token" if query_token else "no token")
            return pages.unauthorized()
        if not self._same_origin(request):
            self.limit.failed(address)
            self.on_refused(address, "websocket from another site")
            return pages.forbidden_origin()
        if query_token is not None and request.path == "/":
            # Into the cookie, and out of the address bar (and so of the history and bookmarks).
            rest = request.query.copy()
            del rest["token"]
            response = web.Response(status=303, text="")
            # Relative: right behind a proxy that serves the app under a path of its own too.
            response.headers["Location"] = "./" + (
                f"?{urlencode(list(rest.items()))}" if rest else ""
            )
            response.headers["Set-Cookie"] = cookie_header(
                self.cookie, self.token, secure=came_over_https(request)
            )
            return pages.secure_headers(response)
        return await handler(request)
