"""Snapshots of the RAG tab at 80x24 and 120x40: the empty state, the bee-facts sample with
retrieved chunks and a streamed answer, the add-documents dialog, and the offer to pull a
missing embedding model. Time is pinned (the tab's clock steps a fixed amount per reading), the
fake's figures are deterministic, and the folder tree shows a home folder of fixed name."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Static

from pislm_tui.app import PislmApp
from pislm_tui.config import load_settings
from pislm_tui.screens.rag_add import AddDocumentsScreen
from pislm_tui.screens.rag_pull import EmbedModelPullScreen
from pislm_tui.tabs.rag import RagTab
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text, without_animations
from tests.test_rag_tab import shown_tab, wait_for

SIZES = [(80, 24), (120, 40)]
ANSWER = (
    "Bees tell each other with the **waggle dance** [1]: the angle of the run shows the "
    "direction of the food relative to the sun, and its length the distance.\n\n"
    "- direction: the angle to the vertical\n"
    "- distance: the length of the run"
)


def snapshot_app(server: FakeOllama) -> PislmApp:
    loaded = load_settings(overrides={"host": server.url, "monitor": {"show_strip": False}})
    return without_animations(PislmApp(loaded))


async def open_tab(pilot: Any) -> RagTab:
    app = pilot.app
    await wait_for(lambda: app.models and list(app.query("ChatTab")), pilot=pilot)
    tab: RagTab = await wait_for(lambda: shown_tab(app), pilot=pilot, timeout=20)
    tab.clock = itertools.count(100.0, 0.25).__next__  # every reading 0.25 s after the last
    await wait_for(lambda: "Collections" in screen_text(app), pilot=pilot)
    return tab


def message(pilot: Any) -> str:
    return str(pilot.app.query_one("#rag-message", Static).content)


async def settle(pilot: Any) -> None:
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False  # a blinking cursor is drawn or not depending on the moment
    pilot.app.clear_notifications()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_empty(snap_compare: Any, snapshot_ollama: FakeOllama, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await open_tab(pilot)
        await wait_for(lambda: "No collections yet." in message(pilot), pilot=pilot)
        await settle(pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sample_answered(
    snap_compare: Any, snapshot_ollama: FakeOllama, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await open_tab(pilot)
        app.query_one("#rag-collections", OptionList).focus()
        await pilot.press("d")
        await wait_for(lambda: "Added to bee-facts" in message(pilot), pilot=pilot)
        snapshot_ollama.script(Reply(text=ANSWER))
        await pilot.press("enter")
        await wait_for(lambda: "tok/s" in screen_text(app), pilot=pilot)
        await settle(pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_add_dialog(
    snap_compare: Any,
    snapshot_ollama: FakeOllama,
    size: tuple[int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "snapshot-home"
    for folder in ("notes", "papers", "recipes"):
        (home / folder).mkdir(parents=True)
    (home / "todo.md").write_text("- buy honey\n")
    monkeypatch.setenv("HOME", str(home))  # the tree starts at home: a name that never changes

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await open_tab(pilot)
        # The tab behind the dialog shows (at 120x40) what the store said once opened.
        await wait_for(lambda: "No collections yet." in message(pilot), pilot=pilot)
        await pilot.press("a")
        screen = await wait_for(
            lambda: isinstance(app.screen, AddDocumentsScreen) and app.screen, pilot=pilot
        )
        await wait_for(lambda: "recipes" in screen_text(app), pilot=pilot)
        screen.query_one("#add-path").value = "~/notes"
        await settle(pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pull_offer(snap_compare: Any, snapshot_ollama: FakeOllama, size: tuple[int, int]) -> None:
    snapshot_ollama.remove_model("nomic-embed-text:latest")

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await open_tab(pilot)
        app.query_one("#rag-collections", OptionList).focus()
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, EmbedModelPullScreen), pilot=pilot)
        await settle(pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)
