"""Small traps of issue 12, item 10, driven the way the user met them: a failed prompt glued to
the next one after Ctrl+N, a silent Ctrl+T, `pislm rm` offering a pull, the TUI's "Tab" hint in
CLI errors, an all-zero digest as the model ID, and upper-case keys in the saved-chats hint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.cli import main
from pislm_tui.config import load_settings
from pislm_tui.screens.chat_sessions import SessionsScreen
from pislm_tui.widgets.prompt_input import PromptInput
from tests.chat_helpers import chat_ready, notes, reply_ended, wait_for
from tests.fake_ollama import FakeOllama, Reply
from tests.fake_ollama.catalogues import without_digests
from tests.helpers import screen_text


def app_on(server: FakeOllama, **overrides: Any) -> PislmApp:
    overrides.setdefault("monitor", {"show_strip": False})
    return PislmApp(load_settings(overrides={"host": server.url, **overrides}))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_ctrl_n_after_a_failed_prompt_starts_empty(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(status=500, error_message="the model crashed"))
    fake_ollama.script(Reply(text="# Markdown"))
    app = app_on(fake_ollama)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        prompt = app.query_one(PromptInput)
        await pilot.press(*"hello", "enter")
        await wait_for(lambda: any("the model crashed" in n for n in notes(app)), pilot=pilot)
        assert prompt.text == "hello"  # the failed prompt is given back
        await pilot.press("ctrl+n")
        await wait_for(lambda: prompt.text == "", pilot=pilot)
        assert any("↑ brings it back" in n for n in notes(app))
        await pilot.press(*"Show me markdown", "enter")
        await reply_ended(app, pilot)
        assert chat.conversation.title == "Show me markdown"
        sent = fake_ollama.requests_to("/api/chat")[-1].json
        assert sent["messages"][-1]["content"] == "Show me markdown"
        # nothing was lost: the failed prompt is in the history
        await pilot.press("up", "up")
        assert prompt.text == "hello"


async def test_ctrl_t_on_a_model_that_cannot_think_says_so(fake_ollama: FakeOllama) -> None:
    app = app_on(fake_ollama)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        await wait_for(lambda: "llama3.2:1b" in chat.pislm.model_details.known, pilot=pilot)
        await pilot.press("ctrl+t")
        await wait_for(lambda: any("cannot think" in n for n in notes(app)), pilot=pilot)
        assert chat.conversation.settings.think is None  # nothing was changed


def test_rm_of_a_model_that_is_not_there_does_not_offer_a_pull(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "rm", "nosuch", "--host", fake_ollama.url)
    assert code == 4 and out == ""
    assert "model 'nosuch' is not installed" in err and "pull" not in err
    code, _, err = run(capsys, "rm", "llama3.2", "--host", fake_ollama.url)
    assert code == 4 and "did you mean" in err and "llama3.2:1b" in err


def test_cli_errors_do_not_speak_of_the_tab_key(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.png")
    for argv in (("ask", "--image", missing, "what is it?"), ("where", "--image", missing)):
        code, _, err = run(capsys, *argv, "--host", fake_ollama.url)
        assert code == 2 and "no such file" in err and "Tab" not in err


def test_the_id_column_of_a_server_without_digests(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOllama(models=without_digests()).start() as server:
        code, out, _ = run(capsys, "models", "--host", server.url)
    assert code == 0 and "sha256" not in out and "00000" not in out
    row = next(line for line in out.splitlines() if line.startswith("llama3.2:1b "))
    assert row.split()[1] == "—"


async def test_the_saved_chats_hint_shows_the_keys_as_they_are(fake_ollama: FakeOllama) -> None:
    app = app_on(fake_ollama)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await pilot.press("ctrl+o")
        await wait_for(lambda: isinstance(app.screen, SessionsScreen), pilot=pilot)
        await wait_for(lambda: "r rename · d delete · e export" in screen_text(app), pilot=pilot)
        assert "R rename" not in screen_text(app)
