"""The differential output layer: what reaches a terminal must look exactly like Textual's own
output would, with fewer bytes. Checked with a terminal emulator (pyte) on both streams: for
made-up frames, and for every frame of the real app going through every screen
(tests/output_equivalence.py) at 80x24 and 120x40."""

from __future__ import annotations

import random
import re
from typing import Any

import pyte
import pytest
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

from pislm_tui.display import TerminalShadow, sgr_change, with_repeats
from pislm_tui.repeat_probe import Repeats
from tests import vt
from tests.fake_ollama import FakeOllama
from tests.output_equivalence import OutputCheck, run_every_screen, shown_fg

W, H = 40, 12
STYLES = [
    Style(color="white", bgcolor="black"),
    Style(color="red", bgcolor="black", bold=True),
    Style(color="#00ff00", bgcolor="#101010"),
    Style(color="white", bgcolor="black", meta={"offset": (1, 2)}),  # same look, other metadata
    # Attributes turned on and off between runs (the shadow writes only what changes).
    Style(color="#00ff00", bgcolor="#101010", italic=True, underline=True),
    Style(color="red", dim=True, strike=True),
    Style(bgcolor="black", bold=True, dim=True, reverse=True),
    Style(color="bright_blue", bgcolor="#101010", underline2=True, blink=True),
    Style(),
    # A table's looks on one background: border, text, default foreground (the space after a
    # border), and spaces whose foreground shows (reverse, underline).
    Style(color="#3e4044", bgcolor="#101010"),
    Style(color="#e0e0e0", bgcolor="#101010"),
    Style(bgcolor="#101010"),
    Style(color="#e0e0e0", bgcolor="#101010", reverse=True),
    Style(color="#3e4044", bgcolor="#101010", underline=True),
]
BORDER, TEXT, BLANK = STYLES[9], STYLES[10], STYLES[11]


class Console:
    _color_system = ColorSystem.TRUECOLOR


def screen_of(*chunks: str) -> pyte.Screen:
    screen = vt.Screen(W, H)  # (pyte, plus REP)
    stream = vt.Stream(screen)
    for chunk in chunks:
        stream.feed(chunk)
    return screen


def cells(screen: pyte.Screen) -> list[list[tuple]]:
    """Each cell as it looks; the foreground of a space only where it shows (see `shown_fg`)."""
    return [
        [
            (c.data, shown_fg(c), c.bg, c.bold, c.italics, c.underscore, c.strikethrough, c.reverse)
            for c in (screen.buffer[y][x] for x in range(W))
        ]
        for y in range(H)
    ]


def row(text: str, style: Style = STYLES[0]) -> Strip:
    return Strip([Segment(text.ljust(W)[:W], style)])


def full(rows: list[Strip]) -> LayoutUpdate:
    return LayoutUpdate([[r] for r in rows], Region(0, 0, W, H))


def test_identical_frame_sends_nothing_and_one_change_sends_one_cell() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    rows = [row(f"line {i}") for i in range(H)]
    first = shadow.diff(full(rows), ColorSystem.TRUECOLOR)
    assert len(first) > W * H
    assert shadow.diff(full(rows), ColorSystem.TRUECOLOR) == ""
    rows[3] = row("line 3!")
    change = shadow.diff(full(rows), ColorSystem.TRUECOLOR)
    # The terminal already has that look from the first frame: no SGR needed.
    assert change == "\x1b[4;7H!"


def test_styles_compare_by_their_look_not_their_metadata() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    shadow.diff(full([row("same", STYLES[0])] * H), ColorSystem.TRUECOLOR)
    assert shadow.diff(full([row("same", STYLES[3])] * H), ColorSystem.TRUECOLOR) == ""


