"""The Chat tab's tools (issue 15): off by default, F8 turns them on for this chat (kept with
it), then the model may call the built-in tools and the MCP servers' tools; each call shows in
the reply, an MCP call waits for a key press, and the answer goes back to the model."""

from __future__ import annotations

from pathlib import Path

from pislm_tui.widgets.message_view import AssistantMessage
from tests.chat_helpers import chat_ready, notes, send
from tests.fake_ollama import FakeOllama
from tests.helpers import screen_text, wait_for
from tests.test_tools_mcp import START, approve_dialog, stdio_server, tool_messages

DISTANCE = '#tool=distance{"lat1": 48.8566, "lon1": 2.3522, "lat2": 35.6762, "lon2": 139.6503}'


def last_reply(app) -> str:
    views = list(app.query(AssistantMessage))
    return views[-1].message.content if views else ""


async def test_tools_are_off_by_default_and_f8_lets_the_model_call_them(
    make_app, fake_ollama: FakeOllama
) -> None:
    app = make_app(monitor={"show_strip": False})
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await chat_ready(app, pilot)
        # Off: no tools are offered, so the model answers in words.
        await send(pilot, f"How far is Paris from Tokyo? {DISTANCE}")
        await wait_for(lambda: "reply number 1" in last_reply(app), pilot=pilot)
        assert not fake_ollama.requests_to("/api/chat")[-1].json.get("tools")
        assert "⚙" not in last_reply(app)

        await pilot.press("f8")
        await wait_for(lambda: chat.session.conversation.settings.tools, pilot=pilot)
        assert any("Tools on for this chat" in n for n in notes(app))
        await send(pilot, f"And now? {DISTANCE}")
        await wait_for(lambda: "tool returned" in last_reply(app), pilot=pilot)
        reply = last_reply(app)
        assert reply.startswith("> ⚙ `distance(lat1=48.8566") and '"distance": 9711.7' in reply
        assert [m["tool_name"] for m in tool_messages(fake_ollama)] == ["distance"]
        offered = fake_ollama.requests_to("/api/chat")[-2].json["tools"]
        assert "distance" in [t["function"]["name"] for t in offered]
        await wait_for(lambda: not chat.streaming, pilot=pilot)
        # The setting is the chat's: it is saved with it.
        store, chat_id = chat.store, chat.conversation.id  # type: ignore[union-attr]
        await wait_for(lambda: store.load(chat_id).settings.tools, pilot=pilot)


async def test_an_mcp_call_from_the_chat_waits_for_a_key_and_a_refusal_is_told(
    make_app, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    app = make_app(
        monitor={"show_strip": False},
        mcp={"servers": {"demo": stdio_server(tmp_path / "pids")}},
    )
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await chat_ready(app, pilot)
        await pilot.press("f8")
        await wait_for(lambda: chat.session.conversation.settings.tools, pilot=pilot)
        await send(pilot, 'Shout it #tool=demo.shout{"text": "hi pi"}')
        await approve_dialog(app, pilot)
        assert 'demo.shout(text="hi pi")' in screen_text(app)
        await pilot.press("y")
        await wait_for(lambda: "tool returned" in last_reply(app), pilot=pilot, timeout=START)
        assert "→ HI PI" in last_reply(app)
        await wait_for(lambda: not chat.streaming, pilot=pilot)

        await send(pilot, 'Again #tool=demo.shout{"text": "no"}')
        await approve_dialog(app, pilot)
        await pilot.press("escape")
        await wait_for(lambda: "tool returned" in last_reply(app), pilot=pilot, timeout=START)
        assert "✗" in last_reply(app)
        assert "refused" in tool_messages(fake_ollama)[-1]["content"].lower()
