"""Pick an image: type a path (Tab completes it) or pick one in the folder tree (Backspace there
goes to the parent folder). The file is read and checked (exists, is a picture) before the
dialog closes. The Chat tab attaches images with it, the Tools tab picks a photo of a city."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.suggester import Suggester
from textual.widgets import DirectoryTree, Input, Static

from pislm_tui.backend.errors import PislmError
from pislm_tui.chat.images import ImageAttachment, complete_path, load_image, looks_like_image
from pislm_tui.screens.dialog import Dialog


class PathSuggester(Suggester):
    """Completes folders and image files (the listing runs off the event loop)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)


class PathInput(Input):
    BINDINGS = [
        Binding("tab", "complete", "Complete the path", show=False, id="chat.attach_complete")
    ]

    def action_complete(self) -> None:
        before = self.value
        self.cursor_position = len(self.value)
        self.action_cursor_right()  # accepts the suggestion when there is one
        if self.value == before:
            self.screen.focus_next()


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a folder we may not read, a link loop
        return False


class ImageTree(DirectoryTree):
    """Folders and picture files only."""

    BINDINGS = [Binding("backspace", "up", "Parent folder", id="chat.attach_up")]

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p for p in paths if not p.name.startswith(".") and (looks_like_image(p) or _is_dir(p))
        ]

    def action_up(self) -> None:
        self.path = Path(self.path).parent


class AttachImageScreen(Dialog[ImageAttachment | None]):
    DEFAULT_CSS = """
    AttachImageScreen {
        & > Vertical { width: 90; height: 90%; }
        ImageTree { height: 1fr; }
        #error { color: $text-error; height: auto; }
        .hint { color: $text-muted; }
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="chat.attach_cancel")]

    def __init__(
        self, start: Path, warning: str | None = None, *, title: str = "Attach an image"
    ) -> None:
        """`start`: the folder the tree shows first (the home folder if it is not one);
        `warning`: shown from the start (e.g. the model cannot read images)."""
        super().__init__()
        self.start = start if _is_dir(start) else Path.home()
        self.warning = warning
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            yield PathInput(
                placeholder="path to a PNG, JPEG, GIF, WebP or BMP file",
                suggester=PathSuggester(),
                id="path",
            )
            yield ImageTree(self.start, id="tree")
            yield Static(self.warning or "", id="error", markup=False)
            yield Static(
                "Enter attach · Tab complete · ↓ browse the folder · Esc cancel", classes="hint"
            )

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._load_image(event.value.strip())

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._load_image(str(event.path))

    @on(DirectoryTree.DirectorySelected)
    def _folder(self, event: DirectoryTree.DirectorySelected) -> None:
        path = self.query_one("#path", Input)
        path.value = str(event.path).rstrip("/") + "/"

    def on_key(self, event: object) -> None:
        if getattr(event, "key", "") == "down" and self.query_one("#path", Input).has_focus:
            self.query_one("#tree", ImageTree).focus()

    @work(exclusive=True, group="attach")
    async def _load_image(self, path: str) -> None:
        error = self.query_one("#error", Static)
        try:
            image = await asyncio.to_thread(load_image, path)
        except PislmError as exc:
            error.update(str(exc))
            return
        self.dismiss(image)

    def action_cancel(self) -> None:
        self.dismiss(None)
