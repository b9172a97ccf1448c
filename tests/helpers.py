"""Test helpers: wait for conditions (never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 10.0, pilot: Any = None, what: str = ""
) -> Any:
    """Poll `predicate` until it returns something truthy; return it. With a Textual `pilot`,
    the app gets to process its messages between polls, and a timeout reports the focus and
    the screen (what one needs to see)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"timed out after {timeout} s waiting for {what or predicate}"
            if pilot is not None:
                app = pilot.app
                message += f"\nfocused: {app.focused}\n{screen_text(app)}"
            raise AssertionError(message)
        if pilot is not None:
            await pilot.pause(0.02)
        else:
            await asyncio.sleep(0.02)


def wait_for_sync(predicate: Callable[[], Any], *, timeout: float = 10.0, what: str = "") -> Any:
    """`wait_for` for plain threads and processes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.02)


def patient(timeout: float) -> Callable[..., Any]:
    """`wait_for` with a longer default timeout, for suites that share a busy 2-core machine."""

    async def wait(predicate: Callable[[], Any], **kw: Any) -> Any:
        kw.setdefault("timeout", timeout)
        return await wait_for(predicate, **kw)

    return wait


def screen_text(app: Any) -> str:
    """Everything visible on the app's screen, as plain text lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def tab_underlines_placed(app: Any) -> bool:
    """Every tab bar on screen has its underline under its active tab. Textual places it after
    a refresh once the tab has its size; a snapshot taken before caught a bar of no width."""
    for tabs in app.screen.query("Tabs"):
        active = tabs.active_tab
        if not tabs.region or active is None:
            continue  # hidden, or no tab
        bar = tabs.query_one("Underline")
        start, end = active.virtual_region.shrink(active.styles.gutter).column_span
        if (bar.highlight_start, bar.highlight_end) != (start, end):
            return False
    return True


def without_animations(app: Any) -> Any:
    """An app for a snapshot: no tab-underline slide (it starts on a timer after a tab switch,
    which waiting for the scheduled animations can miss, and a snapshot caught it half-way) -
    as pislm runs over SSH (TEXTUAL_ANIMATIONS=none)."""
    app.animation_level = "none"
    return app
