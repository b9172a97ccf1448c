"""Make Textual's partial screen updates cost what they change.

For a partial update Textual takes the bounding box of everything that changed, then asks every
widget overlapping that box to render *all* of its lines, and keeps the lines it needs. With a
one-line status strip at the top and a reply growing in the middle, that box is most of the
screen, and every container on the way renders all of itself, several times a second while a
reply streams. On a Pi busy running the model that is most of the app's CPU.

One method of `Compositor` is replaced; widgets see no difference:
- dirty rows are grouped into bands (rows close together), and each band is rendered on its own;
- a widget renders only the rows of the band it overlaps;
- widgets are visited front to back, and a widget renders only the rows where the update still
  has an empty cell in it: a container behind its children renders the gaps between them (block
  margins), and one with no gap left (a panel beside the changed text) is not rendered at all.
  The other lines would be thrown away.

The result is the same set of cells (checked by `tests/test_compositor_patch.py` against the
unpatched compositor), computed from far fewer lines.

Reach "compositor.partial_update" in guard.py: the method is replaced only while a pislm app
with fast output runs (`enable`), only on a verified Textual, and put back when it ends."""

from __future__ import annotations

from itertools import pairwise

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip

from pislm_tui.textual_compat.guard import missing_live, usable

# Rows at most this far apart are rendered together (one band).
_BAND_GAP = 2
# Rows of one widget at most this far apart are rendered in one call (a call to render a few
# rows costs more than the rows themselves).
_RUN_GAP = 1

# Textual's own method: put back by `enable(False)`, and what the tests compare against.
ORIGINAL_RENDER_PARTIAL_UPDATE = Compositor.render_partial_update


def _render_chops(
    self: Compositor, crop: Region, needed: dict[int, set[int]]
) -> list[dict[int, Strip | None]]:
    """Textual's `_render_chops` for the rows in `needed` (row -> the cuts that an update span
    touches), rendering a widget only on the rows where one of those cuts is still empty."""
    cuts = self.cuts
    chops: list[dict[int, Strip | None]] = [{} for _ in cuts]
    for row in needed:
        chops[row] = dict.fromkeys(cuts[row][:-1])
    crop_overlaps = crop.overlaps
    for widget, (region, clip) in list(self.visible_widgets.items()):  # front to back
        if not crop_overlaps(clip):
            continue
        render_region = region.intersection(clip.intersection(crop))
        x, _y, width, height = render_region
        if not (width and height):
            continue
        first_cut, last_cut = render_region.column_span
        # The rows where one of its cuts is still empty: a container behind its children shows
        # only in the gaps between them (block margins), so it renders those rows alone.
        rows = [
            row
            for row in render_region.line_range
            if row in needed
            and any(chops[row][cut] is None for cut in needed[row] if last_cut > cut >= first_cut)
        ]
        if not rows:
            continue  # nothing of it would show: covered, or outside what changed
        for run_first, run_last in _runs(rows, _RUN_GAP):
            strips = widget.render_lines(
                Region(x - region.x, run_first - region.y, width, run_last - run_first + 1)
            )
            for row, strip in zip(range(run_first, run_last + 1), strips, strict=False):
                if row not in needed:
                    continue
                chops_line = chops[row]
                final_cuts = [cut for cut in cuts[row] if last_cut >= cut >= first_cut]
                pieces = strip.divide([cut - x for cut in final_cuts[1:]])
                for cut, piece in zip(final_cuts, pieces, strict=False):
                    if chops_line.get(cut) is None:
                        chops_line[cut] = piece
    return chops


def _runs(rows: list[int], gap: int) -> list[tuple[int, int]]:
    """Sorted rows as runs (first, last), rows at most `gap` apart joined."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def render_partial_update(self: Compositor) -> ChopsUpdate | None:
    """`Compositor.render_partial_update`, rendering only what the update shows."""
    update_regions = self._dirty_regions.copy()
    self._dirty_regions.clear()
    if not update_regions:
        return None
    screen_region = self.size.region
    spans = list(self._regions_to_spans(update_regions))

    # For each dirty row, the cuts (pieces between widget edges) that a span touches.
    cuts = self.cuts
    needed: dict[int, set[int]] = {}
    for y, x1, x2 in spans:
        if not 0 <= y < len(cuts):
            continue
        row_cuts = cuts[y]
        touched = needed.setdefault(y, set())
        for cut, next_cut in pairwise(row_cuts):
            if cut < x2 and next_cut > x1:
                touched.add(cut)

    # Bands of nearby dirty rows, rendered one at a time.
    bands = _runs(sorted(needed), _BAND_GAP)
    chops: list = [{} for _ in range(len(cuts))]
    for y1, y2 in bands:
        crop = Region(0, y1, screen_region.width, y2 - y1 + 1).intersection(screen_region)
        if not crop:
            continue
        band = {row: needed[row] for row in range(y1, y2 + 1) if row in needed}
        band_chops = _render_chops(self, crop, band)
        for row in band:
            chops[row] = band_chops[row]
    chop_ends = [cut_set[1:] for cut_set in cuts]
    return ChopsUpdate(chops, spans, chop_ends)


def unusable() -> list[str]:
    """What keeps the patch off on this Textual ([] when it can run)."""
    if not usable("compositor.partial_update"):
        return ["Compositor.render_partial_update"]
    return [
        f"Compositor.{name}" for name in missing_live(Compositor(), "compositor.partial_update")
    ]


def enable(on: bool) -> bool:
    """Partial updates the patched way (`on`, when this Textual allows it) or Textual's own.
    Returns whether the patch is in."""
    if on and not unusable():
        Compositor.render_partial_update = render_partial_update  # type: ignore[method-assign]
        return True
    Compositor.render_partial_update = ORIGINAL_RENDER_PARTIAL_UPDATE  # type: ignore[method-assign]
    return False
