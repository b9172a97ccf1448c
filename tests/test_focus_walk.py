"""Focus after a tab switch (issue #12): however a tab is shown — F2–F6, the command palette, a
click on its label — the focus lands on the tab's main control, and the tab's keys and typing
work at once, on its first show (when its widgets are built) and every time after. Driven with
the keys a person presses, against the fake server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual import events
from textual.command import CommandList, CommandPalette
from textual.widgets import DataTable, Input, TabbedContent, Tabs

from pislm_tui.app import PislmApp
from pislm_tui.screens.chat_sessions import SessionsScreen
from pislm_tui.screens.chat_settings import ChatSettingsScreen
from pislm_tui.tabs.chat import ChatTab
from pislm_tui.tabs.models import ModelsTab
from pislm_tui.tabs.monitor import MonitorTab
from pislm_tui.tabs.rag import RagTab
from pislm_tui.tabs.tools import ToolsTab
from pislm_tui.widgets.process_table import ProcessTable
from pislm_tui.widgets.prompt_input import PromptInput
from tests.chat_helpers import chat_ready, reply_ended, send
from tests.helpers import patient, screen_text

wait_for = patient(20.0)  # a busy 2-core machine; RAG's first show opens ChromaDB

MakeApp = Callable[..., PislmApp]
Route = Callable[[Any, str], Awaitable[None]]

KEYS = {"chat": "f2", "models": "f3", "rag": "f4", "tools": "f5", "monitor": "f6"}
MAIN = {
    "chat": "#chat-prompt",
    "models": "#models-table",
    "rag": "#rag-collections",
    "tools": "#where-country",
    "monitor": "#monitor-tab",
}
TITLES = dict(PislmApp.TABS)
WALK = ["models", "rag", "tools", "monitor", "chat"]  # from Chat, the tab at start


def app_for(make_app: MakeApp) -> PislmApp:
    return make_app(monitor={"show_strip": False})


# -- the three ways to show a tab --------------------------------------------------------------


async def by_key(pilot: Any, tab: str) -> None:
    await pilot.press(KEYS[tab])


async def by_palette(pilot: Any, tab: str) -> None:
    app = pilot.app
    await pilot.press("ctrl+p")
    palette = await wait_for(lambda: isinstance(app.screen, CommandPalette) and app.screen)
    await pilot.press(*f"Tab: {TITLES[tab]}")
    hits = palette.query_one(CommandList)
    await wait_for(
        lambda: (
            hits.highlighted is not None
            and f"Tab: {TITLES[tab]}" in str(hits.get_option_at_index(hits.highlighted).prompt)
        ),
        pilot=pilot,
        what=f"the palette's hit for {tab}",
    )
    await pilot.press("enter")


async def by_click(pilot: Any, tab: str) -> None:
    await pilot.click(pilot.app.query_one("#tabs", TabbedContent).get_tab(tab))


ROUTES = {"keys": by_key, "palette": by_palette, "mouse": by_click}


# -- what each tab's main control does with a key ----------------------------------------------


async def accepts_input(app: PislmApp, pilot: Any, tab: str, word: str) -> None:
    """Press a key a person would press there (or type `word`) and see it do its work."""
    if tab == "chat":
        prompt = app.query_one(PromptInput)
        before = prompt.text
        await pilot.press(*word)
        assert prompt.text == before + word
    elif tab == "models":
        table = app.query_one("#models-table", DataTable)
        await wait_for(lambda: table.row_count >= 2, pilot=pilot, what="the models listed")
        row = table.cursor_row
        await pilot.press("down" if row < table.row_count - 1 else "up")
        assert table.cursor_row != row
    elif tab == "rag":
        # The tab's letter keys work in its list: `/` goes to the question, which takes typing.
        await pilot.press("slash")
        question = app.query_one("#rag-question", Input)
        await wait_for(lambda: app.focused is question, pilot=pilot, what="the question")
        await pilot.press(*word)
        assert question.value.endswith(word)  # (a focused Input selects what it holds)
    elif tab == "tools":
        field = app.query_one("#where-country", Input)
        await pilot.press(*word)
        assert field.value.endswith(word)
    elif tab == "monitor":
        table = app.query_one(ProcessTable)
        before = table.sort
        await pilot.press("s")
        assert table.sort != before


async def shown_with_focus(app: PislmApp, pilot: Any, tab: str) -> None:
    tabs = app.query_one("#tabs", TabbedContent)
    await wait_for(lambda: tabs.active == tab and app.active_tab == tab, pilot=pilot, what=tab)
    main = await wait_for(lambda: app.query(MAIN[tab]).first(), pilot=pilot, what=MAIN[tab])
    await wait_for(lambda: app.focused is main, pilot=pilot, what=f"focus on {MAIN[tab]}")


@pytest.mark.parametrize("route", list(ROUTES))
async def test_every_tab_gets_the_focus_on_its_main_control(make_app: MakeApp, route: str) -> None:
    show: Route = ROUTES[route]
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await wait_for(lambda: app.models, pilot=pilot, what="the model list")
        for lap, word in (("first show", "bees"), ("again", "wasps")):
            for tab in WALK:
                await show(pilot, tab)
                await shown_with_focus(app, pilot, tab)
                assert not isinstance(app.focused, Tabs), f"{tab} ({lap}): the tab bar"
                await accepts_input(app, pilot, tab, word)


# -- the steps of the issue --------------------------------------------------------------------


async def test_f3_then_f2_then_typing_goes_into_the_prompt(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("f3")
        await wait_for(lambda: app.active_tab == "models", pilot=pilot)
        await pilot.press("f2")
        await pilot.press(*"hello pi")
        assert app.query_one(PromptInput).text == "hello pi"
        footer = screen_text(app).splitlines()[-1]
        assert "New chat" in footer and "Chats" in footer  # the chat's keys, not only Quit/Keys


async def test_pressing_the_key_of_the_tab_on_screen_keeps_the_focus(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("f2", *"still here")
        assert app.query_one(PromptInput).text == "still here"


async def test_ctrl_n_o_s_work_right_after_a_tab_switch(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat: ChatTab = await chat_ready(app, pilot)
        await send(pilot, "Capital of France?")
        await reply_ended(app, pilot)
        old = chat.conversation
        assert old is not None and old.messages
        await pilot.press("f3")
        await wait_for(lambda: app.active_tab == "models", pilot=pilot)
        await pilot.press("f2", "ctrl+n")
        new_chat = await wait_for(
            lambda: chat.conversation is not old and chat.conversation, pilot=pilot, what="new"
        )
        assert not new_chat.messages and chat.query_one(PromptInput).text == ""
        for key, screen in (("ctrl+o", SessionsScreen), ("ctrl+s", ChatSettingsScreen)):
            await pilot.press("f4")
            await wait_for(lambda: app.query(RagTab), pilot=pilot)
            await pilot.press("f2", key)
            await wait_for(lambda s=screen: isinstance(app.screen, s), pilot=pilot, what=key)
            await pilot.press("escape")
            await wait_for(lambda s=screen: not isinstance(app.screen, s), pilot=pilot)


async def test_rag_letter_keys_work_right_after_f4(make_app: MakeApp) -> None:
    from pislm_tui.screens.rag_add import AddDocumentsScreen

    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("f4")
        tab = await wait_for(lambda: next(iter(app.query(RagTab)), None), pilot=pilot)
        await wait_for(lambda: tab.store is not None, pilot=pilot, what="the store open")
        # `/` goes to the question, which takes the typing.
        await pilot.press("slash", *"when")
        assert app.query_one("#rag-question", Input).value == "when"
        # Away and back: `a` opens the add dialog at once.
        await pilot.press("f2", "f4", "a")
        await wait_for(lambda: isinstance(app.screen, AddDocumentsScreen), pilot=pilot)
        await pilot.press("escape")
        await wait_for(lambda: not isinstance(app.screen, AddDocumentsScreen), pilot=pilot)
        # Away and back: `d` loads the sample.
        await pilot.press("f3", "f4", "d")
        await wait_for(
            lambda: "Added to bee-facts" in screen_text(app), pilot=pilot, what="the demo"
        )


async def test_f5_focuses_the_first_field_of_the_open_tools_pane(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("f5")
        await shown_with_focus(app, pilot, "tools")
        await pilot.press(*"Chile")
        assert app.query_one("#where-country", Input).value == "Chile"
        await pilot.press("f9")  # the Tool calling pane
        await wait_for(lambda: app.focused is app.query_one("#calls-prompt"), pilot=pilot)
        await pilot.press("f2", "f5")  # back on Tools: the open pane's first field
        await wait_for(lambda: app.active_tab == "tools", pilot=pilot)
        await wait_for(lambda: app.focused is app.query_one("#calls-prompt"), pilot=pilot)


async def test_keys_faster_than_the_app_land_on_the_last_tab(make_app: MakeApp) -> None:
    """F5 F3 F6 in one burst (as a terminal delivers keys typed fast): Monitor is shown and
    focused, and nothing of the tabs passed over takes the focus (a focus in a hidden pane
    would switch back to it: before the fix, the Tools tab's late focus did)."""
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        for key in ("f5", "f3", "f6"):
            app.post_message(events.Key(key, None))  # all queued before the first is handled
        await shown_with_focus(app, pilot, "monitor")
        await pilot.pause()  # the app and every widget idle: anything late has run
        await pilot.pause()
        assert app.active_tab == "monitor" and isinstance(app.focused, MonitorTab)
        # The tabs passed over are built when they are shown.
        await pilot.press("f5")
        await shown_with_focus(app, pilot, "tools")
        await pilot.press("f3")
        await shown_with_focus(app, pilot, "models")
        assert app.query(ToolsTab) and app.query(ModelsTab)


async def test_a_disabled_main_control_leaves_the_focus_in_the_tab(make_app: MakeApp) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        app.query_one(PromptInput).disabled = True  # as while a tab is busy
        await pilot.press("f3", "f2")
        await wait_for(lambda: app.active_tab == "chat", pilot=pilot)
        chat = app.query_one(ChatTab)
        await wait_for(lambda: app.focused is not None, pilot=pilot, what="a focus")
        assert chat in app.focused.ancestors  # type: ignore[union-attr]
        assert not isinstance(app.focused, Tabs)
