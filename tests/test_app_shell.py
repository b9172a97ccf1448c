"""The app shell: status line, connection watching, tabs, palette, keys, SSH mode."""

from __future__ import annotations

import socket
import time

from textual.command import CommandList, CommandPalette
from textual.widgets import Input, TabbedContent

from pislm_tui.app import PislmApp
from pislm_tui.config import load_settings
from tests.chat_helpers import chat_ready
from tests.fake_ollama import FakeOllama
from tests.helpers import screen_text, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_status_line_shows_connection_version_and_models(
    make_app, fake_ollama: FakeOllama
) -> None:
    app = make_app()
    started = time.monotonic()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=5)
        elapsed = time.monotonic() - started
        text = screen_text(app)
        assert "connected" in text and "Ollama 0.33.0" in text
        assert f"{len(fake_ollama.models)} models" in text
        assert fake_ollama.url.removeprefix("http://") in text
        assert elapsed < 5
        # the first chat model (embedders are skipped), once the server has said it can chat
        await wait_for(lambda: app.current_model == "llama3.2:1b", pilot=pilot, timeout=5)


async def test_unreachable_then_server_comes_up(isolated_home) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    loaded = load_settings(overrides={"host": url, "health_backoff_max": 0.5})
    app = PislmApp(loaded)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: app.connection.status == "unreachable", pilot=pilot)
        # The banner is drawn on the frame after the state changes.
        await wait_for(lambda: "ollama serve" in screen_text(app), pilot=pilot)
        text = screen_text(app)
        assert f"cannot reach Ollama at {url}" in text
        assert "ollama serve" in text and "OLLAMA_HOST" in text
        with FakeOllama(port=port).start():
            await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=10)
            await wait_for(lambda: "Ollama 0.33.0" in screen_text(app), pilot=pilot)
            text = screen_text(app)
            assert "● Ollama 0.33.0" in text or "connected · Ollama 0.33.0" in text
            assert "cannot reach" not in text  # the banner is gone


