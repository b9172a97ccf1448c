"""The memory check before a load: a model bigger than the RAM that is free now will swap (or be
killed) on a 4 or 8 GB Pi, so the user is warned first. RAM is read with psutil, through an
injectable function so tests can pretend to be a small Pi. The check only makes sense when the
server runs on this machine (the app on the Pi, or a tunnel to it); for a server elsewhere it is
skipped rather than guessed."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pislm_tui.sizes import decimal_bytes

MemoryProbe = Callable[[], int | None]


def available_memory() -> int | None:
    """Bytes of RAM available without swapping (psutil's `available`), None if unknown."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except (ImportError, OSError, RuntimeError):
        return None


def is_local_server(url: str) -> bool:
    """True when the server address is this machine (loopback)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class MemoryCheck:
    model: str
    needed: int | None  # the model's size in bytes
    available: int | None  # RAM available now, bytes
    checked: bool  # False when the server is not on this machine or a figure is unknown

    @property
    def ok(self) -> bool:
        if not self.checked or self.needed is None or self.available is None:
            return True
        return self.needed <= self.available

    def warning(self) -> str:
        return (
            f"{self.model} needs about {decimal_bytes(self.needed)} but only "
            f"{decimal_bytes(self.available)} of RAM is available. Loading it may make the Pi swap "
            "heavily or fail. Close other programs or unload a model first."
        )


def check_memory(
    model: str,
    size: int | None,
    *,
    server_url: str,
    probe: MemoryProbe = available_memory,
) -> MemoryCheck:
    if not is_local_server(server_url) or size is None:
        return MemoryCheck(model, size, None, checked=False)
    available = probe()
    return MemoryCheck(model, size, available, checked=available is not None)
