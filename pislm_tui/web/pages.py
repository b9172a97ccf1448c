"""The small pages `pislm web` answers with when it does not start an app, and the headers
every answer carries. Nothing in them loads anything: no scripts, fonts or images, not even a
favicon (each would be one more request without the token)."""

from __future__ import annotations

import html
import math

from aiohttp import web


# What a browser may load for any of our pages: only from this server. The app's page adds its
# script by nonce (server.py); a page that tries to reach another host is refused by the browser.
def content_security_policy(script_nonce: str | None = None) -> str:
    script = f"'self' 'nonce-{script_nonce}'" if script_nonce else "'none'"
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def secure_headers(
    response: web.StreamResponse, script_nonce: str | None = None
) -> web.StreamResponse:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(script_nonce))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.content_type == "text/html" or "Location" in headers:
        headers.setdefault("Cache-Control", "no-store")
    return response


def page(title: str, *paragraphs: str, status: int, reload: bool = False) -> web.Response:
    """A plain page. `paragraphs` are HTML made here (callers escape what they insert)."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    if reload:
        body += '\n<p><a href="./">Try again</a></p>'
    text = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>pislm · {html.escape(title)}</title>
<style>
body {{ background: #0c181f; color: #e6edf3; font: 17px/1.5 system-ui, sans-serif;
       margin: 0; padding: 2em 1.2em; }}
main {{ max-width: 34em; margin: auto; }}
h1 {{ font-size: 1.3em; }} code {{ background: #12232d; padding: 0 .3em; }}
a {{ color: #8fd3ff; }}
</style></head>
<body><main><h1>{html.escape(title)}</h1>
{body}
</main></body></html>
"""
    response = web.Response(text=text, status=status, content_type="text/html")
    return secure_headers(response)  # type: ignore[return-value]


def unauthorized() -> web.Response:
    return page(
        "This page needs its access token",
        "Open the address that <code>pislm web</code> printed (it ends in "
        "<code>?token=…</code>), or scan its QR code. On the Pi, "
        "<code>pislm web --print-url</code> shows it again.",
        "The browser then remembers it for this server for 30 days.",
        status=401,
    )


def too_many(retry_after: float) -> web.Response:
    seconds = max(1, math.ceil(retry_after))
    response = page(
        "Too many tries",
        f"Too many requests without the right token came from your address. "
        f"Try again in {seconds} s, with the address <code>pislm web</code> printed.",
        status=429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def forbidden_origin() -> web.Response:
    return page(
        "Not from another site",
        "The app can only be opened from its own page.",
        status=403,
    )


def sessions_full(limit: int) -> web.Response:
    tabs = "browser tab" if limit == 1 else "browser tabs"
    return page(
        "pislm is open in enough places",
        f"pislm is already open in {limit} {tabs}: the most this server runs at once "
        f"(<code>pislm web --max-sessions {limit}</code>; each one is an app process using "
        "the Pi's memory, which the model needs).",
        "Close one of them (closing its tab ends its app), then try again.",
        status=503,
        reload=True,
    )


def sessions_full_text(limit: int) -> str:
    """The same, for a page that got in just before the last place was taken: shown in its
    terminal, which then closes."""
    return (
        f"\r\n  pislm is already open in {limit} browser tab(s), the most this server runs "
        "at once (--max-sessions).\r\n  Close one of them, then reload this page.\r\n"
    )
