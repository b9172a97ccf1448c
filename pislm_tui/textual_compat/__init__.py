"""Every use of a private Textual API in pislm lives in this package, behind one guard.

What it reaches into, and what the user gets on a Textual where the guard says no (the full
table, with the attributes each reach needs, is `guard.REACHES`):

| reach                      | module here      | without it                                       |
|----------------------------|------------------|--------------------------------------------------|
| Compositor.render_partial_update | compositor.py | same screen, more CPU while a reply streams  |
| ChopsUpdate / LayoutUpdate fields | updates.py  | (the shadow cannot read frames: it stays off)    |
| App._display and its state | output.py        | same screen, more bytes per frame (SSH)          |
| App._handle_exception, App._exception | errors.py | an unhandled error ends the app (crash.log and |
| MessagePump._dispatch_message | errors.py     |   the exit message still say so; see crash.py)   |
| the callers of _handle_exception | errors.py  |   (all three rows go together)                   |
| ANSI_SEQUENCES_KEYS        | keys.py          | Alt+Enter over SSH sends; Ctrl+J still a new line |
| LinuxDriver._file          | drivers.py       | a hung-up terminal may stall the exit            |
| Markdown._parse_markdown   | markdown.py      | replies stream through Markdown.append (more CPU) |

Verified with Textual `guard.VERIFIED_TEXTUAL` (the pin in pyproject.toml). On any other version
every reach is left alone and Textual runs its own way; the output layers and the error survival
each say so in one line (`notes()`: `pislm --version`, the Textual log, `pislm.log` in the data
dir). Rich: only public API.

Submodules are imported where they are used (display.py imports `updates`, which must not
import the app's output path back)."""

from pislm_tui.textual_compat.guard import REACHES, VERIFIED_TEXTUAL, Reach, usable, verdict

__all__ = ["REACHES", "VERIFIED_TEXTUAL", "Reach", "notes", "usable", "verdict"]


def notes() -> list[str]:
    """One line for each part of pislm that runs Textual's own way on this Textual."""
    from pislm_tui.textual_compat.errors import survival_note

    return [note for note in (verdict().note(), survival_note()) if note]
