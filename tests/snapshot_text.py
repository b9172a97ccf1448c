"""When a snapshot test fails, print which rows of the screen differ, as text.

pytest-textual-snapshot writes its side-by-side report to an HTML file, which a CI log does not
show; the rows that differ are what tell a timing flake (a message not yet drawn) from a real
change. The plugin pickles (passed, expected SVG, actual SVG, …) per test, read back here."""

from __future__ import annotations

import difflib
import html
import pickle
import re
from collections import defaultdict

import pytest

# One run of text in Rich's export_svg: <text class=… x="12.2" y="20" …>content</text>
TEXT_RUN = re.compile(r'<text class="terminal-[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)</text>')


def screen_rows(svg: str) -> list[str]:
    """The screen's rows as plain text (colours and styles dropped)."""
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for x, y, text in TEXT_RUN.findall(svg):
        rows[float(y)].append((float(x), html.unescape(text).replace("\xa0", " ")))
    return ["".join(text for _, text in sorted(runs)).rstrip() for _, runs in sorted(rows.items())]


def rows_that_differ(expected_svg: str, actual_svg: str) -> str:
    expected, actual = screen_rows(expected_svg), screen_rows(actual_svg)
    if expected == actual:
        return "The text of every row is the same: the difference is in colours or styles."
    diff = difflib.unified_diff(expected, actual, "snapshot", "this run", n=1, lineterm="")
    return "\n".join(diff)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or "snap_compare" not in item.fixturenames:
        return
    try:
        from pytest_textual_snapshot import node_to_report_path

        data = pickle.loads(node_to_report_path(item).read_bytes())
    except Exception as exc:  # the plugin changed its private layout: say so, do not fail
        report.sections.append(("snapshot rows", f"(rows not available: {exc!r})"))
        return
    passed, expected_svg, actual_svg = data[0], str(data[1]), str(data[2])
    if not passed:
        report.sections.append(
            ("snapshot rows that differ", rows_that_differ(expected_svg, actual_svg))
        )
