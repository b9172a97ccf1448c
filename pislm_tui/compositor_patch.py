"""Make Textual's partial screen updates cost what they change.

For a partial update Textual takes the bounding box of everything that changed, then asks every
widget overlapping that box to render *all* of its lines, and keeps the lines it needs. With a
one-line status strip at the top and a reply growing in the middle, that box is most of the
screen, and every container on the way renders all of itself, several times a second while a
reply streams. On a Pi busy running the model that is most of the app's CPU.

Two changes, both inside `Compositor`, neither visible to widgets:
- dirty rows are grouped into bands (rows close together), and each band is rendered on its own;
- a widget renders only the rows of the band it overlaps (whole rows: Textual cuts lines at
  widget edges, so a band must not start between two edges).

The result is the same set of cells (checked by `tests/test_compositor_patch.py` against the
unpatched compositor), computed from far fewer lines. Pinned to Textual 8 (see pyproject)."""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip

# Rows at most this far apart are rendered together (one band).
_BAND_GAP = 2

_original_get_renders = Compositor._get_renders
_installed = False


def _get_renders(
    self: Compositor, crop: Region | None = None
) -> Iterable[tuple[Region, Region, list[Strip]]]:
    if crop is None or crop == self.size.region:
        yield from _original_get_renders(self, crop)
        return
    crop_overlaps = crop.overlaps
    for widget, (region, clip) in list(self.visible_widgets.items()):
        if not crop_overlaps(clip):
            continue
        clip = clip.intersection(crop)
        x, y, width, height = region.intersection(clip)
        if width and height:
            yield (
                region,
                clip,
                widget.render_lines(Region(x - region.x, y - region.y, width, height)),
            )


def _render_partial_update(self: Compositor) -> ChopsUpdate | None:
    update_regions = self._dirty_regions.copy()
    self._dirty_regions.clear()
    if not update_regions:
        return None
    screen_region = self.size.region
    spans = list(self._regions_to_spans(update_regions))
    rendered_lines = {y for y, _, _ in spans}
    is_rendered_line = rendered_lines.__contains__

    # Bands of nearby dirty rows.
    bands: list[tuple[int, int]] = []  # first and last row
    for y in sorted(rendered_lines):
        if bands and y - bands[-1][1] <= _BAND_GAP:
            bands[-1] = (bands[-1][0], y)
        else:
            bands.append((y, y))

    chops: list = [{} for _ in range(len(self.cuts))]
    for y1, y2 in bands:
        crop = Region(0, y1, screen_region.width, y2 - y1 + 1).intersection(screen_region)
        if not crop:
            continue
        band_chops = self._render_chops(crop, is_rendered_line)
        for y in range(crop.y, crop.bottom):
            if y in rendered_lines:
                chops[y] = band_chops[y]
    chop_ends = [cut_set[1:] for cut_set in self.cuts]
    return ChopsUpdate(chops, spans, chop_ends)


def install() -> None:
    """Patch `Compositor` (idempotent)."""
    global _installed
    if _installed:
        return
    Compositor._get_renders = _get_renders  # type: ignore[method-assign]
    Compositor.render_partial_update = _render_partial_update  # type: ignore[method-assign]
    _installed = True
