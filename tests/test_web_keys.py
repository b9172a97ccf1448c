"""Every action has a way that needs no key a browser keeps (Ctrl+N, Ctrl+T, Ctrl+W) or a phone's
keyboard lacks (Esc, Ctrl, F-keys): the palette lists the actions of the tab on screen, and a tap
beside a dialog closes it as Esc does. Pilot tests; the browser itself: tests/test_web_browser.py."""

from __future__ import annotations

from typing import Any

from textual.command import CommandList, CommandPalette
from textual.widgets import Input, TabbedContent

from pislm_tui.screens.chat_sessions import SessionsScreen
from pislm_tui.screens.chat_settings import ChatSettingsScreen
from tests.chat_helpers import chat_ready, chat_tab, reply_ended, send, wait_for


def hits(app: Any) -> int:
    """How many entries the open palette lists."""
    return app.screen.query_one(CommandList).option_count


async def palette_pick(pilot: Any, text: str) -> list[str]:
    """Open the palette by clicking the footer's "palette" (a tap on a phone), type `text`,
    and return what it lists before Enter runs the first hit."""
    app = pilot.app
    await pilot.click("Footer", offset=(app.size.width - 4, 0))
    await wait_for(lambda: isinstance(app.screen, CommandPalette), pilot=pilot, what="palette")
    await pilot.press(*text)
    await wait_for(lambda: hits(app) > 0, pilot=pilot, what="palette hits")
    listed = [str(o.prompt) for o in app.screen.query_one(CommandList).options]
    await pilot.press("enter")
    await wait_for(lambda: not isinstance(app.screen, CommandPalette), pilot=pilot, what="close")
    return listed


async def test_chat_actions_that_a_browser_keeps_are_in_the_palette(make_app: Any) -> None:
    """Ctrl+N (new chat) and Ctrl+T (thinking) never reach a page in Chromium; the palette runs
    the same actions, and lists only what can run now."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        first = chat.conversation
        await send(pilot, "hello")
        await reply_ended(app, pilot)
        listed = await palette_pick(pilot, "chat: new")
        assert any("Chat: New chat" in line for line in listed), listed
        await wait_for(
            lambda: chat.conversation is not first and not chat.conversation.messages,
            pilot=pilot,
            what="a new chat",
        )
        # every Chat action with a key that is not typed text is in the palette, when it can run
        await send(pilot, "again")
        await reply_ended(app, pilot)
        await pilot.click("Footer", offset=(app.size.width - 4, 0))
        await wait_for(lambda: isinstance(app.screen, CommandPalette), pilot=pilot)
        await pilot.press(*"chat:")
        await wait_for(lambda: hits(app) > 5, pilot=pilot, what="the Chat actions")
        listed = [str(o.prompt) for o in app.screen.query_one(CommandList).options]
        for action in ("Regenerate", "New chat", "Chats", "Settings", "Thinking on/off", "Copy"):
            assert any(f"Chat: {action}" in line for line in listed), (action, listed)
        assert not any("Stop reply" in line for line in listed)  # nothing to stop now
        await pilot.press("escape")


async def test_tools_panes_without_f_keys(make_app: Any) -> None:
    """F7-F9 switch the Tools panes; a phone has no F-keys: the palette has them, and the
    panes' own tabs are clickable."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await pilot.click("#tabs Tab#--content-tab-tools")
        await wait_for(lambda: app.active_tab == "tools" and app.query("#tools-panes"), pilot=pilot)
        panes = app.query_one("#tools-panes", TabbedContent)
        await palette_pick(pilot, "tools: tool calling")
        await wait_for(lambda: panes.active == "tools-calls", pilot=pilot, what="calls pane")
        await pilot.click("#tools-panes Tab#--content-tab-tools-where")
        await wait_for(lambda: panes.active == "tools-where", pilot=pilot, what="where pane")


async def test_a_tap_beside_a_dialog_closes_it_as_esc_does(make_app: Any) -> None:
    """The saved chats have no Cancel button: on a phone (no Esc) a tap beside the dialog is
    the way out (at a size where there is room beside it; a narrow screen is all dialog)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await chat_ready(app, pilot)
        await send(pilot, "hello")
        await reply_ended(app, pilot)
        await palette_pick(pilot, "chat: chats")
        await wait_for(lambda: isinstance(app.screen, SessionsScreen), pilot=pilot, what="chats")
        await pilot.click(offset=(1, 1))  # beside the dialog
        await wait_for(lambda: not isinstance(app.screen, SessionsScreen), pilot=pilot)
        assert chat_tab(app).conversation is not None


async def test_a_tap_inside_a_dialog_keeps_it_and_its_esc_meaning(make_app: Any) -> None:
    """Chat settings: a tap on the dialog itself does nothing; beside it, it cancels (its Esc)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await chat_ready(app, pilot)
        await palette_pick(pilot, "chat: settings")
        await wait_for(lambda: isinstance(app.screen, ChatSettingsScreen), pilot=pilot)
        dialog = app.screen
        await pilot.click(Input)  # on the dialog
        await pilot.pause()
        assert app.screen is dialog
        await pilot.click(offset=(0, 0))  # beside it
        await wait_for(lambda: app.screen is not dialog, pilot=pilot, what="settings closed")