def test_a_scroll_becomes_a_terminal_scroll() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    lines = [f"paragraph line {i}" for i in range(40)]
    before = [row("header")] + [row(t) for t in lines[0:10]] + [row("footer")]
    after = [row("header")] + [row(t) for t in lines[3:13]] + [row("footer")]
    out1 = shadow.diff(full(before), ColorSystem.TRUECOLOR)
    out2 = shadow.diff(full(after), ColorSystem.TRUECOLOR)
    assert "\x1b[2;11r" in out2 and out2.count("\x1bD") == 3
    assert len(out2) < 4 * (W + 20)  # three new rows, not ten
    expected = screen_of(full(after).render_segments(Console()))
    assert cells(screen_of(out1, out2)) == cells(expected)


def test_chops_update_partial_spans() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    base = [row("." * W) for _ in range(H)]
    out1 = shadow.diff(full(base), ColorSystem.TRUECOLOR)
    chops = [{0: None} for _ in range(H)]
    chops[5] = {0: row("abc" + "." * (W - 3))}
    update = ChopsUpdate(chops, [(5, 0, 3)], [[W] for _ in range(H)])
    out2 = shadow.diff(update, ColorSystem.TRUECOLOR)
    assert out2 == "\x1b[6Habc"  # (CUP without its column 1)
    reference = screen_of(full(base).render_segments(Console()), update.render_segments(Console()))
    assert cells(screen_of(out1, out2)) == cells(reference)


def random_row(rng: random.Random) -> Strip:
    parts: list[Segment] = []
    width = 0
    while width < W:
        style = rng.choice(STYLES)
        if rng.random() < 0.15 and width <= W - 2:
            text = rng.choice("日本語表")  # a wide character
        elif rng.random() < 0.15:  # a run of one character (REP), wide ones and marks too
            text = rng.choice([" ", "─", "x", "e\u0301", "日"]) * rng.randint(3, 12)
        else:
            text = "".join(rng.choice("abcxyz .") for _ in range(rng.randint(1, min(6, W - width))))
        parts.append(Segment(text, style))
        width += sum(2 if ord(ch) > 0x2E80 else 0 if ch == "\u0301" else 1 for ch in text)
    strip = Strip(parts)
    return strip.crop(0, W) if strip.cell_length > W else strip


def table_row(cells: list[str], widths: list[int]) -> Strip:
    """A table's row as Textual's Markdown draws it: `│` in the border's colour, a space in the
    default foreground, the cell's text, padding."""
    parts: list[Segment] = []
    for text, width in zip(cells, widths, strict=True):
        parts += [Segment("│", BORDER), Segment(" ", BLANK), Segment(text.ljust(width), TEXT)]
    parts.append(Segment("│", BORDER))
    strip = Strip(parts)
    return strip.extend_cell_length(W, BLANK).crop(0, W)


def random_table_row(rng: random.Random) -> Strip:
    widths = [rng.randint(2, 8) for _ in range(rng.randint(2, 4))]
    words = ["".join(rng.choice("abc ") for _ in range(rng.randint(0, w))) for w in widths]
    strip = table_row(words, widths)
    if rng.random() < 0.3:  # spaces that show their look, among the others
        at = rng.randint(0, W - 4)
        style = rng.choice(STYLES[12:])
        strip = Strip.join([strip.crop(0, at), Strip([Segment("   ", style)]), strip.crop(at + 3)])
    return strip


@pytest.mark.parametrize("repeat", [False, True], ids=["cells", "rep"])
def test_random_frames_look_the_same_as_textual_output(repeat: bool) -> None:
    rng = random.Random(1234)
    shadow = TerminalShadow(Repeats.ALL if repeat else Repeats.NONE)
    shadow.resize(W, H)
    rows = [random_row(rng) for _ in range(H)]
    ours: list[str] = []
    theirs: list[str] = []
    for _ in range(150):
        action = rng.random()
        if action < 0.4:  # edit a few rows, of any looks or of a table's
            for y in rng.sample(range(H), rng.randint(1, 3)):
                rows[y] = random_row(rng) if rng.random() < 0.5 else random_table_row(rng)
        elif action < 0.7:  # scroll the middle block
            k = rng.randint(1, 4)
            rows[1:-1] = rows[1 + k : -1] + [random_row(rng) for _ in range(k)]
        elif action < 0.85:  # scroll down
            k = rng.randint(1, 3)
            rows[1:-1] = [random_row(rng) for _ in range(k)] + rows[1 : -1 - k]
        update = full(rows)
        theirs.append(update.render_segments(Console()))
        ours.append(shadow.diff(update, ColorSystem.TRUECOLOR))
    assert cells(screen_of(*ours)) == cells(screen_of(*theirs))
    assert sum(map(len, ours)) < sum(map(len, theirs)) / 2


