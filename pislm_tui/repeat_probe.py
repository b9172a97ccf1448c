"""Does this terminal repeat characters (REP, `CSI n b`)? Asked of the terminal itself.

Terminfo cannot say: mosh and tmux (before 3.5 for non-ASCII characters) answer to
xterm-256color, whose entry has `rep`, and do not repeat, or repeat the wrong character; PuTTY,
older VTE and iTerm2 did not either (ncurses' FAQ, "xterm_generic"). So before its first frame
the app writes a character, REP, and asks where the cursor is (DSR 6); twice: once with an ASCII
letter, once with a wide character, whose width tells a terminal that repeats it from one that
repeats the last ASCII character instead. The first frame is a full repaint and covers the test.
A terminal that does not answer (or not yet) gets every cell written out, as before.

UI side, no Textual: the app feeds the cursor reports in (`answer`)."""

from __future__ import annotations

from enum import Enum

# At the top-left corner: "a" then REP 2 ("aaa", the cursor on column 3), then "日" then REP 1
# ("日日", the cursor on column 4), each followed by a cursor position request.
PROBE = "\x1b[Ha\x1b[2b\x1b[6n\r\u65e5\x1b[1b\x1b[6n"
PROBE_CELLS = 4  # it draws on the first cells of the top row only ("aaa", then "日日")
_ASCII_COLUMN = 3  # 0-based column after "aaa"
_WIDE_COLUMN = 4  # after two wide characters


class Repeats(Enum):
    NONE = "none"  # every cell written out
    ASCII = "ascii"  # runs of an ASCII character repeated
    ALL = "all"  # runs of any one-cell character (box drawing too)


class RepeatProbe:
    """Reads the two cursor reports that answer `PROBE`, in order."""

    def __init__(self) -> None:
        self.columns: list[int] = []

    @property
    def done(self) -> bool:
        return len(self.columns) >= 2

    def answer(self, x: int, y: int) -> Repeats | None:
        """A cursor report (0-based). The verdict once both have come, else None."""
        if self.done:
            return None
        self.columns.append(x)
        if not self.done:
            return None
        ascii_ok, wide_ok = self.columns[0] == _ASCII_COLUMN, self.columns[1] == _WIDE_COLUMN
        if not ascii_ok:
            return Repeats.NONE
        return Repeats.ALL if wide_ok else Repeats.ASCII
