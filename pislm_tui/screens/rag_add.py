"""`AddDocumentsScreen`: which files or folder to add to which collection, with a folder tree to
pick from, path completion, and the chunking settings. Dismisses with an `AddRequest`, or None
when cancelled. Nothing is read here: the tab's ingest does that."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import Suggester
from textual.widgets import Button, DirectoryTree, Input, Static

from pislm_tui.backend.errors import UsageError
from pislm_tui.rag.records import check_name
from pislm_tui.screens.dialog import Dialog


@dataclass(frozen=True, slots=True)
class AddRequest:
    collection: str
    paths: tuple[Path, ...]
    embed_model: str
    chunk_size: int
    overlap: int


class PathSuggester(Suggester):
    """Completes the last path component from the file system (listing runs off the loop)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value or value.endswith(" "):
            return None
        return await asyncio.to_thread(_complete, value)


def _complete(value: str) -> str | None:
    path = Path(os.path.expanduser(value))
    folder, stem = (path, "") if value.endswith("/") else (path.parent, path.name)
    try:
        names = sorted(e.name for e in os.scandir(folder) if not e.name.startswith("."))
    except OSError:
        return None
    for name in names:
        if name.startswith(stem) and name != stem:
            done = value + name[len(stem) :]
            return done + "/" if (folder / name).is_dir() else done
    return None


class _DocTree(DirectoryTree):
    """A folder tree with plain-text icons (emoji widths vary between terminals) and no hidden
    entries."""

    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "
    ICON_FILE = "  "

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")]


class AddDocumentsScreen(Dialog[AddRequest | None]):
    DEFAULT_CSS = """
    AddDocumentsScreen {
        & > Vertical { width: 76; border: thick $primary; }
        #add-title { text-style: bold; }
        .add-row { height: 1; margin-top: 1; }
        .add-label { width: auto; padding-right: 1; color: $text-muted; }
        .add-row Input { width: 1fr; background: $background; }
        .add-row Input:focus { background: $boost; }
        #add-chunk, #add-overlap { width: 8; }
        #add-tree { height: 7; margin-top: 1; background: $background; }
        #add-error { color: $error; height: auto; max-height: 2; }
        #add-buttons { height: 1; margin-top: 1; align-horizontal: right; }
        #add-buttons Button { margin-left: 2; height: 1; }
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="rag.add_cancel")]

    def __init__(
        self,
        collection: str,
        embed_model: str,
        chunk_size: int,
        overlap: int,
        *,
        start: Path | None = None,
    ) -> None:
        super().__init__()
        self._collection = collection
        self._embed_model = embed_model
        self._chunk_size = chunk_size
        self._overlap = overlap
        self._start = start or Path.home()

    def compose(self) -> ComposeResult:
        with Vertical(id="add-box"):
            yield Static("Add documents", id="add-title")
            with Horizontal(classes="add-row"):
                yield Static("Collection", classes="add-label")
                yield Input(self._collection, id="add-collection", compact=True)
                yield Static(" Embedding model", classes="add-label")
                yield Input(
                    self._embed_model,
                    id="add-model",
                    compact=True,
                    tooltip="A collection keeps the model it was built with",
                )
            with Horizontal(classes="add-row"):
                yield Static("File or folder", classes="add-label")
                yield Input(
                    placeholder="~/notes  (→ completes; or pick below)",
                    id="add-path",
                    compact=True,
                    suggester=PathSuggester(),
                )
            yield _DocTree(self._start, id="add-tree")
            with Horizontal(classes="add-row"):
                yield Static("Chunk size", classes="add-label")
                yield Input(str(self._chunk_size), id="add-chunk", compact=True, type="integer")
                yield Static(" Overlap", classes="add-label")
                yield Input(str(self._overlap), id="add-overlap", compact=True, type="integer")
            yield Static("", id="add-error", markup=False)
            with Horizontal(id="add-buttons"):
                yield Button("Cancel", id="add-no", compact=True)
                yield Button("Add", id="add-yes", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#add-path", Input).focus()

    @on(DirectoryTree.FileSelected)
    @on(DirectoryTree.DirectorySelected)
    def _picked(self, event: DirectoryTree.FileSelected | DirectoryTree.DirectorySelected) -> None:
        event.stop()
        path = str(event.path)
        home = str(Path.home())
        if path.startswith(home + os.sep):
            path = "~" + path[len(home) :]
        self.query_one("#add-path", Input).value = path

    @on(Input.Submitted)
    @on(Button.Pressed, "#add-yes")
    def _submit(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        try:
            request = self._request()
        except UsageError as exc:
            self.query_one("#add-error", Static).update(Content(str(exc)))
            return
        self.dismiss(request)

    def _request(self) -> AddRequest:
        collection = check_name(self.query_one("#add-collection", Input).value.strip())
        model = self.query_one("#add-model", Input).value.strip()
        if not model:
            raise UsageError("say which embedding model to use", "e.g. nomic-embed-text")
        raw = self.query_one("#add-path", Input).value.strip()
        if not raw:
            raise UsageError("choose a file or folder to add")
        path = Path(raw).expanduser()
        if not path.exists():
            raise UsageError(f"no such file or folder: {raw}")
        try:
            chunk = int(self.query_one("#add-chunk", Input).value)
            overlap = int(self.query_one("#add-overlap", Input).value or 0)
        except ValueError:
            raise UsageError("chunk size and overlap are whole numbers of characters") from None
        if chunk < 50:
            raise UsageError("the chunk size must be at least 50 characters")
        if not 0 <= overlap < chunk:
            raise UsageError("the overlap must be at least 0 and less than the chunk size")
        return AddRequest(collection, (path,), model, chunk, overlap)

    @on(Button.Pressed, "#add-no")
    def _no(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