def test_a_new_look_sends_only_what_differs_and_leaves_nothing_over() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    first = shadow.diff(full([row("x", STYLES[1])] * H), ColorSystem.TRUECOLOR)  # bold red
    rows = [row("x", STYLES[1])] * H
    rows[0] = row("y", STYLES[0])
    out = shadow.diff(full(rows), ColorSystem.TRUECOLOR)
    # Bold off and white text; the black background stays as it is.
    assert out.startswith("\x1b[1H\x1b[22;37my")
    screen = screen_of(first, out)
    assert not screen.buffer[0][0].bold and screen.buffer[0][0].fg == "white"
    # A look that cannot be reached by turning things off is a reset.
    assert sgr_change("1;2;3;31", "2") == "\x1b[0;2m"
    assert sgr_change("53;31", "31") == "\x1b[0;31m"  # no "off" code used for overline
    assert sgr_change("38;2;1;2;3;48;2;4;5;6", "38;2;1;2;3") == "\x1b[49m"


def sgr_sequences(out: str) -> list[str]:
    return re.findall(r"\x1b\[[0-9;]*m", out)


def test_a_table_row_is_written_a_colour_at_a_time() -> None:
    """A streamed table's row moves its borders as a column widens: the borders are written
    together in their colour, the text in its own, and the space after a border in whatever
    foreground the terminal has (its own foreground does not show)."""
    shadow = TerminalShadow()
    shadow.resize(W, H)
    before = [table_row(["a", "25", "arrives"], [4, 4, 8])] + [row("", BLANK)] * (H - 1)
    after = [table_row(["ab", "25", "arrives so"], [5, 5, 10])] + [row("", BLANK)] * (H - 1)
    first = shadow.diff(full(before), ColorSystem.TRUECOLOR)
    out = shadow.diff(full(after), ColorSystem.TRUECOLOR)
    expected = screen_of(
        full(before).render_segments(Console()), full(after).render_segments(Console())
    )
    assert cells(screen_of(first, out)) == cells(expected)
    # A change to the text's colour and one to the border's at most, not two per border.
    assert len(sgr_sequences(out)) <= 2, repr(out)
    assert "39" not in "".join(sgr_sequences(out))
    # (In screen order, with each space in its own foreground: 145 bytes, 9 colour changes.)
    assert len(out) < 100, repr(out)


def test_a_space_written_in_a_borrowed_colour_keeps_its_own_in_the_shadow() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    rows = [table_row(["x", "y"], [3, 3])] + [row("", BLANK)] * (H - 1)
    first = shadow.diff(full(rows), ColorSystem.TRUECOLOR)
    assert "39" not in "".join(sgr_sequences(first))  # (each space took the border's colour)
    # The space after the first border becomes text of the default foreground: written in it.
    rows[0] = Strip.join([rows[0].crop(0, 1), Strip([Segment("z", BLANK)]), rows[0].crop(2)])
    out = shadow.diff(full(rows), ColorSystem.TRUECOLOR)
    assert out.endswith("\x1b[39mz"), repr(out)
    screen = screen_of(first, out)
    assert screen.buffer[0][1].data == "z" and screen.buffer[0][1].fg == "default"


