"""Snapshots of the Chat tab and its dialogs at 80x24 and 120x40: a finished reply (Markdown with
a list and code) with its figures, thinking collapsed and a stopped reply, the saved chats, the
settings, the image picker and the copy picker. The fake server's figures are deterministic;
dates shown in the list of chats are pinned in the database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.config import Paths, load_settings
from pislm_tui.tabs.chat import ChatTab
from pislm_tui.widgets.prompt_input import PromptInput
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text, without_animations
from tests.test_chat_tab import wait_for

SIZES = [(80, 24), (120, 40)]
PINNED = 1_748_779_200.0  # 2025-06-01 12:00 UTC

ANSWER = """The capital of France is **Paris**, on the Seine.

Three facts:

- about 2.1 million people live in the city;
- the Louvre is the most visited museum;
- `RER` trains cross it.

```python
print("Bonjour, Paris!")
```"""


def snapshot_app(server: FakeOllama, **overrides: Any) -> PislmApp:
    loaded = load_settings(
        overrides={"host": server.url, "monitor": {"show_strip": False}, **overrides}
    )
    return without_animations(PislmApp(loaded))


async def ready(pilot: Any) -> ChatTab:
    app = pilot.app
    chat = app.query_one(ChatTab)
    await wait_for(lambda: app.current_model and chat.conversation is not None, pilot=pilot)
    await wait_for(
        lambda: len(chat.pislm.model_details.known) >= 6, pilot=pilot, what="model capabilities"
    )
    prompt = app.query_one(PromptInput)
    await wait_for(lambda: app.focused is prompt, pilot=pilot)
    prompt.cursor_blink = False
    return chat


async def ask(pilot: Any, chat: ChatTab, text: str, replies: int) -> None:
    pilot.app.query_one(PromptInput).set_text(text)
    await pilot.press("enter")
    await wait_for(
        lambda: (
            len([m for m in chat.conversation.messages if m.role == "assistant"]) == replies
            and not chat.streaming
        ),
        pilot=pilot,
    )


async def settle(pilot: Any) -> None:
    pilot.app.clear_notifications()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_finished_reply_with_figures(
    snap_compare: Any, snapshot_ollama: FakeOllama, size: tuple[int, int]
) -> None:
    snapshot_ollama.script(Reply(text=ANSWER))

    async def run_before(pilot: Any) -> None:
        chat = await ready(pilot)
        await ask(pilot, chat, "What is the capital of France?", 1)
        await wait_for(lambda: "/4,096 (" in screen_text(pilot.app), pilot=pilot)  # from `ps`
        await settle(pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_thinking_and_a_stopped_reply(
    snap_compare: Any, snapshot_ollama: FakeOllama, size: tuple[int, int]
) -> None:
    snapshot_ollama.script(
        Reply(thinking="The user asks for a capital. France: Paris.", text="Paris."),
        Reply(n_tokens=400, rate=40),
    )

    async def run_before(pilot: Any) -> None:
        chat = await ready(pilot)
        await ask(pilot, chat, "Capital of France?", 1)
        await wait_for(lambda: "/4,096 (" in screen_text(pilot.app), pilot=pilot)
        pilot.app.query_one(PromptInput).set_text("Now a long story, please.")
        await pilot.press("enter")
        await wait_for(
            lambda: chat.session.live is not None and chat.session.live.tokens >= 12, pilot=pilot
        )
        await pilot.press("escape")
        await wait_for(lambda: not chat.streaming, pilot=pilot)
        # Pin the stopped reply's text: how many words arrived before Esc is timing.
        view = list(pilot.app.query("AssistantMessage"))[-1]
        view.message.content = (
            "The raspberry pi runs a small language model on four cores while the fan"
        )
        await view.markdown.update(view.message.content)
        await settle(pilot)

    assert snap_compare(
        snapshot_app(snapshot_ollama, model="qwen3:1.7b"), terminal_size=size, run_before=run_before
    )


def _seed_sessions() -> None:
    """Three saved chats with pinned dates (the store writes the current time)."""
    from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
    from pislm_tui.chat.store import SessionStore

    paths = Paths.from_env()
    store = SessionStore(paths.sessions_db)
    for title, model in (
        ("Capital of France?", "llama3.2:1b"),
        ("How hot does a Raspberry Pi 5 get under load?", "gemma2:2b"),
        ("What is in this picture?", "llava-phi3:3.8b"),
    ):
        conversation = Conversation(settings=SessionSettings(model=model), title=title)
        session = store.create_session(conversation)
        store.add_message(session, ChatMessage("user", title))
        store.add_message(session, ChatMessage("assistant", "An answer."))
    store.close()
    db = sqlite3.connect(paths.sessions_db)
    db.execute("UPDATE sessions SET created_at = ?, updated_at = ? + id * 3600", (PINNED, PINNED))
    db.commit()
    db.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_saved_chats(
    snap_compare: Any,
    snapshot_ollama: FakeOllama,
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    _seed_sessions()

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("ctrl+o")
        await wait_for(lambda: "Saved chats" in screen_text(pilot.app), pilot=pilot)
        await settle(pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_settings(snap_compare: Any, snapshot_ollama: FakeOllama, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("ctrl+s")
        await wait_for(lambda: "Chat settings" in screen_text(pilot.app), pilot=pilot)
        await settle(pilot)

    app = snapshot_app(
        snapshot_ollama,
        chat={
            "system_prompt": "Answer in one short sentence.",
            "options": {"temperature": 0.2, "seed": 42},
        },
    )
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_attach_image(
    snap_compare: Any,
    snapshot_ollama: FakeOllama,
    size: tuple[int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pictures = tmp_path / "pictures"
    (pictures / "holidays").mkdir(parents=True)
    (pictures / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (pictures / "notes.txt").write_text("not shown")
    monkeypatch.chdir(pictures)

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("ctrl+f")
        await wait_for(lambda: "cat.png" in screen_text(pilot.app), pilot=pilot)
        await pilot.press(*"hol")
        await wait_for(lambda: "holidays/" in screen_text(pilot.app), pilot=pilot)  # the completion
        await settle(pilot)

    assert snap_compare(
        snapshot_app(snapshot_ollama, model="llava-phi3:3.8b"),
        terminal_size=size,
        run_before=run_before,
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_copy_picker(snap_compare: Any, snapshot_ollama: FakeOllama, size: tuple[int, int]) -> None:
    snapshot_ollama.script(Reply(text=ANSWER))

    async def run_before(pilot: Any) -> None:
        chat = await ready(pilot)
        await ask(pilot, chat, "What is the capital of France?", 1)
        await wait_for(lambda: "/4,096 (" in screen_text(pilot.app), pilot=pilot)
        await pilot.press("ctrl+b")
        await wait_for(lambda: "Copy to the clipboard" in screen_text(pilot.app), pilot=pilot)
        await settle(pilot)

    assert snap_compare(snapshot_app(snapshot_ollama), terminal_size=size, run_before=run_before)
