"""Reading Textual's compositor updates (reach "compositor.updates" in guard.py): what a frame
paints, as pieces of rows, for `display.TerminalShadow`. Textual keeps these classes in a private
module; their fields are what Textual's own `render_segments` reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from rich.segment import Segment
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.geometry import Region

from pislm_tui.textual_compat.guard import missing_live, usable

__all__ = ["ChopsUpdate", "CompositorUpdate", "LayoutUpdate", "readable", "update_pieces"]

Cell = TypeVar("Cell")
Piece = tuple[int, int, list[Any]]  # (y, x, cells)


def update_pieces(
    update: CompositorUpdate, cells_of: Callable[[Iterable[Segment]], list[Cell]]
) -> list[tuple[int, int, list[Cell]]] | None:
    """(y, x, cells) for everything `update` paints; None for an update of another kind (the
    caller passes it through as Textual would)."""
    pieces: list[tuple[int, int, list[Cell]]] = []
    if isinstance(update, LayoutUpdate):
        x = update.region.x
        for y, line in enumerate(update.strips, update.region.y):
            cells: list[Cell] = []
            for strip in line:
                cells.extend(cells_of(strip))
            pieces.append((y, x, cells))
        return pieces
    if isinstance(update, ChopsUpdate):
        chops, ends_by_line = update.chops, update.chop_ends
        for y, x1, x2 in update.spans:
            for end, (x, strip) in zip(ends_by_line[y], chops[y].items(), strict=False):
                if strip is None or x >= x2 or end <= x1:
                    continue
                start = max(x, x1)
                stop = min(end, x2)
                if start > x or stop < end:  # only the part of the chop in the span
                    strip = strip.crop(start - x, stop - x)
                pieces.append((y, start, cells_of(strip)))
        return pieces
    return None


def readable() -> list[str]:
    """What keeps the shadow from reading this Textual's updates ([] when it can): the guard,
    then each field on a live update of both kinds."""
    if not usable("compositor.updates"):
        return ["compositor updates"]
    try:
        probes = [ChopsUpdate([], [], []), LayoutUpdate([], Region(0, 0, 0, 0))]
    except TypeError as exc:  # the constructors changed
        return [f"compositor updates ({exc})"]
    return [name for probe in probes for name in missing_live(probe, "compositor.updates")]
