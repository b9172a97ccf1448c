"""Images attached to the next prompt, one chip each (`photo.jpg · 1.2 MB ✕`); a click on the
chip (or Enter on it) removes it."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from pislm_tui.chat.images import ImageAttachment


class ImageChip(Static, can_focus=True):
    DEFAULT_CSS = """
    ImageChip {
        width: auto;
        height: 1;
        margin: 0 1 0 0;
        padding: 0 1;
        background: $boost;
        color: $foreground;
        &:focus { background: $accent 40%; }
        &:hover { background: $accent 25%; }
    }
    """
    BINDINGS = [Binding("enter,delete,backspace", "remove", "Remove image", id="chat.remove_image")]

    class Removed(Message):
        def __init__(self, chip: ImageChip) -> None:
            super().__init__()
            self.chip = chip

    def __init__(self, image: ImageAttachment) -> None:
        super().__init__(Content(f"🖼 {image.label} ✕"), markup=False)
        self.image = image
        self.tooltip = str(image.path)

    def on_click(self) -> None:
        self.action_remove()

    def action_remove(self) -> None:
        self.post_message(self.Removed(self))


class ImageChips(HorizontalScroll):
    """Hidden while empty (no line taken from the chat)."""

    DEFAULT_CSS = """
    ImageChips {
        height: 1;
        padding: 0 1;
        scrollbar-size: 0 0;
        display: none;
        &.-has-images { display: block; }
    }
    """

    class Removed(Message):
        """A chip was removed (the focus may have gone with it)."""

    @property
    def images(self) -> list[ImageAttachment]:
        return [chip.image for chip in self.query_children(ImageChip)]

    async def add(self, image: ImageAttachment) -> None:
        if any(chip.image.path == image.path for chip in self.query_children(ImageChip)):
            return
        await self.mount(ImageChip(image))
        self.add_class("-has-images")

    async def clear(self) -> None:
        await self.remove_children()
        self.remove_class("-has-images")

    async def on_image_chip_removed(self, event: ImageChip.Removed) -> None:
        event.stop()
        chips = list(self.query_children(ImageChip))
        index = chips.index(event.chip)
        await event.chip.remove()
        rest = list(self.query_children(ImageChip))
        if rest:
            rest[min(index, len(rest) - 1)].focus()
        else:
            self.remove_class("-has-images")
        self.post_message(self.Removed())
