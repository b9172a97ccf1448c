"""Key sequences Textual's parser does not know (reach "keys.sequences" in guard.py). Textual
has no public way to add one: its table of sequences is a module-level dict, read for every
sequence, so an entry added at any time is used from then on."""

from __future__ import annotations

from dataclasses import dataclass

from pislm_tui.textual_compat.guard import usable


@dataclass(frozen=True)
class _KeyName:
    """What the table holds for a key (Textual reads `.value`, as of its `Keys` members)."""

    value: str


def teach(sequence: str, key: str) -> bool:
    """Make the parser report `sequence` as `key` (idempotent; an entry Textual has is kept).
    Returns whether the parser knows it now."""
    if not usable("keys.sequences"):
        return False
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    if not isinstance(ANSI_SEQUENCES_KEYS, dict):
        return False
    ANSI_SEQUENCES_KEYS.setdefault(sequence, (_KeyName(key),))
    return True
