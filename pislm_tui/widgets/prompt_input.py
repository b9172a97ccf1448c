"""The prompt box: a multi-line `TextArea` where Enter sends. A new line is Ctrl+J, which every
terminal sends as its own key (Shift+Enter rarely reaches a program over SSH), or Alt+Enter.
Up on the first line and Down on the last walk through earlier prompts.

Alt+Enter reaches the app in one of two forms: as its own key from terminals with the kitty
keyboard protocol, and elsewhere (most terminals, and over SSH) as ESC followed by CR, the way
terminals send Alt with any key. Textual 8 reads ESC+CR as a plain Enter (the Alt is dropped
when the pair is reissued after the escape delay), which would send the prompt; importing this
module teaches its key parser the pair (`teach_alt_enter`, through `textual_compat.keys`: on a
Textual the guard does not know, Alt+Enter there sends and Ctrl+J is the new line)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from pislm_tui.textual_compat import keys

ALT_ENTER_SEQUENCE = "\x1b\r"  # ESC CR: what Alt+Enter sends without the kitty protocol


def teach_alt_enter() -> bool:
    """Make Textual's key parser turn ESC+CR into `alt+enter` (idempotent). The table is read
    for every sequence, so this works whenever it runs. Returns whether the parser knows it."""
    return keys.teach(ALT_ENTER_SEQUENCE, "alt+enter")


teach_alt_enter()


class PromptInput(TextArea):
    BINDING_GROUP_TITLE = "Prompt"
    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        min-height: 3;
        max-height: 10;
        border: tall $border-blurred;
        padding: 0 1;
        &:focus { border: tall $border; }
        & .text-area--cursor-line { background: transparent; }
    }
    """

    BINDINGS = [
        Binding(
            "ctrl+j,alt+enter",
            "newline",
            "New line",
            tooltip="Alt+Enter works over SSH too",
            show=False,
            id="chat.newline",
        ),
    ]

    class Submitted(Message):
        def __init__(self, prompt: PromptInput, text: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.text = text

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=False,
            placeholder=placeholder,
            highlight_cursor_line=False,
        )
        self._history_source: Callable[[], Sequence[str]] | None = None
        self._history: list[str] | None = None  # newest first, loaded on first use
        self._history_pos = -1
        self._draft = ""

    def set_history_source(self, source: Callable[[], Sequence[str]]) -> None:
        """Earlier prompts (newest first), read the first time Up is pressed."""
        self._history_source = source
        self._history = None

    def remember(self, text: str) -> None:
        if self._history is not None and text.strip():
            if text in self._history:
                self._history.remove(text)
            self._history.insert(0, text)
        self._history_pos = -1

    def stash(self) -> str:
        """Empty the box; what it held goes first in the history (Up brings it back). Returns
        that text ("" when the box was empty)."""
        text = self.text
        if not text.strip():
            return ""
        if self._history is None:
            self._history = list(self._history_source()) if self._history_source else []
        self.remember(text)
        self.set_text("")
        return text

    def on_key(self, event: events.Key) -> None:
        """Before TextArea's own key handling (a class's handler runs before its base's, and
        `prevent_default` keeps the base's from running)."""
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        if not event.is_printable and self._is_newline_key(event.key):
            # Here rather than when the key reaches the bindings: a binding runs only after the
            # key has bubbled up to the app, and keys typed meanwhile (a busy Pi) would land
            # before the new line.
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        if event.key == "up" and self.cursor_location[0] == 0 and self._walk(+1):
            event.stop()
            event.prevent_default()
            return
        if (
            event.key == "down"
            and self.cursor_location[0] == self.document.line_count - 1
            and self._walk(-1)
        ):
            event.stop()
            event.prevent_default()
            return

    def _is_newline_key(self, key: str) -> bool:
        """Whether `key` is bound to the new line here (the user's `[keys]` remap included)."""
        active = self.screen.active_bindings.get(key)
        return active is not None and active.node is self and active.binding.action == "newline"

    def action_newline(self) -> None:
        start, end = self.selection
        self.replace("\n", start, end, maintain_selection_offset=False)

    def _walk(self, step: int) -> bool:
        """Move through the history; True when the key was used for it."""
        if self._history is None:
            self._history = list(self._history_source()) if self._history_source else []
        if not self._history:
            return False
        target = self._history_pos + step
        if target < -1 or target >= len(self._history):
            return False
        if self._history_pos == -1:
            self._draft = self.text
        self._history_pos = target
        self.load_text(self._draft if target == -1 else self._history[target])
        self.move_cursor(self.document.end if step < 0 else (0, len(self.document[0])))
        return True

    def set_text(self, text: str) -> None:
        """Replace the prompt (undoable) and put the cursor at its end."""
        self.load_text(text)
        self.move_cursor(self.document.end)
        self._history_pos = -1
