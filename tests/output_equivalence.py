"""The output layers checked against Textual's own output while the real app runs.

`OutputCheck` sits in the app's output path during a Pilot session:
- every partial update is rendered twice, by Textual's own `render_partial_update` and by the
  patch (`textual_compat.compositor`), from the same dirty regions; each result is painted into
  its own terminal emulator (pyte) holding the screen so far, and the two screens must match;
- every frame the app displays is turned into Textual's bytes (`render_segments`) and into the
  terminal shadow's (`display.TerminalShadow`); each stream goes into its own emulator, and the
  two screens must match.

`run_every_screen` drives one session through every tab with the test server: a streamed
Markdown reply in Chat, a toast, the command palette and a dialog (modal screens), a `Select`
overlay, the Models, RAG, Tools and Monitor tabs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyte
from rich.color import ColorSystem
from rich.console import Console
from textual._compositor import Compositor, CompositorUpdate
from textual.app import App
from textual.widgets import Select

from pislm_tui.display import TerminalShadow
from pislm_tui.repeat_probe import Repeats
from pislm_tui.textual_compat import compositor as patch
from tests import vt
from tests.chat_helpers import chat_ready, reply_ended, send
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import patient, screen_text

wait_for = patient(30.0)  # a busy 2-core machine

MARKDOWN_REPLY = """# A heading