async def test_tabs_switch_with_keys_and_palette(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        tabs = app.query_one(TabbedContent)
        assert tabs.active == "chat"
        await pilot.press("f5")
        assert tabs.active == "tools"
        await pilot.press("alt+2")
        assert tabs.active == "models"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Tab: Monitor")
        await wait_for(lambda: "Tab: Monitor" in screen_text(app), pilot=pilot)
        await pilot.press("enter")
        await wait_for(lambda: tabs.active == "monitor", pilot=pilot)


async def test_model_choice_from_the_palette(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot)
        assert "nomic-embed-text:latest" not in app.chat_models()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Model: gemma2")
        await wait_for(lambda: "Model: gemma2:2b" in screen_text(app), pilot=pilot)
        await pilot.press("enter")
        await wait_for(lambda: app.current_model == "gemma2:2b", pilot=pilot)
        await wait_for(lambda: "gemma2:2b" in screen_text(app).splitlines()[0], pilot=pilot)


async def test_f1_toggles_the_keys_panel(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        await wait_for(lambda: app.screen.query("HelpPanel"), pilot=pilot)
        await pilot.press("f1")
        await wait_for(lambda: not app.screen.query("HelpPanel"), pilot=pilot)


def keys_panel_lines(app: PislmApp) -> list[str]:
    """The F1 panel's lines as on screen (the right part of the screen, from its left edge)."""
    panel = app.screen.query_one("HelpPanel")
    left, top, width, height = panel.region
    lines = screen_text(app).splitlines()[top : top + height]
    return [line[left : left + width].strip(" ▏") for line in lines]


def first_line(lines: list[str], *needles: str) -> int:
    return next(i for i, line in enumerate(lines) if all(n in line for n in needles))


async def test_f1_lists_the_focused_tabs_keys_first(make_app) -> None:
    app = make_app(monitor={"show_strip": False})
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("f1")
        await wait_for(lambda: app.screen.query("HelpPanel"), pilot=pilot)
        await wait_for(lambda: "Regenerate" in screen_text(app), pilot=pilot)
        lines = keys_panel_lines(app)
        assert lines[0] == "Chat"
        # The chat's own keys, also those the footer leaves out, first and all on screen.
        chat_keys = [
            first_line(lines, "^r", "Regenerate"),
            first_line(lines, "^t", "Thinking on/off"),
            first_line(lines, "^g", "Export to"),  # "Markdown" wraps at 80 columns
            first_line(lines, "^b", "Copy"),
            first_line(lines, "^n", "New chat"),
        ]
        assert max(chat_keys) < first_line(lines, "Everywhere") < first_line(lines, "f2", "Chat")
        assert not any("Cursor" in line for line in lines)  # the prompt's editing keys: last
        # Another tab: its keys at the top of the panel at once.
        await pilot.press("f3")
        await wait_for(lambda: keys_panel_lines(app)[0] == "Models", pilot=pilot)
        lines = keys_panel_lines(app)
        assert first_line(lines, "p", "Pull") < first_line(lines, "Everywhere")
        await pilot.press("f1")
        await wait_for(lambda: not app.screen.query("HelpPanel"), pilot=pilot)


async def test_f1_puts_the_editing_keys_last_and_shows_remapped_keys(make_app) -> None:
    app = make_app(monitor={"show_strip": False}, keys={"chat.regenerate": "f12"})
    async with app.run_test(size=(120, 40)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("f1")
        await wait_for(lambda: "Regenerate" in screen_text(app), pilot=pilot)
        lines = keys_panel_lines(app)
        assert first_line(lines, "f12", "Regenerate") < first_line(lines, "Everywhere")
        assert not any("^r" in line and "Regenerate" in line for line in lines)
        editing = first_line(lines, "Moving and editing")
        assert first_line(lines, "f6", "Monitor") < editing < first_line(lines, "Cursor")


async def test_the_palettes_keys_command_opens_the_same_panel(make_app) -> None:
    app = make_app(monitor={"show_strip": False})
    async with app.run_test(size=(100, 30)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("ctrl+p")
        await wait_for(lambda: isinstance(app.screen, CommandPalette), pilot=pilot)
        await pilot.press(*"Keys")
        hits = app.screen.query_one(CommandList)
        await wait_for(lambda: hits.highlighted is not None, pilot=pilot)
        await pilot.press("enter")
        await wait_for(lambda: app.screen.query("HelpPanel"), pilot=pilot)
        await wait_for(lambda: keys_panel_lines(app)[0] == "Chat", pilot=pilot)


async def test_bindings_can_be_remapped(make_app) -> None:
    app = make_app(keys={"app.tab_rag": "f9"})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f9")
        assert app.query_one(TabbedContent).active == "rag"


async def test_ssh_mode_turns_off_cursor_blink(make_app) -> None:
    app = make_app(ssh=True)
    assert app.animation_level == "none"
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        field = await wait_for(lambda: app.screen.query(Input).first(), pilot=pilot)
        await wait_for(lambda: field.has_focus, pilot=pilot)
        await wait_for(lambda: field.cursor_blink is False, pilot=pilot)


async def test_invalid_config_is_reported_and_app_runs(
    fake_ollama: FakeOllama, isolated_home
) -> None:
    config = isolated_home / ".config/pislm/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'host = "{fake_ollama.url}"\nread_timeout = -4\n')
    app = PislmApp(load_settings())
    async with app.run_test(size=(100, 30)) as pilot:
        notes = await wait_for(lambda: list(app._notifications), pilot=pilot)
        assert any("line 2: read_timeout" in n.message for n in notes)
        await wait_for(lambda: app.connection.connected, pilot=pilot)


async def test_the_settled_heap_is_kept_out_of_full_collections_and_handed_back_at_exit(
    make_app,
) -> None:
    """Start-up's objects live for the whole run: once connected they are frozen, so a full
    collection during a reply does not walk them (settled_heap.py); a tab built later joins
    them; on exit they go back to the collector."""
    import gc

    assert gc.get_freeze_count() == 0
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: gc.get_freeze_count() > 0, pilot=pilot, timeout=10)
        assert app.connection.status != "connecting"
        settled = gc.get_freeze_count()
        await pilot.press("f6")  # Monitor: built on its first show
        await wait_for(lambda: app.heap.freezes >= 2, pilot=pilot)
        assert gc.get_freeze_count() > settled
    assert gc.get_freeze_count() == 0
