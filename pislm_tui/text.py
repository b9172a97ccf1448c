"""Model output is data. Before it reaches a terminal it loses escape sequences and control
characters (an answer must never move the cursor, change the title or set a clipboard), and it
is never parsed as Rich/Textual markup: widgets get it with `markup=False` or as `Content`."""

from __future__ import annotations

import os
import re

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC (ESC P|X|^|_ ... ST),
# two-byte escapes (ESC + one char), and 8-bit C1 forms of CSI/OSC.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]              # CSI
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?   # OSC
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?        # DCS, SOS, PM, APC
  | \x1b[@-Z\\-_]                        # other two-byte escapes
  | \x9b[0-?]*[ -/]*[@-~]                # 8-bit CSI
  | \x9d[^\x07\x9c]*(?:\x07|\x9c)?       # 8-bit OSC
    """,
    re.VERBOSE,
)
# C0 controls except tab and newline, DEL, C1 controls, and a lone ESC left by a cut sequence.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def clean_output(text: str) -> str:
    """Strip terminal escape sequences and control characters; keep text, tabs and newlines.
    Carriage returns become newlines (a bare CR would overwrite the line)."""
    if not text:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text)


class StreamCleaner:
    """`clean_output` for a stream of fragments: an escape sequence split across two chunks is
    held back until it is complete, so no half-sequence reaches the screen."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, fragment: str) -> str:
        text = self._held + fragment
        self._held = ""
        cut = text.rfind("\x1b")
        if cut != -1 and len(text) - cut < 64 and not _ESCAPES.match(text, cut):
            # Possibly the start of a sequence that continues in the next fragment.
            self._held, text = text[cut:], text[:cut]
        if text.endswith("\r"):
            self._held, text = "\r" + self._held, text[:-1]
        return clean_output(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return clean_output(held)


def short_path(source: str) -> str:
    """`~/notes/a.md` for a path under the home folder; other sources as they are. A file name
    is data too: control characters in it never reach the terminal."""
    source = clean_output(source)
    home = os.path.expanduser("~")
    if home not in ("", "/") and source.startswith(home + os.sep):
        return "~" + source[len(home) :]
    return source
