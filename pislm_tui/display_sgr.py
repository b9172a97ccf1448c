"""SGR (colours and attributes) for the terminal shadow (`display.TerminalShadow`): the shortest
change from one look to another, and which part of a look a blank cell shows."""

from __future__ import annotations

from functools import lru_cache

# A look: what a cell's style looks like on the terminal, as SGR parameters (what Rich writes,
# `Strip.render_ansi`) and a hyperlink.
Look = tuple[str, str]
PLAIN: Look = ("", "")

# SGR attributes turned off one by one (ECMA-48), instead of a reset and every other attribute
# set again: "22" ends both bold and faint, "24" both underlines, "25" both blinks.
_ATTRIBUTE_OFF = {
    "1": "22",
    "2": "22",
    "3": "23",
    "4": "24",
    "21": "24",
    "5": "25",
    "6": "25",
    "7": "27",
    "8": "28",
    "9": "29",
}

# Attributes that draw nothing on a blank cell: bold, faint, italic, blink, conceal. The others
# do (reverse fills it with the foreground; underline, strike, overline draw a line in it), and
# any attribute not named here is taken to draw too.
_INVISIBLE_ON_BLANK = frozenset({"1", "2", "3", "5", "6", "8"})


def _sgr_parts(ansi: str) -> tuple[frozenset[str], str, str]:
    """SGR parameters as Rich writes them (`Strip.render_ansi`): attributes, then foreground,
    then background; a colour is "38;2;r;g;b", "38;5;n" or one code (30-37, 39, 90-97...)."""
    params = ansi.split(";") if ansi else []
    flags: set[str] = set()
    fg = bg = ""
    i = 0
    while i < len(params):
        code = params[i]
        if code in ("38", "48"):
            size = 5 if params[i + 1 : i + 2] == ["2"] else 3
            value = ";".join(params[i : i + size])
            i += size
        else:
            value = code
            i += 1
        number = int(value.split(";", 1)[0]) if value.split(";", 1)[0].isdigit() else -1
        if number == 38 or 30 <= number <= 37 or number == 39 or 90 <= number <= 97:
            fg = value
        elif number == 48 or 40 <= number <= 47 or number == 49 or 100 <= number <= 107:
            bg = value
        else:
            flags.add(value)
    return frozenset(flags), fg, bg


def sgr_change(old: str, new: str) -> str:
    """The shortest SGR sequence taking the terminal from look `old` to look `new` (SGR
    parameters): only what differs (a new colour, an attribute on or off), or a reset and `new`
    when that is shorter or an attribute has no "off" code here."""
    full = f"\x1b[0;{new}m" if new else "\x1b[0m"
    if old == new:
        return ""
    old_flags, old_fg, old_bg = _sgr_parts(old)
    new_flags, new_fg, new_bg = _sgr_parts(new)
    codes: list[str] = []
    removed = old_flags - new_flags
    if any(flag not in _ATTRIBUTE_OFF for flag in removed):
        return full
    off = {_ATTRIBUTE_OFF[flag] for flag in removed}
    # An "off" code ends a pair ("22": bold and faint): set again the one of the pair kept.
    kept = {flag for flag in new_flags if _ATTRIBUTE_OFF.get(flag) in off}
    codes += sorted(off)
    codes += sorted((new_flags - old_flags) | kept)
    if new_fg != old_fg:
        codes.append(new_fg or "39")
    if new_bg != old_bg:
        codes.append(new_bg or "49")
    if not codes:  # the same look written otherwise ("\x1b[m" would be a reset)
        return ""
    change = f"\x1b[{';'.join(codes)}m"
    return change if len(change) < len(full) else full


BlankKey = tuple[frozenset[str], str, str]


@lru_cache(maxsize=4096)
def shown_by_blank(look: Look) -> BlankKey:
    """What of `look` a blank cell shows: attributes, background and hyperlink; not the
    foreground. Two looks with the same key look alike on a space if `blank_ignores_fg`."""
    flags, _fg, bg = _sgr_parts(look[0])
    return flags, bg, look[1]


@lru_cache(maxsize=4096)
def blank_ignores_fg(look: Look) -> bool:
    """Whether a space in this look shows nothing of its foreground (no reverse, underline,
    strike or overline): it can then be written in whatever foreground the terminal has."""
    return shown_by_blank(look)[0] <= _INVISIBLE_ON_BLANK


@lru_cache(maxsize=8192)
def sgr_step(old: Look | None, new: Look) -> str:
    """What to write to go from the terminal's look `old` (None: unknown) to `new`: a reset and
    `new` when the old look is unknown, else only what differs (`sgr_change`)."""
    if old is None:
        return f"\x1b[0;{new[0]}m" if new[0] else "\x1b[0m"
    return sgr_change(old[0], new[0])
