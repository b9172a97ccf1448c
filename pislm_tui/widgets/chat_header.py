"""The Chat tab's top line: the model picker, the chat's title (the live figures in its place
while a reply streams) and the context gauge.

The tab sets the reactives; each watcher redraws only its own part, and the title and figures
without a layout pass (same size: the figures change once a second while a reply streams).
Setting a value the line already shows redraws nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.css.query import NoMatches
from textual.reactive import var
from textual.widgets import Select, Static

# (label, model name) pairs and the model chosen
Picker = tuple[tuple[tuple[str, str], ...], str | None]


class ChatHeader(Horizontal):
    DEFAULT_CSS = """
    ChatHeader {
        height: 1;
        padding: 0 1;
        background: $panel;
        #chat-model { width: 30; }
        #chat-title {
            width: 1fr; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
        }
        #chat-context { width: auto; padding: 0 1; color: $text-muted; }
        &.-live #chat-title { color: $text-accent; }
    }
    """

    title: var[str] = var("", init=False)
    # The live figures of the reply arriving, shown in the title's place; "" when none streams.
    live: var[str] = var("", init=False, toggle_class="-live")
    gauge: var[tuple[str, str | None]] = var(("", None), init=False)  # text, tooltip
    picker: var[Picker] = var(((), None), init=False)

    def compose(self) -> ComposeResult:
        yield Select([], prompt="no model", compact=True, id="chat-model")
        yield Static(id="chat-title", markup=False)
        yield Static(id="chat-context", markup=False)

    def watch_title(self, title: str) -> None:
        if not self.live:
            self._show(Content(title))

    def watch_live(self, live: str) -> None:
        self._show(live or Content(self.title))

    def _show(self, text: str | Content) -> None:
        self.query_one("#chat-title", Static).update(text, layout=False)

    def watch_gauge(self, gauge: tuple[str, str | None]) -> None:
        label = self.query_one("#chat-context", Static)
        label.update(gauge[0])
        label.tooltip = gauge[1]

    def watch_picker(self, picker: Picker) -> None:
        choices, model = picker
        # A worker can end while the app closes and the picker (or its overlay) is already
        # gone: nothing to show then.
        try:
            select = self.query_one("#chat-model", Select)
            with select.prevent(Select.Changed):
                select.set_options([(Content(label), name) for label, name in choices])
                if model in (name for _, name in choices):
                    select.value = model
        except NoMatches:
            return
