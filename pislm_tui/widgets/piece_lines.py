"""A block of lines drawn through Textual's Line API, for monitor views that change every
second. Each line is a list of (text, role) pieces; a role names a component class
(`piece-lines--<role>`) whose colours come from the theme. On an update only the lines whose
pieces changed are marked dirty, so a frame carries just those lines, and no markup or Content
is parsed on the way (several times cheaper than re-rendering a Static)."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

Piece = tuple[str, str]  # (text, role); role "" is the widget's own style
Line = tuple[Piece, ...]

ROLES = ("muted", "bold", "accent", "accent-bold", "fill", "track", "history", "warning", "error")


class PieceLines(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"piece-lines--{role}" for role in ROLES}
    DEFAULT_CSS = """
    PieceLines { height: auto; }
    PieceLines > .piece-lines--muted { color: $text-muted; }
    PieceLines > .piece-lines--bold { text-style: bold; }
    PieceLines > .piece-lines--accent { color: $accent; }
    PieceLines > .piece-lines--accent-bold { color: $accent; text-style: bold; }
    PieceLines > .piece-lines--fill { color: $success; background: $panel; }
    PieceLines > .piece-lines--track { background: $panel; }
    PieceLines > .piece-lines--history { color: $accent; }
    PieceLines > .piece-lines--warning { color: $warning; }
    PieceLines > .piece-lines--error { color: $error; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Line] = []
        self._role_styles: dict[str, Style] = {}
        self._styles_theme: str | None = None

    @property
    def lines(self) -> list[Line]:
        return self._lines

    @property
    def plain(self) -> str:
        return "\n".join("".join(text for text, _ in line) for line in self._lines)

    def set_lines(self, lines: list[Line]) -> None:
        """Show `lines`; repaint only the ones that differ from what is shown."""
        old = self._lines
        self._lines = lines
        if len(lines) != len(old):
            self.refresh(layout=True)
            return
        width = self.size.width
        for y, (new, before) in enumerate(zip(lines, old, strict=True)):
            if new != before:
                self.refresh(Region(0, y, width, 1))

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return len(self._lines)

    def _styles(self) -> dict[str, Style]:
        """Rich styles per role, worked out once per theme (Textual would redo it per frame)."""
        theme = self.app.theme
        if self._styles_theme != theme:
            base = self.rich_style
            styles = {"": base}
            for role in ROLES:
                styles[role] = base + self.get_component_rich_style(f"piece-lines--{role}")
            self._role_styles, self._styles_theme = styles, theme
        return self._role_styles

    def render_line(self, y: int) -> Strip:
        styles = self._styles()
        base = styles[""]
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width, base)
        segments = [Segment(text, styles[role]) for text, role in self._lines[y] if text]
        return Strip(segments).crop_extend(0, width, base)
