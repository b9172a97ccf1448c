"""Byte sizes as text: the one place that formats them. Units are picked by Rich's
`rich.filesize.pick_unit_and_suffix` (as Rich's own download column does); the numbers are
written the way each kind of figure is read elsewhere:

- `decimal_bytes`: decimal units as `ollama list` and `ollama pull` print them (Ollama's
  format.HumanBytes): 1.3 GB, 2.0 GB, 274 MB, 3 GB, 96 B. Models, pulls, RAM warnings.
- `short_bytes`: binary and compact, as htop and `free -h`: 512M, 3.5G, 12G. The monitor.
- `binary_bytes`: the same in prose: 3.5 GiB, 512 B. Tooltips.

`rich.filesize.decimal` itself is not used for the text: it always prints one decimal
(274.3 MB, 3.0 GB) and says "bytes" and "kB", so model sizes would no longer read like
Ollama's, and memory is counted in powers of 1024 (a Pi's 8 GB of RAM is 7.9G in htop)."""

from __future__ import annotations

import math

from rich.filesize import pick_unit_and_suffix

_DECIMAL = ["B", "KB", "MB", "GB", "TB"]
_BINARY = ["B", "K", "M", "G", "T"]


def decimal_bytes(size: int | float | None) -> str:
    """Ollama's `format.HumanBytes`: one decimal below 10 unless whole, none from 10 (cut, not
    rounded); "—" when unknown."""
    if size is None:
        return "—"
    unit, suffix = pick_unit_and_suffix(int(size), _DECIMAL, 1000)
    if unit == 1:
        return f"{int(size)} B"
    value = size / unit
    if value >= 10 or value == math.trunc(value):
        return f"{int(value)} {suffix}"
    return f"{value:.1f} {suffix}"


def short_bytes(size: int | float) -> str:
    """Compact binary size like htop: 512B, 2K, 512M, 3.1G, 7.8G, 12G."""
    unit, suffix = pick_unit_and_suffix(abs(int(size)), _BINARY, 1024)
    value = size / unit
    if suffix in ("B", "K") or abs(value) >= 10:
        return f"{value:.0f}{suffix}"
    return f"{value:.1f}{suffix}"


def binary_bytes(size: int | float) -> str:
    """Binary size for prose: 512 B, 2 KiB, 3.1 GiB."""
    text = short_bytes(size)
    if text[-1] == "B":
        return f"{text[:-1]} B"
    return f"{text[:-1]} {text[-1]}iB"