def test_spaces_that_show_their_look_keep_it() -> None:
    """A reverse or underlined space shows its foreground: it is written in its own."""
    shadow = TerminalShadow()
    shadow.resize(W, H)
    rows = [Strip([Segment("ab", TEXT), Segment("  ", STYLES[12]), Segment("  ", STYLES[13])])]
    rows += [row("", BLANK)] * (H - 1)
    out = shadow.diff(full(rows), ColorSystem.TRUECOLOR)
    screen = screen_of(out)
    assert screen.buffer[0][2].reverse and screen.buffer[0][2].fg == "e0e0e0"
    assert screen.buffer[0][4].underscore and screen.buffer[0][4].fg == "3e4044"
    assert cells(screen) == cells(screen_of(full(rows).render_segments(Console())))


def test_a_row_of_a_few_colours_is_still_written_in_one_run() -> None:
    """Reordering only where it saves bytes: a word in bold within a line is one run, with the
    bold turned on and off, not the line in two pieces and the word written after."""
    shadow = TerminalShadow()
    shadow.resize(W, H)
    shadow.diff(full([row("", TEXT)] * H), ColorSystem.TRUECOLOR)
    bold = Style(color="#e0e0e0", bgcolor="#101010", bold=True)
    line = Strip([Segment("some ", TEXT), Segment("bold", bold), Segment(" text", TEXT)])
    out = shadow.diff(full([line] + [row("", TEXT)] * (H - 1)), ColorSystem.TRUECOLOR)
    assert out == "\x1b[1Hsome \x1b[1mbold\x1b[22m text"
    assert shadow.last_runs == 1


def test_blank_rows_beside_a_scrollbar_are_written_a_background_at_a_time() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    before = [row("x" * W, TEXT) for _ in range(H)]
    bar = Style(bgcolor="#00020b")
    after = [Strip([Segment(" " * (W - 1), BLANK), Segment(" ", bar)]) for _ in range(H)]
    first = shadow.diff(full(before), ColorSystem.TRUECOLOR)
    out = shadow.diff(full(after), ColorSystem.TRUECOLOR)
    assert len(sgr_sequences(out)) <= 2, repr(out)  # (screen order: two per row)
    expected = screen_of(
        full(before).render_segments(Console()), full(after).render_segments(Console())
    )
    assert cells(screen_of(first, out)) == cells(expected)


