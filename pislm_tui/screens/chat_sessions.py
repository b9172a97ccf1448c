"""Saved chats: search, open, rename, delete, export to Markdown. Every read and write of the
database runs off the event loop (`chat.async_store`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from pislm_tui.backend.errors import PislmError
from pislm_tui.chat.async_store import AsyncSessionStore
from pislm_tui.chat.store import SessionSummary
from pislm_tui.screens.chat_dialogs import TextPrompt
from pislm_tui.screens.dialog import ConfirmScreen, Dialog


@dataclass
class SessionsResult:
    open: int | None = None
    deleted: set[int] = field(default_factory=set)
    renamed: dict[int, str] = field(default_factory=dict)


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def session_option(summary: SessionSummary, current: bool, here: tuple[str, ...] = ()) -> Option:
    """`here`: the names of the host in use (its name, its address): a chat held with another
    host says which."""
    count = f"{summary.messages} message{'s' if summary.messages != 1 else ''}"
    host = f"on {summary.host}" if summary.host and summary.host not in here else None
    details = " · ".join(
        part for part in (count, summary.model, host, _when(summary.updated_at)) if part
    )
    marker = "● " if current else ""
    prompt = Content.assemble(
        (marker, "$accent"), Content(summary.title or "Untitled"), "\n", (details, "$text-muted")
    )
    return Option(prompt, id=str(summary.id))


class SessionsScreen(Dialog[SessionsResult]):
    DEFAULT_CSS = """
    SessionsScreen {
        & > Vertical { width: 90; height: 90%; }
        #search { margin: 0 0 1 0; }
        OptionList { height: 1fr; border: none; padding: 0; }
        .hint { color: $text-muted; padding: 1 0 0 0; }
        .empty { color: $text-muted; padding: 1; }
    }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="chat.sessions_close"),
        Binding("slash", "search", "Search", id="chat.sessions_search"),
        Binding("r", "rename", "Rename", id="chat.sessions_rename"),
        Binding("d,delete", "delete", "Delete", id="chat.sessions_delete"),
        Binding("e", "export", "Export to Markdown", id="chat.sessions_export"),
    ]

    def __init__(
        self,
        store: AsyncSessionStore,
        exports_dir: Path,
        current: int | None,
        sessions: list[SessionSummary],
    ) -> None:
        """`sessions`: the list as it opens (read before, so the first frame shows it)."""
        super().__init__()
        self.store = store
        self.exports_dir = exports_dir
        self.current = current
        self.result = SessionsResult()
        self._sessions: dict[int, SessionSummary] = {}
        self._first = sessions

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Saved chats", classes="title")
            yield Input(placeholder="Search titles and messages  (/)", id="search")
            yield OptionList(id="sessions")
            empty = Static("No saved chats yet.", classes="empty")
            empty.display = False
            yield empty
            yield Static(classes="hint", id="keys-hint", markup=False)

    # The hint's keys, read from the bindings (a `[keys]` remap included), written the way the
    # footer writes them: `r rename`, not `R` (which reads as Shift+R).
    _HINT_KEYS = (
        ("chat.sessions_rename", "rename"),
        ("chat.sessions_delete", "delete"),
        ("chat.sessions_export", "export"),
        ("chat.sessions_search", "search"),
        ("chat.sessions_close", "close"),
    )

    def on_mount(self) -> None:
        self._show(self._first, keep=str(self.current) if self.current is not None else None)
        self.query_one(OptionList).focus()
        self.query_one("#keys-hint", Static).update(self._keys_hint())

    def _keys_hint(self) -> str:
        remapped = getattr(getattr(self.app, "settings", None), "keys", None) or {}
        keys: dict[str, str] = {}
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                key = remapped.get(binding.id, binding.key).split(",")[0].strip()
                shown = self.app.get_key_display(Binding(key, binding.action))
                keys[binding.id] = shown if len(shown) == 1 else shown.capitalize()
        parts = ["Enter open"] + [
            f"{keys[binding_id]} {what}"
            for binding_id, what in self._HINT_KEYS
            if binding_id in keys
        ]
        return " · ".join(parts)

    @work(exclusive=True, group="sessions-list")
    async def _reload(self, keep: str | None = None) -> None:
        """Read the list again (the search, a rename, a delete); the last ask wins."""
        try:
            sessions = await self.store.list_sessions(self.query_one("#search", Input).value)
        except PislmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            sessions = []
        self._show(sessions, keep)

    def _show(self, sessions: list[SessionSummary], keep: str | None = None) -> None:
        query = self.query_one("#search", Input).value
        self._sessions = {s.id: s for s in sessions}
        options = self.query_one(OptionList)
        highlighted = keep or (
            options.highlighted_option.id if options.highlighted_option is not None else None
        )
        options.clear_options()
        host = getattr(self.app, "host", None)
        here = (host.name, host.url) if host is not None else ()
        options.add_options([session_option(s, s.id == self.current, here) for s in sessions])
        empty = self.query_one(".empty", Static)
        empty.update("No chat matches." if query else "No saved chats yet.")
        empty.display = not sessions
        options.display = bool(sessions)
        if sessions:
            index = next((i for i, s in enumerate(sessions) if str(s.id) == highlighted), 0)
            options.highlighted = index

    def _selected(self) -> int | None:
        option = self.query_one(OptionList).highlighted_option
        return int(option.id) if option is not None and option.id else None

    @on(Input.Changed, "#search")
    def _search(self) -> None:
        self._reload()

    @on(Input.Submitted, "#search")
    def _to_list(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        search = self.query_one("#search", Input)
        if key == "down" and search.has_focus:
            self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.result.open = int(event.option.id)
            self.dismiss(self.result)

    def action_close(self) -> None:
        self.dismiss(self.result)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Letters belong to the search box while it has the focus.
        typing = self.query_one("#search", Input).has_focus
        return not (typing and action in ("rename", "delete", "export", "search"))

    @work
    async def action_rename(self) -> None:
        session = self._selected()
        if session is None:
            return
        title = await self.app.push_screen_wait(
            TextPrompt("Rename the chat", self._sessions[session].title)
        )
        if not title:
            return
        try:
            await self.store.rename_session(session, title)
        except PislmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.result.renamed[session] = title
        self._reload(keep=str(session))

    @work
    async def action_delete(self) -> None:
        session = self._selected()
        if session is None:
            return
        title = self._sessions[session].title or "this chat"
        question = f"Delete “{title}”? This cannot be undone."
        if not await self.app.push_screen_wait(
            ConfirmScreen(question, confirm="Delete", danger=True)
        ):
            return
        try:
            await self.store.delete_session(session)
        except PislmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.result.deleted.add(session)
        self._reload()

    @work(group="sessions-export")
    async def action_export(self) -> None:
        session = self._selected()
        if session is None:
            return
        try:
            path = await self.store.export(session, self.exports_dir)
        except PislmError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        except OSError as exc:
            self.app.notify(f"cannot write the export: {exc}", severity="error", markup=False)
            return
        self.app.notify(f"Exported to {path}", title="Export", timeout=10, markup=False)