Some **bold**, some *italic*, `code` and a [link](https://example.com). A paragraph long enough
to wrap on a narrow screen, so that the reply grows line by line as the words arrive one by one.

- a list item
- another, with **weight**
  1. nested and numbered
  2. twice

```python
def add(a: int, b: int) -> int:
    return a + b  # a comment
```

| model | size |
|-------|------|
| llama3.2:1b | 1.3 GB |
| 日本語 | 幅 |

> a quote, and after it the end.
"""

Cells = list[list[tuple[Any, ...]]]


def feed(screen: pyte.Screen, data: str) -> None:
    vt.Stream(screen).feed(data)


def shown_fg(cell: Any) -> str | None:
    """A cell's foreground, or None for a space with no reverse, underline or strike: nothing of
    that foreground is on the screen, and the terminal shadow writes such spaces in whatever
    foreground the terminal has (`display_sgr.blank_ignores_fg`) to save colour changes. (pyte
    knows no overline, the other attribute that would show it.)"""
    if cell.data == " " and not (cell.reverse or cell.underscore or cell.strikethrough):
        return None
    return cell.fg


def cells(screen: pyte.Screen) -> Cells:
    return [
        [
            (c.data, shown_fg(c), c.bg, c.bold, c.italics, c.underscore, c.reverse, c.strikethrough)
            for c in (screen.buffer[y][x] for x in range(screen.columns))
        ]
        for y in range(screen.lines)
    ]


def first_difference(a: pyte.Screen, b: pyte.Screen) -> str:
    for y, (row_a, row_b) in enumerate(zip(cells(a), cells(b), strict=True)):
        if row_a != row_b:
            x = next(x for x, (p, q) in enumerate(zip(row_a, row_b, strict=True)) if p != q)
            return (
                f"row {y}, column {x}: Textual {row_a[x]} / ours {row_b[x]}\n"
                f"  Textual: {a.display[y]!r}\n  ours:    {b.display[y]!r}"
            )
    return "no difference"


@dataclass
class OutputCheck:
    app: App[Any]
    compositor: bool = True  # compare the patch with Textual's render_partial_update
    shadow: bool = True  # compare the terminal shadow's bytes with Textual's
    partial_updates: int = 0
    frames: int = 0
    textual_bytes: int = 0
    shadow_bytes: int = 0
    mismatches: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.console = Console(color_system="truecolor", force_terminal=True, legacy_windows=False)
        self._screens: dict[int, tuple[pyte.Screen, pyte.Screen]] = {}  # per compositor
        self._terminal: tuple[pyte.Screen, pyte.Screen] | None = None
        self._shadow = TerminalShadow(Repeats.ALL)  # (as on a terminal that repeats any character)
        self._full_update = Compositor.render_full_update

    # -- hooks -------------------------------------------------------------------------------

    def install(self) -> None:
        """After the app is built (its own start sets the compositor's method)."""
        if self.compositor:  # plain functions: the compositor comes in as `self`
            Compositor.render_partial_update = lambda c: self._partial(c)  # type: ignore[method-assign]
            Compositor.render_full_update = lambda c, simplify=False: self._full(c, simplify)  # type: ignore[method-assign]
        if self.shadow:  # in place of the app's own output (which steps aside when headless)
            self._textual_display = App._display.__get__(self.app)
            self.app._display = self._display  # type: ignore[method-assign]

    def uninstall(self) -> None:
        Compositor.render_partial_update = patch.ORIGINAL_RENDER_PARTIAL_UPDATE  # type: ignore[method-assign]
        Compositor.render_full_update = self._full_update  # type: ignore[method-assign]

    def _full(self, compositor: Compositor, simplify: bool = False) -> Any:
        update = self._full_update(compositor, simplify=simplify)
        if not simplify:  # (simplified strips are for SVG exports)
            width, height = compositor.size
            ours, theirs = vt.Screen(width, height), vt.Screen(width, height)
            text = update.render_segments(self.console)
            feed(theirs, text)
            feed(ours, text)
            self._screens[id(compositor)] = (theirs, ours)
        return update

    def _partial(self, compositor: Compositor) -> Any:
        dirty = set(compositor._dirty_regions)
        theirs = patch.ORIGINAL_RENDER_PARTIAL_UPDATE(compositor)
        compositor._dirty_regions.update(dirty)
        ours = patch.render_partial_update(compositor)
        screens = self._screens.get(id(compositor))
        if screens is None:  # a screen never painted whole: start from a blank one
            width, height = compositor.size
            screens = self._screens[id(compositor)] = (
                vt.Screen(width, height),
                vt.Screen(width, height),
            )
        screen_theirs, screen_ours = screens
        if theirs is not None:
            feed(screen_theirs, theirs.render_segments(self.console))
        if ours is not None:
            feed(screen_ours, ours.render_segments(self.console))
        self.partial_updates += 1
        if cells(screen_theirs) != cells(screen_ours):
            self.mismatches.append(
                f"partial update {self.partial_updates} ({len(dirty)} dirty regions): "
                + first_difference(screen_theirs, screen_ours)
            )
            del self._screens[id(compositor)]  # compare again from the next full update
        return ours

    def _display(self, screen: Any, renderable: Any) -> None:
        if isinstance(renderable, CompositorUpdate):
            width, height = self.app.size
            if self._terminal is None or (self._terminal[0].columns, self._terminal[0].lines) != (
                width,
                height,
            ):
                self._terminal = (vt.Screen(width, height), vt.Screen(width, height))
            self._shadow.resize(width, height)
            theirs = renderable.render_segments(self.console)
            ours = self._shadow.diff(renderable, ColorSystem.TRUECOLOR)
            if ours is None:  # a kind the shadow does not know: Textual's bytes, as the app does
                ours = theirs
                self._shadow.styles_reset()
            terminal_theirs, terminal_ours = self._terminal
            feed(terminal_theirs, theirs)
            feed(terminal_ours, ours)
            self.frames += 1
            self.textual_bytes += len(theirs.encode())
            self.shadow_bytes += len(ours.encode())
            if cells(terminal_theirs) != cells(terminal_ours):
                self.mismatches.append(
                    f"frame {self.frames} ({type(renderable).__name__}): "
                    + first_difference(terminal_theirs, terminal_ours)
                )
                self._terminal = None  # start over from the next frame's view
                self._shadow.forget()
        self._textual_display(screen, renderable)


async def run_every_screen(app: Any, server: FakeOllama, pilot: Any) -> None:
    """One session through every screen the app has (see the module's docstring)."""
    server.script(Reply(text=MARKDOWN_REPLY, rate=200))
    await chat_ready(app, pilot)
    await send(pilot, "Show me some Markdown")
    await reply_ended(app, pilot)
    await wait_for(lambda: "the end" in screen_text(app), pilot=pilot, what="the reply")

    app.notify("A toast over the chat", title="Toast", timeout=30)
    await wait_for(lambda: "A toast over the chat" in screen_text(app), pilot=pilot)

    select = app.screen.query(Select).first()
    await pilot.click(select)
    await wait_for(lambda: select.expanded, pilot=pilot, what="the Select overlay")
    await pilot.pause()
    await pilot.press("escape")
    await wait_for(lambda: not select.expanded, pilot=pilot)

    await pilot.press("ctrl+p")  # the command palette: Textual's own modal screen
    await wait_for(lambda: app.screen.id != "_default" and app.screen.is_modal, pilot=pilot)
    await pilot.press(*"theme")
    await pilot.pause(0.2)
    await pilot.press("escape")
    await wait_for(lambda: not app.screen.is_modal, pilot=pilot)

    await pilot.press("f3")
    await wait_for(lambda: "llama3.2:1b" in screen_text(app), pilot=pilot, what="the models")
    await pilot.press("p")  # the pull dialog: one of ours
    await wait_for(lambda: app.screen.is_modal, pilot=pilot, what="the pull dialog")
    await pilot.press(*"qwen")
    await pilot.pause(0.2)
    await pilot.press("escape")
    await wait_for(lambda: not app.screen.is_modal, pilot=pilot)

    await pilot.press("f4")
    await wait_for(lambda: app.active_tab == "rag", pilot=pilot)
    await pilot.pause(0.5)
    await pilot.press("f5")
    await wait_for(lambda: app.active_tab == "tools", pilot=pilot)
    await pilot.pause(0.5)
    await pilot.press("f10")  # the Function Calling tab's Scoreboard pane (a table, a bar)
    await wait_for(lambda: app.query("#score-table"), pilot=pilot)
    await pilot.pause(0.3)
    await pilot.press("f6")
    await wait_for(lambda: app.monitor_sample is not None, pilot=pilot, what="a Monitor reading")
    await pilot.pause(1.2)  # one more reading
    await pilot.press("f2")
    await wait_for(lambda: app.active_tab == "chat", pilot=pilot)
    await pilot.pause()
