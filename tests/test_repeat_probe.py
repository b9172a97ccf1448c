"""The REP probe (`repeat_probe.py`): the app asks the terminal itself whether it repeats
characters, as three kinds of terminal answer it: one that repeats any character (xterm, VTE,
kitty...), one without REP (mosh, PuTTY, pyte as it comes), one that repeats the last ASCII
character instead of a non-ASCII one (tmux before 3.5)."""

from __future__ import annotations

import re

import pyte
import pytest

from pislm_tui.repeat_probe import PROBE, RepeatProbe, Repeats
from tests import vt


class TmuxBefore35(vt.Screen):
    """REP repeats the last ASCII character drawn (tmux's `ictx->last` was set for ASCII only)."""

    def draw(self, data: str) -> None:
        pyte.Screen.draw(self, data)
        ascii_chars = [c for c in data if c.isascii()]
        if ascii_chars:
            self.last_drawn = ascii_chars[-1]


class WithoutRep(vt.Screen):
    def repeat_last(self, count: int = 1, *_: int, **__: object) -> None:
        pass  # the sequence is read and ignored, as pyte 0.8 and mosh do


def verdict_of(screen: vt.Screen) -> Repeats | None:
    replies: list[str] = []
    screen.write_process_input = replies.append
    vt.Stream(screen).feed(PROBE)
    probe = RepeatProbe()
    verdict = None
    for reply in replies:
        match = re.fullmatch(r"\x1b\[(\d+);(\d+)R", reply)
        assert match is not None, reply
        verdict = probe.answer(int(match[2]) - 1, int(match[1]) - 1)
    assert probe.done
    return verdict


@pytest.mark.parametrize(
    ("screen", "expected"),
    [
        (vt.Screen(80, 24), Repeats.ALL),
        (WithoutRep(80, 24), Repeats.NONE),
        (TmuxBefore35(80, 24), Repeats.ASCII),
    ],
    ids=["repeats-all", "no-rep", "tmux-before-3.5"],
)
def test_the_probe_tells_terminals_apart(screen: vt.Screen, expected: Repeats) -> None:
    assert verdict_of(screen) == expected


def test_only_the_first_two_reports_count() -> None:
    probe = RepeatProbe()
    assert probe.answer(3, 0) is None
    assert probe.answer(4, 0) == Repeats.ALL
    assert probe.answer(1, 0) is None  # a later report (someone else's question) changes nothing
