"""Pick a photo: a directory tree that lists folders and image files only."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"})


class ImageTree(DirectoryTree):
    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (p.suffix.lower() in IMAGE_SUFFIXES or _is_dir(p))
        ]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a dangling link or a folder we may not read
        return False


class ImagePickerScreen(ModalScreen[Path | None]):
    DEFAULT_CSS = """
    ImagePickerScreen { align: center middle; }
    ImagePickerScreen > Vertical {
        width: 80%; min-width: 40; max-width: 100; height: 80%; min-height: 10;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ImagePickerScreen .title { text-style: bold; }
    ImagePickerScreen .hint { color: $text-muted; }
    ImagePickerScreen ImageTree { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="tools.picker_cancel"),
        Binding("backspace", "up", "Parent folder", id="tools.picker_up"),
    ]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start if _is_dir(start) else Path.home()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Pick a photo in {self.start}"), classes="title")
            yield ImageTree(self.start, id="picker-tree")
            yield Label("Enter picks · Backspace goes up · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(ImageTree).focus()

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    def action_up(self) -> None:
        tree = self.query_one(ImageTree)
        parent = Path(tree.path).parent
        tree.path = parent
        self.query_one(".title", Label).update(Text(f"Pick a photo in {parent}"))

    def action_cancel(self) -> None:
        self.dismiss(None)
