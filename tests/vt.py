"""pyte, the VT emulator the tests and benchmarks read the app's output with, plus REP (`CSI n b`:
the last character drawn, n more times), which pislm sends where the terminal has shown it repeats
characters (`repeat_probe`) and pyte 0.8 does not know. Use `Screen` and `ByteStream` /
`Stream` from here instead of pyte's."""

from __future__ import annotations

import pyte


class Screen(pyte.Screen):
    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.last_drawn = ""

    def draw(self, data: str) -> None:
        super().draw(data)
        if data:
            self.last_drawn = data[-1]

    def repeat_last(self, count: int = 1, *_: int, **__: object) -> None:
        """REP: draw the last character drawn `count` more times (xterm, ECMA-48 8.3.103)."""
        if self.last_drawn:
            self.draw(self.last_drawn * max(count, 1))


class Stream(pyte.Stream):
    csi = {**pyte.Stream.csi, "b": "repeat_last"}


class ByteStream(pyte.ByteStream):
    csi = {**pyte.ByteStream.csi, "b": "repeat_last"}
