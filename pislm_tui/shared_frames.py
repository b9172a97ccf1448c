"""Frames shared with a streaming reply (UI side, no Textual).

Each change on screen at its own moment is a frame of its own: over SSH one more write, in
the app one more pass of Textual's compositor (a few milliseconds of a core the model runs on).
While a reply streams, its flushes make frames four times a second anyway; the live strip's
reading (once a second) would be a fifth. Changes that can wait a quarter of a second go
through `change()`: while a reply leads (`lead(True)`), they wait for its next flush, which
applies them in its own frame (`apply_pending()`); otherwise they apply at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SharedFrames:
    def __init__(self) -> None:
        self._leaders: set[object] = set()
        self._pending: dict[str, Callable[[], None]] = {}

    @property
    def led(self) -> bool:
        return bool(self._leaders)

    def change(self, key: str, apply: Callable[[], None]) -> None:
        """Apply now, or with the leading reply's next flush (a later change of the same `key`
        replaces one still waiting)."""
        if self._leaders:
            self._pending[key] = apply
        else:
            apply()

    def lead(self, leader: object, on: bool) -> None:
        """`leader` flushes frames regularly (True) or no longer does (False: what waits for
        it applies now, unless another leads)."""
        if on:
            self._leaders.add(leader)
            return
        self._leaders.discard(leader)
        if not self._leaders:
            self.apply_pending()

    def apply_pending(self) -> None:
        """From a leader's flush: the changes that waited, in its frame."""
        pending, self._pending = self._pending, {}
        for apply in pending.values():
            apply()


def frames_of(app: Any) -> SharedFrames | None:
    """The app's shared frames (pislm's app has them; a bare Textual app in a test does not)."""
    frames = getattr(app, "frames", None)
    return frames if isinstance(frames, SharedFrames) else None
