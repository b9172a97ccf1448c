"""The scrolling list of messages, anchored to its end: new content keeps the end in view
until the reader scrolls up, and from the moment they scroll back to the end it follows again
(Textual's anchor). A streaming reply reserves a page of blank space below its text and grows
a page at a time (see `reply_markdown`), so the view moves on by pages, not by lines: the text
does not crawl up under the reader, and the terminal is not redrawn for every new line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll

if TYPE_CHECKING:
    from pislm_tui.widgets.message_view import AssistantMessage


# The part of the view a page turn moves on (two thirds: the last third stays for context).
PAGE_FRACTION = 2 / 3


class ChatLog(VerticalScroll):
    DEFAULT_CSS = """
    ChatLog {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;  /* the text keeps its width when the scrollbar appears */
        /* At least the height of the view: anchoring a shorter list would push it down. */
        #chat-messages { height: auto; min-height: 100%; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Vertical(id="chat-messages")

    @property
    def messages(self) -> Vertical:
        """The container of the message widgets."""
        return self.query_one("#chat-messages", Vertical)

    def on_mount(self) -> None:
        self.anchor()

    @property
    def page_lines(self) -> int:
        return max(3, int(self.scrollable_content_region.height * PAGE_FRACTION))

    @property
    def following(self) -> bool:
        return self.scroll_y >= self.max_scroll_y

    def follow(self, reply: AssistantMessage) -> None:
        """At a flush, on the frame the flush before it made: when the end of the text has
        reached the end of the reserved space, reserve more."""
        if not self.following:
            return
        markdown = reply.markdown
        if markdown.text_bottom() >= markdown.region.bottom:
            markdown.reserve_more()
