"""The prompt box's keys: Enter sends; Ctrl+J and Alt+Enter add a line, including Alt+Enter as
the bytes a terminal sends over SSH (ESC CR), read by Textual's own key parser."""

from __future__ import annotations

from textual import events
from textual._xterm_parser import XTermParser
from textual.app import App, ComposeResult

from pislm_tui.widgets.prompt_input import ALT_ENTER_SEQUENCE, PromptInput
from tests.helpers import screen_text, wait_for


class PromptApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def compose(self) -> ComposeResult:
        yield PromptInput(id="prompt")

    def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        self.sent.append(event.text)


def parse(data: str) -> list[events.Event]:
    """What Textual's input thread makes of `data` (the end of input flushes a lone ESC)."""
    parser = XTermParser()
    tokens = list(parser.feed(data))
    tokens += list(parser.feed(""))
    return [t for t in tokens if isinstance(t, events.Event)]


def keys(data: str) -> list[str]:
    return [t.key for t in parse(data) if isinstance(t, events.Key)]


def test_the_parser_reads_esc_cr_as_alt_enter_and_leaves_other_escapes_alone() -> None:
    assert ALT_ENTER_SEQUENCE == "\x1b\r"
    assert keys("a\x1b\rb") == ["a", "alt+enter", "b"]
    assert keys("\x1b[13;3u") == ["alt+enter"]  # kitty keyboard protocol
    assert keys("\r") == ["enter"]
    assert keys("\n") == ["ctrl+j"]
    assert keys("\x1b") == ["escape"]
    assert keys("\x1bx") == ["alt+x"]
    assert keys("\x1b[A") == ["up"]


async def test_alt_enter_and_ctrl_j_add_a_line_and_enter_sends() -> None:
    app = PromptApp()
    async with app.run_test(size=(60, 12)) as pilot:
        prompt = app.query_one(PromptInput)
        await wait_for(lambda: prompt.has_focus, pilot=pilot)
        await pilot.press(*"one", "alt+enter", *"two", "ctrl+j", *"three")
        assert prompt.text == "one\ntwo\nthree"
        assert app.sent == []
        await pilot.press("enter")
        await wait_for(lambda: app.sent == ["one\ntwo\nthree"], pilot=pilot)


async def test_alt_enter_as_sent_over_ssh_adds_a_line() -> None:
    """The raw bytes of `one`, Alt+Enter (ESC CR), `two`, Enter go through Textual's parser and
    into the app the way its driver delivers them."""
    app = PromptApp()
    async with app.run_test(size=(60, 12)) as pilot:
        prompt = app.query_one(PromptInput)
        await wait_for(lambda: prompt.has_focus, pilot=pilot)
        assert app._driver is not None
        for event in parse("one\x1b\rtwo"):
            app._driver.send_message(event)
        await wait_for(lambda: prompt.text == "one\ntwo", pilot=pilot, what="two lines")
        assert app.sent == []
        for event in parse("\r"):
            app._driver.send_message(event)
        await wait_for(lambda: app.sent == ["one\ntwo"], pilot=pilot, what="sent")


async def test_the_keys_panel_tells_about_alt_enter() -> None:
    def panel_text() -> str:
        rows = [row.split("▏", 1)[1] for row in screen_text(app).splitlines() if "▏" in row]
        return " ".join(" ".join(rows).split())

    app = PromptApp()
    async with app.run_test(size=(100, 80)) as pilot:
        await wait_for(lambda: app.query_one(PromptInput).has_focus, pilot=pilot)
        app.action_show_help_panel()
        await wait_for(
            lambda: "New line Alt+Enter works over SSH too" in panel_text(),
            pilot=pilot,
            what="the F1 line of the new-line key",
        )


async def test_a_remapped_new_line_key_is_the_one_that_works() -> None:
    app = PromptApp()
    async with app.run_test(size=(60, 12)) as pilot:
        app.set_keymap({"chat.newline": "f5"})
        prompt = app.query_one(PromptInput)
        await wait_for(lambda: prompt.has_focus, pilot=pilot)
        await pilot.press("a", "ctrl+j", "b", "f5", "c")
        assert prompt.text == "ab\nc"
