"""The compositor patch renders partial updates from fewer lines; what it paints must be exactly
what Textual's own code paints. Both run on the same dirty regions of a real screen, and a
terminal emulator compares the results: on a layout of Statics with arbitrary dirty regions, and
on every screen of the real app (tests/output_equivalence.py) at 80x24 and 120x40."""

from __future__ import annotations

import random
from typing import Any

import pyte
import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Region
from textual.widgets import Footer, Label, Static

from pislm_tui.textual_compat import compositor as compositor_patch
from tests.fake_ollama import FakeOllama
from tests.output_equivalence import OutputCheck, run_every_screen

W, H = 60, 20


class Nested(App):
    CSS = """
    #left { width: 20; border: round $primary; }
    #right { border: heavy $secondary; padding: 1; }
    Static { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Label("title line")
        with Horizontal():
            with Vertical(id="left"):
                for i in range(8):
                    yield Static(f"left {i} " * 2, id=f"l{i}")
            with VerticalScroll(id="right"):
                for i in range(12):
                    yield Static(f"right paragraph {i} " * 3, id=f"r{i}")
        yield Footer()


def paint(update_text: str, screen: pyte.Screen) -> None:
    pyte.Stream(screen).feed(update_text)


def cells(screen: pyte.Screen) -> list[list[tuple[str, str, str, bool]]]:
    return [
        [(c.data, c.fg, c.bg, c.bold) for c in (screen.buffer[y][x] for x in range(W))]
        for y in range(H)
    ]


async def test_patched_partial_updates_paint_the_same_cells() -> None:
    original_render = compositor_patch.ORIGINAL_RENDER_PARTIAL_UPDATE
    patched_render = compositor_patch.render_partial_update
    console = Console(width=W, height=H, color_system="truecolor", force_terminal=True)
    rng = random.Random(7)
    app = Nested()
    async with app.run_test(size=(W, H)) as pilot:
        await pilot.pause()
        compositor = app.screen._compositor
        base = compositor.render_update(full=True).render_segments(console)
        for _ in range(40):
            widget = app.query_one(f"#{rng.choice('lr')}{rng.randint(0, 7)}", Static)
            widget.update(f"changed {rng.random():.6f} " * rng.randint(1, 3))
            await pilot.pause()
            # A few arbitrary dirty regions on top of what the update itself marked.
            regions = {
                Region(
                    rng.randint(0, W - 5),
                    rng.randint(0, H - 3),
                    rng.randint(1, 20),
                    rng.randint(1, 3),
                )
                for _ in range(rng.randint(1, 4))
            }
            compositor._dirty_regions.update(regions)
            dirty = set(compositor._dirty_regions)
            theirs = original_render(compositor)
            compositor._dirty_regions.update(dirty)
            ours = patched_render(compositor)
            screen_a, screen_b = pyte.Screen(W, H), pyte.Screen(W, H)
            paint(base, screen_a)
            paint(base, screen_b)
            if theirs is not None:
                paint(theirs.render_segments(console), screen_a)
            if ours is not None:
                paint(ours.render_segments(console), screen_b)
            assert cells(screen_a) == cells(screen_b)
            base = compositor.render_update(full=True).render_segments(console)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_every_screen_of_the_app_paints_the_same_cells(
    make_app: Any, fake_ollama: FakeOllama, size: tuple[int, int]
) -> None:
    """Chat with a streamed Markdown reply, a toast, the Select overlay, the command palette and
    a dialog, then the Models, RAG, Tools and Monitor tabs: every partial update on the way."""
    app = make_app()
    check = OutputCheck(app, shadow=False)
    check.install()
    try:
        async with app.run_test(size=size, notifications=True) as pilot:
            await run_every_screen(app, fake_ollama, pilot)
    finally:
        check.uninstall()
    assert check.mismatches == []
    assert check.partial_updates > 40  # the session did go through the patch


class Blocks(App):
    """Blocks with a blank line between them, in a container with no padding: what a reply looks
    like (Markdown blocks and their margins) to the compositor."""

    CSS = """
    #blocks { height: auto; }
    #blocks > Static { height: 2; margin-bottom: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(id="blocks"):
            for i in range(5):
                yield Static(f"block {i}\nsecond line", id=f"b{i}")


async def test_a_container_behind_its_children_renders_only_the_gaps_between_them() -> None:
    """All the rows change (as when a reply scrolls): the blocks render their rows, and the
    container only the blank line below each block, not the rows its children cover."""
    app = Blocks()
    async with app.run_test(size=(W, H)) as pilot:
        await pilot.pause()
        container = app.query_one("#blocks")
        rows: list[tuple[str, int]] = []
        for widget in (container, *container.children):
            render = widget.render_lines

            def counted(crop: Region, widget: Any = widget, render: Any = render) -> Any:
                rows.append((widget.id, crop.height))
                return render(crop)

            widget.render_lines = counted  # type: ignore[method-assign]
        compositor = app.screen._compositor
        compositor._dirty_regions.add(Region(0, 0, W, 15))
        assert compositor_patch.render_partial_update(compositor) is not None
        rendered = {name: sum(n for who, n in rows if who == name) for name, _ in rows}
        assert rendered == {"blocks": 5, **{f"b{i}": 2 for i in range(5)}}