def test_a_column_of_cells_is_written_with_short_moves() -> None:
    """A scrollbar's thumb moving: one cell per row, each reached from the one above by a row
    down and a backspace (4 bytes) instead of a full cursor position (up to 8)."""
    shadow = TerminalShadow()
    shadow.resize(W, H)
    before = [row("x" * (W - 2) + "|", TEXT) for _ in range(H)]
    after = [row("x" * (W - 2) + ("#" if y < H // 2 else "|"), TEXT) for y in range(H)]
    first = shadow.diff(full(before), ColorSystem.TRUECOLOR)
    out = shadow.diff(full(after), ColorSystem.TRUECOLOR)
    assert out == "\x1b[1;39H#" + "\x1b[B\b#" * (H // 2 - 1)
    expected = screen_of(
        full(before).render_segments(Console()), full(after).render_segments(Console())
    )
    assert cells(screen_of(first, out)) == cells(expected)


def test_a_frame_is_split_only_where_that_saves_the_sync_markers_too() -> None:
    """A list item's bullet in its colour before text in the terminal's colour: writing the
    text first and the bullet after would save a colour change (19 bytes) but cost a move and
    the markers of synchronized output that a frame of one run goes without (16 bytes)."""
    shadow = TerminalShadow()
    shadow.resize(W, H)
    shadow.diff(full([row("", TEXT)] * H), ColorSystem.TRUECOLOR)
    bullet = Style(color="#d86787", bgcolor="#101010")
    line = Strip([Segment("• ", bullet), Segment("a passive", TEXT)])
    out = shadow.diff(full([line] + [row("", TEXT)] * (H - 1)), ColorSystem.TRUECOLOR)
    assert shadow.last_runs == 1, repr(out)
    assert out == "\x1b[1H\x1b[38;2;216;103;135m• \x1b[38;2;224;224;224ma passive"


def test_a_run_of_one_character_is_sent_once_and_repeated_by_the_terminal() -> None:
    """Where the terminal repeats characters: a table's rule, a code block's background."""
    shadow = TerminalShadow(Repeats.ALL)
    shadow.resize(W, H)
    rule = "├" + "─" * (W - 2) + "┤"
    out = shadow.diff(full([row(rule)] + [row("")] * (H - 1)), ColorSystem.TRUECOLOR)
    assert "─\x1b[37b┤" in out and "─" * 6 not in out
    assert " \x1b[39b" in out  # the blank rows: a space and REP
    reference = full([row(rule)] + [row("")] * (H - 1)).render_segments(Console())
    assert cells(screen_of(out)) == cells(screen_of(reference))
    assert len(out.encode()) < len(reference.encode()) / 4
    # Not for a short run, nor for a wide character (terminals differ on REP of those).
    assert with_repeats("ab" + "c" * 5) == "abccccc"
    assert with_repeats("日" * 8) == "日" * 8


def test_a_terminal_that_repeats_only_ascii_gets_rep_only_for_ascii() -> None:
    """tmux before 3.5 repeats the last ASCII character after a non-ASCII one (repeat_probe)."""
    text = "─" * 10 + " " * 10
    assert with_repeats(text, Repeats.ASCII) == "─" * 10 + " \x1b[9b"
    assert with_repeats(text, Repeats.ALL) == "─\x1b[9b \x1b[9b"
    assert with_repeats(text, Repeats.NONE) == text
    shadow = TerminalShadow(Repeats.ASCII)
    shadow.resize(W, H)
    rule = "├" + "─" * (W - 2) + "┤"
    out = shadow.diff(full([row(rule)] + [row("")] * (H - 1)), ColorSystem.TRUECOLOR)
    assert "─" * (W - 2) in out
    reference = full([row(rule)] + [row("")] * (H - 1)).render_segments(Console())
    assert cells(screen_of(out)) == cells(screen_of(reference))


def test_resize_and_forget_repaint_everything() -> None:
    shadow = TerminalShadow()
    shadow.resize(W, H)
    rows = [row("x") for _ in range(H)]
    shadow.diff(full(rows), ColorSystem.TRUECOLOR)
    shadow.forget()
    assert len(shadow.diff(full(rows), ColorSystem.TRUECOLOR)) > W * H
    shadow.resize(W + 1, H)
    assert shadow.rows[0][0][0].startswith("\x00")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_every_frame_of_the_app_looks_the_same_through_the_shadow(
    make_app: Any, fake_ollama: FakeOllama, size: tuple[int, int]
) -> None:
    """Chat with a streamed Markdown reply, a toast, the Select overlay, the command palette and
    a dialog, then the Models, RAG, Tools and Monitor tabs: every frame on the way, as the
    shadow writes it and as Textual writes it, gives the same screen."""
    app = make_app()
    check = OutputCheck(app, compositor=False)
    check.install()
    try:
        async with app.run_test(size=size, notifications=True) as pilot:
            await run_every_screen(app, fake_ollama, pilot)
    finally:
        check.uninstall()
    assert check.mismatches == []
    assert check.frames > 40  # the session did go through the shadow
    assert check.shadow_bytes < check.textual_bytes / 2


def test_the_shadow_knows_which_cells_it_has_written() -> None:
    """(The REP probe goes with the first frame that writes the cells it draws on.)"""
    shadow = TerminalShadow()
    shadow.resize(W, H)
    assert not shadow.known(0, 4)
    chops = [{0: None} for _ in range(H)]
    chops[5] = {0: row("abc")}
    shadow.diff(ChopsUpdate(chops, [(5, 0, W)], [[W] for _ in range(H)]), ColorSystem.TRUECOLOR)
    assert shadow.known(5, 4) and not shadow.known(0, 4)  # a frame of other rows
    shadow.diff(full([row("x")] * H), ColorSystem.TRUECOLOR)
    assert shadow.known(0, 4)
    shadow.forget()
    assert not shadow.known(0, 4)
