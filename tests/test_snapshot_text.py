"""The snapshot-failure printout reads a committed snapshot back as the rows a person sees."""

from __future__ import annotations

from pathlib import Path

from tests.snapshot_text import rows_that_differ, screen_rows

SNAPSHOT = Path(__file__).parent / "__snapshots__/test_rag_snapshots/test_add_dialog[80x24].svg"


def test_a_snapshot_reads_back_as_its_rows() -> None:
    rows = screen_rows(SNAPSHOT.read_text())
    assert len(rows) == 24
    assert rows[0].startswith("pislm")
    assert any("Add documents" in row for row in rows)


def test_a_changed_row_is_shown_with_its_neighbours() -> None:
    svg = SNAPSHOT.read_text()
    changed = svg.replace("snapshot-home", "elsewhere-ho")
    diff = rows_that_differ(svg, changed)
    assert "-" in diff and "+" in diff and "elsewhere-ho" in diff
    assert rows_that_differ(svg, svg).startswith("The text of every row is the same")
