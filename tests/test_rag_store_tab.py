"""The RAG tab and its store, with a real `chroma run` server (rag.chroma_url): while the store is
still opening (the network to the server hangs) the app keeps running and the keys that need the
store say so; when the server goes down, the store's error is shown and Ollama is not re-checked
for it (the store's outage is not the model server's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, TabbedContent

from pislm_tui.app import PislmApp
from pislm_tui.rag.session import STILL_OPENING
from pislm_tui.screens.dialog import ConfirmScreen
from pislm_tui.screens.rag_add import AddDocumentsScreen
from pislm_tui.tabs.rag import RagTab
from pislm_tui.widgets.rag_collections import RagCollections
from tests.fake_ollama import FakeOllama
from tests.helpers import screen_text, wait_for
from tests.rag_helpers import CHROMA, ChromaServer, StallingLink
from tests.test_rag_tab import app_for, load_demo, message

MakeApp = Callable[..., PislmApp]
pytestmark = pytest.mark.skipif(CHROMA is None, reason="the `chroma` executable is not installed")


def notified(app: PislmApp, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def test_keys_that_need_the_store_say_it_is_still_opening_while_the_app_runs_on(
    make_app: MakeApp, tmp_path: Path
) -> None:
    server = ChromaServer(tmp_path / "chroma")
    link = StallingLink(server.port)
    try:
        app = app_for(make_app, rag={"chroma_url": link.url})
        link.stall()  # the store's server does not answer: opening waits
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.models, pilot=pilot, what="the model list")

            def opening_tab() -> RagTab | None:
                if app.query_one("#tabs", TabbedContent).active != "rag":
                    app.show_tab("rag")  # again if the Chat tab took the focus back
                    return None
                tab = next(iter(app.query(RagTab)), None)
                return tab if tab is not None and tab.session.opening else None

            tab = await wait_for(opening_tab, pilot=pilot, timeout=20, what="the store opening")
            await wait_for(lambda: "Opening the document store…" in screen_text(app), pilot=pilot)
            app.query_one("#rag-collections", OptionList).focus()
            for key in ("a", "d", "r"):  # add files, the demo, open again: not yet
                app.clear_notifications()
                await pilot.press(key)
                await wait_for(lambda: notified(app, STILL_OPENING), pilot=pilot, what=key)
                assert not isinstance(app.screen, AddDocumentsScreen)
            await pilot.press("slash", *"bees", "enter")
            assert app.query_one("#rag-question", Input).value == "bees"
            assert tab.session.opening and tab.store is None and not link.gave_up

            link.flow()
            await wait_for(lambda: "No collections yet." in message(app), pilot=pilot, timeout=20)
            assert tab.store is not None and not link.gave_up
    finally:
        link.close()
        server.stop()


async def test_a_chroma_server_that_goes_down_shows_the_stores_error_and_leaves_ollama_alone(
    make_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    server = ChromaServer(tmp_path / "chroma")
    try:
        app = app_for(make_app, rag={"chroma_url": server.url}, health_interval=600)
        async with app.run_test(size=(80, 24)) as pilot:
            tab = await load_demo(app, pilot)  # the sample goes into the server
            side = tab.query_one(RagCollections)
            await wait_for(lambda: side.selected_source is not None, pilot=pilot)
            watcher = app.watcher
            assert watcher is not None
            await wait_for(lambda: app.connection.connected and not watcher.check_pending)
            probes = len(fake_ollama.requests_to("/api/version"))
            server.stop()

            await pilot.press("enter")  # the sample's question: the store's error, in its place
            await wait_for(lambda: "cannot reach the Chroma server" in message(app), pilot=pilot)
            assert f"at {server.url} — start it with `chroma run" in message(app)
            app.query_one("#rag-sources", OptionList).focus()
            await pilot.press("x")  # removing a source: the store's error, notified
            await wait_for(lambda: isinstance(app.screen, ConfirmScreen), pilot=pilot)
            await pilot.press("y")
            await wait_for(
                lambda: notified(app, f"cannot reach the Chroma server at {server.url}"),
                pilot=pilot,
            )
            # No re-check of Ollama was asked for (its probe would be counted once it ends).
            await wait_for(lambda: not watcher.check_pending, pilot=pilot)
            assert len(fake_ollama.requests_to("/api/version")) == probes
            assert app.connection.connected and app.is_running
    finally:
        server.stop()
