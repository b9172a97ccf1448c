"""The prompt box: a multi-line `TextArea` where Enter sends. A new line is Ctrl+J, which every
terminal sends as its own key (Shift+Enter rarely reaches a program over SSH); Alt+Enter works
too where the terminal reports it apart from Enter (terminals with the kitty keyboard protocol;
elsewhere it arrives as a plain Enter). Up on the first line and Down on the last walk through
earlier prompts."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


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
            tooltip="Ctrl+J; also Alt+Enter where the terminal reports it apart from Enter",
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

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
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
        await super()._on_key(event)

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
