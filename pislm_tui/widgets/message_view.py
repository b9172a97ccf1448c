"""One message of a chat on screen. Model output is shown as Markdown (never Rich markup) after
escape codes were stripped; prompts are shown as plain text."""

from __future__ import annotations

import asyncio

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Static

from pislm_tui.chat.conversation import ChatMessage
from pislm_tui.widgets.reply_markdown import ReplyMarkdown
from pislm_tui.widgets.stats_line import StatsLine


class UserMessage(Static):
    DEFAULT_CSS = """
    UserMessage {
        margin: 1 1 1 0;
        padding: 0 1;
        border-left: outer $primary;
        background: $boost;
    }
    """

    def __init__(self, message: ChatMessage) -> None:
        text = message.content
        if message.images:
            text = (text + "\n" if text else "") + "🖼 " + ", ".join(i.label for i in message.images)
        super().__init__(Content(text or " "), markup=False)
        self.message = message


class AssistantMessage(Vertical):
    """A reply: thinking (collapsed), the Markdown answer, a note when it did not end normally,
    and its figures. While streaming, `add()` appends what arrived since the last flush."""

    DEFAULT_CSS = """
    AssistantMessage {
        height: auto;
        margin: 0 0 1 0;
        ReplyMarkdown { margin: 0; padding: 0 1 0 1; }
        .thinking {
            background: transparent;
            border: none;
            padding: 0 0 0 1;
            margin: 0 0 1 0;
            &:ansi { border-top: none; background: transparent; }
            CollapsibleTitle { color: $text-muted; padding: 0; }
            Contents { padding: 0 1 0 2; }
            Contents Static { color: $text-muted; }
        }
        .note { color: $text-warning; padding: 0 1; }
        .note.-error { color: $text-error; }
        .waiting { color: $text-muted; padding: 0 1; }
        StatsLine { padding: 0 1; }
    }
    """

    def __init__(
        self, message: ChatMessage, *, streaming: bool = False, page_lines: int = 0
    ) -> None:
        super().__init__()
        self.message = message
        self.streaming = streaming
        self.page_lines = page_lines
        self._thinking_parts: list[str] = [message.thinking] if message.thinking else []
        self._lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        message = self.message
        thinking = Collapsible(
            Static(Content(message.thinking), classes="thinking-text"),
            title=self._thinking_title(),
            collapsed=True,
            classes="thinking",
        )
        thinking.display = bool(message.thinking)
        yield thinking
        markdown = ReplyMarkdown(
            None if self.streaming else message.content,
            streaming=self.streaming,
            page_lines=self.page_lines,
        )
        if self.streaming and self.page_lines:
            # Room for the first page of the reply before any of it has arrived.
            markdown.styles.min_height = self.page_lines
        yield markdown
        note = Static(classes="note", markup=False)
        note.display = False
        yield note
        if not self.streaming:
            yield from self._figures()

    def on_mount(self) -> None:
        if not self.streaming:
            self._show_note()

    @property
    def markdown(self) -> ReplyMarkdown:
        return self.query_one(ReplyMarkdown)

    def _thinking_title(self, live: bool = False) -> str:
        words = len("".join(self._thinking_parts).split())
        return f"Thinking… ({words} words)" if live else f"Thinking ({words} words)"

    def _figures(self) -> ComposeResult:
        if self.message.stats is not None:
            yield StatsLine(
                self.message.stats, self.message.model, conditions=self.message.conditions
            )

    def _show_note(self) -> None:
        note = next(iter(self.query(".note").results(Static)), None)
        if note is None:
            return  # taken down before its mount was handled (the app quitting meanwhile)
        text = self.message.note
        note.set_class(self.message.status == "error", "-error")
        if text:
            note.update(Content(("■ " if self.message.status == "stopped" else "⚠ ") + text))
        note.display = bool(text)

    async def add(self, content: str, thinking: str) -> None:
        """Append a flush's worth of text (already cleaned of escape codes)."""
        async with self._lock:
            if thinking:
                self._thinking_parts.append(thinking)
                box = self.query_one(".thinking", Collapsible)
                if not box.display:
                    box.display = True
                if not box.collapsed:
                    self.query_one(".thinking-text", Static).update(
                        Content("".join(self._thinking_parts))
                    )
            if content:
                await self.markdown.append_text(content)

    def update_thinking_title(self) -> None:
        """Called about once a second while thinking streams (the word count moves)."""
        if self._thinking_parts:
            self.query_one(".thinking", Collapsible).title = self._thinking_title(live=True)

    def on_collapsible_expanded(self, event: Collapsible.Expanded) -> None:
        if event.collapsible.has_class("thinking"):
            self.query_one(".thinking-text", Static).update(Content("".join(self._thinking_parts)))

    async def finish(self, message: ChatMessage) -> None:
        """The reply ended (complete, stopped or cut off): final text, note and figures."""
        async with self._lock:
            self.message = message
            self.streaming = False
            markdown = self.markdown
            if markdown.source != message.content:
                await markdown.update(message.content)  # e.g. text held back by the cleaner
            await markdown.finish()
            if self._thinking_parts:
                box = self.query_one(".thinking", Collapsible)
                box.title = self._thinking_title()
                self.query_one(".thinking-text", Static).update(Content(message.thinking))
            self._show_note()
            await self.mount_all(list(self._figures()))
