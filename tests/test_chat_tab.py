"""The Chat tab driven like a user (Textual pilot) against the fake server over real sockets:
streaming, history and options on the wire, figures, stop, cut connections, errors that keep
the prompt, images, markup safety, sessions across restarts, export, copy, redo and edit."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input, OptionList, Select, TextArea

from pislm_tui.app import PislmApp
from pislm_tui.config import Paths
from pislm_tui.screens.chat_attach import AttachImageScreen
from pislm_tui.screens.chat_sessions import SessionsScreen
from pislm_tui.screens.chat_settings import ChatSettingsScreen
from pislm_tui.widgets.message_view import UserMessage
from pislm_tui.widgets.prompt_input import PromptInput
from pislm_tui.widgets.stats_line import StatsLine
from tests.chat_helpers import chat_ready as ready
from tests.chat_helpers import chat_tab as tab
from tests.chat_helpers import notes, replies, send, wait_for
from tests.chat_helpers import reply_ended as finished
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text

MakeApp = Callable[..., PislmApp]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def app_for(make_app: MakeApp, **overrides: Any) -> PislmApp:
    overrides.setdefault("monitor", {"show_strip": False})
    return make_app(**overrides)


def chat_requests(fake: FakeOllama) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests_to("/api/chat") if r.json and r.json.get("messages")]


# -- streaming and the wire -------------------------------------------------------------------------


async def test_a_prompt_streams_a_reply_with_its_figures(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(text="The capital of France is **Paris**. " + "It is lovely. " * 30, rate=40)
    )
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "What is the capital of France?")
        # while it streams: part of the text, the live figures, the prompt box empty again
        await wait_for(
            lambda: "Paris" in screen_text(app) and "Esc stops" in screen_text(app), pilot=pilot
        )
        assert chat.streaming and app.query_one(PromptInput).text == ""
        assert "It is lovely. " * 30 not in replies(app)[0].markdown.source  # not all of it yet
        reply = await finished(app, pilot)
        stats = fake_ollama.last_stats
        assert stats is not None
        rate = stats["eval_count"] * 1_000_000_000 / stats["eval_duration"]
        line = reply.query_one(StatsLine)
        summary = f"{rate:.2f} tok/s · {stats['eval_count']} tokens · {stats['total_duration'] / 1e9:.2f} s"
        assert summary in str(line.title)
        assert summary in screen_text(app)
        assert "Esc stops" not in screen_text(app)
        assert reply.markdown.source == reply.message.content
        assert reply.message.content.startswith("The capital of France is **Paris**.")
        # the figures open to the `ollama run --verbose` block
        line.collapsed = False
        await wait_for(lambda: "prompt eval rate:" in screen_text(app), pilot=pilot)
        assert f"eval count:           {stats['eval_count']} token(s)" in screen_text(app)
        assert chat._timer is None  # no timer runs once the reply is over


async def test_history_options_and_system_prompt_go_with_each_request(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(
        make_app,
        chat={
            "system_prompt": "Answer in one sentence.",
            "options": {"temperature": 0.2, "seed": 42},
            "keep_alive": "10m",
        },
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        fake_ollama.script(Reply(text="Paris."), Reply(text="Santiago."))
        await send(pilot, "Capital of France?")
        await finished(app, pilot, 1)
        await send(pilot, "And of Chile?")
        await finished(app, pilot, 2)
        body = chat_requests(fake_ollama)[-1]
        assert body["model"] == "llama3.2:1b"
        assert body["messages"] == [
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Chile?"},
        ]
        assert body["options"] == {"temperature": 0.2, "seed": 42}
        assert body["keep_alive"] == "10m"
        # context use: the counts of the last reply against the size the server runs (`ps`)
        stats = fake_ollama.last_stats
        assert stats is not None
        used = stats["prompt_eval_count"] + stats["eval_count"]
        await wait_for(lambda: f"ctx {used}/4,096 (" in screen_text(app), pilot=pilot)


async def test_esc_stops_a_reply_and_keeps_it_marked_stopped(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(n_tokens=500, rate=30))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "Tell me a long story")
        await wait_for(
            lambda: chat.session.live is not None and chat.session.live.tokens >= 5, pilot=pilot
        )
        await pilot.press("escape")
        reply = await finished(app, pilot)
        assert fake_ollama.wait_for(lambda: "/api/chat" in fake_ollama.disconnects)
        assert reply.message.status == "stopped" and reply.message.content
        assert reply.markdown.source == reply.message.content
        assert "■ stopped" in screen_text(app)
        db = sqlite3.connect(Paths.from_env().sessions_db)
        rows = db.execute("SELECT role, status, content FROM messages ORDER BY id").fetchall()
        assert rows == [
            ("user", "complete", "Tell me a long story"),
            ("assistant", "stopped", reply.message.content),
        ]
        # the stopped reply stays in the history of the next request
        fake_ollama.script(Reply(text="ok"))
        await send(pilot, "go on")
        await finished(app, pilot, 2)
        assert chat_requests(fake_ollama)[-1]["messages"][1]["content"] == reply.message.content


async def test_a_dropped_connection_keeps_the_partial_reply_with_a_note(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="alpha beta gamma delta epsilon", rate=50, drop_after=3))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await send(pilot, "hi")
        reply = await finished(app, pilot)
        assert reply.message.content == "alpha beta gamma"
        assert reply.message.status == "error"
        assert "⚠ the reply was cut off" in screen_text(app)
        assert "alpha beta gamma" in screen_text(app)


async def test_an_unknown_model_gives_the_pull_hint_and_keeps_the_prompt(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        fake_ollama.remove_model("llama3.2:1b")  # gone since the list was read
        await send(pilot, "Are you there?")
        await wait_for(lambda: any("pislm pull llama3.2:1b" in n for n in notes(app)), pilot=pilot)
        assert "model 'llama3.2:1b' is not installed" in "\n".join(notes(app))
        assert app.query_one(PromptInput).text == "Are you there?"
        assert not replies(app) and not list(app.query(UserMessage))
        assert chat.conversation is not None and chat.conversation.messages == []
        assert (
            sqlite3.connect(Paths.from_env().sessions_db)
            .execute("SELECT COUNT(*) FROM sessions")
            .fetchone()[0]
            == 0
        )


async def test_server_down_keeps_the_prompt_and_the_chat(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        fake_ollama.script(Reply(text="first answer"))
        await send(pilot, "first")
        await finished(app, pilot)
        fake_ollama.stop()
        await send(pilot, "second question")
        await wait_for(lambda: any("cannot reach Ollama" in n for n in notes(app)), pilot=pilot)
        assert app.query_one(PromptInput).text == "second question"
        assert [m.content for m in tab(app).conversation.messages] == ["first", "first answer"]  # type: ignore[union-attr]
        assert "first answer" in screen_text(app)


async def test_markup_and_escape_codes_in_a_reply_are_shown_literally(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(
            tokens=[
                "Look: ",
                "[bold red]x[/bold red]",
                " and ",
                "\x1b[31",
                "mred\x1b[0m",
                " \x1b]52;c;aGk=\x07end",
            ]
        )
    )
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await send(pilot, "hi")
        reply = await finished(app, pilot)
        text = screen_text(app)
        assert "Look: [bold red]x[/bold red] and red end" in text
        assert reply.message.content == "Look: [bold red]x[/bold red] and red end"
        assert "\x1b" not in reply.markdown.source


async def test_an_attached_image_goes_as_base64_of_the_file(
    make_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    app = app_for(make_app, model="llava-phi3:3.8b")
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await pilot.press("ctrl+f")
        screen = await wait_for(
            lambda: isinstance(app.screen, AttachImageScreen) and app.screen, pilot=pilot
        )
        screen.query_one("#path", Input).value = str(image)
        await pilot.press("enter")
        await wait_for(lambda: "cat.png · 208 B" in screen_text(app), pilot=pilot)  # the chip
        await send(pilot, "What is in this picture?")
        await finished(app, pilot)
        body = chat_requests(fake_ollama)[-1]
        assert body["messages"][-1]["images"] == [base64.b64encode(PNG).decode()]
        assert "cat.png · 208 B" in screen_text(app)  # shown with the prompt; the chip is gone
        assert not app.query("ImageChip")


async def test_images_are_checked_before_anything_is_sent(
    make_app: MakeApp, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a picture")
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    app = app_for(make_app)  # llama3.2:1b cannot see
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await pilot.press("ctrl+f")
        screen = await wait_for(
            lambda: isinstance(app.screen, AttachImageScreen) and app.screen, pilot=pilot
        )
        assert "cannot read images" in screen_text(app)  # warned at once
        for path, message in (
            (tmp_path / "missing.png", "no such file"),
            (tmp_path / "notes.txt", "is not an image"),
        ):
            screen.query_one("#path", Input).value = str(path)
            await pilot.press("enter")
            await wait_for(lambda message=message: message in screen_text(app), pilot=pilot)
        screen.query_one("#path", Input).value = str(image)
        await pilot.press("enter")
        await wait_for(lambda: not isinstance(app.screen, AttachImageScreen), pilot=pilot)
        await send(pilot, "Describe it")
        await wait_for(lambda: any("cannot read images" in n for n in notes(app)), pilot=pilot)
        assert app.query_one(PromptInput).text == "Describe it"
        assert len(app.query("ImageChip")) == 1
        assert chat_requests(fake_ollama) == []


# -- sessions ---------------------------------------------------------------------------------------


async def test_sessions_survive_a_restart_and_can_be_searched_renamed_deleted(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="Paris."), Reply(text="About 80 °C."))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "Capital of France?")
        await finished(app, pilot)
        await pilot.press("ctrl+n")
        await wait_for(
            lambda: chat.conversation is not None and not chat.conversation.messages, pilot=pilot
        )
        await send(pilot, "How hot does a Pi get?")
        await finished(app, pilot)

    again = app_for(make_app)
    async with again.run_test(size=(100, 30)) as pilot:
        chat = await ready(again, pilot)
        # the latest chat is open again, with its figures (its messages are read off the loop)
        await wait_for(
            lambda: (
                "How hot does a Pi get?" in screen_text(again)
                and "About 80 °C." in screen_text(again)
            ),
            pilot=pilot,
            what="the latest chat shown again",
        )
        assert again.query_one(StatsLine)
        await pilot.press("ctrl+o")
        screen = await wait_for(
            lambda: isinstance(again.screen, SessionsScreen) and again.screen, pilot=pilot
        )
        options = screen.query_one(OptionList)
        assert options.option_count == 2
        await pilot.press("slash", *"france")
        await wait_for(lambda: options.option_count == 1, pilot=pilot)
        await pilot.press("enter")  # to the list
        await pilot.press("r")
        await wait_for(
            lambda: (
                isinstance(again.focused, Input) and again.focused.value == "Capital of France?"
            ),
            pilot=pilot,
        )
        again.focused.value = "Paris question"
        await pilot.press("enter")
        await wait_for(lambda: "Paris question" in screen_text(again), pilot=pilot)
        await pilot.press("enter")  # open it
        await wait_for(
            lambda: "Paris." in screen_text(again) and "About 80" not in screen_text(again),
            pilot=pilot,
        )
        assert chat.conversation is not None and chat.conversation.title == "Paris question"
        # delete the open chat: a new one takes its place
        await pilot.press("ctrl+o")
        screen = await wait_for(
            lambda: isinstance(again.screen, SessionsScreen) and again.screen, pilot=pilot
        )
        await pilot.press("d")
        await wait_for(lambda: "This cannot be undone" in screen_text(again), pilot=pilot)
        await pilot.press("y")
        await wait_for(lambda: screen.query_one(OptionList).option_count == 1, pilot=pilot)
        await pilot.press("escape")
        await wait_for(
            lambda: chat.conversation is not None and chat.conversation.id is None, pilot=pilot
        )
        titles = [s.title for s in chat.store.list_sessions()]  # type: ignore[union-attr]
        assert titles == ["How hot does a Pi get?"]


async def test_export_writes_the_markdown_file_and_shows_its_path(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="Paris, on the **Seine**."))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await send(pilot, "Capital of France?")
        await finished(app, pilot)
        await pilot.press("ctrl+g")
        exports = Paths.from_env().exports_dir
        files = await wait_for(lambda: list(exports.glob("*.md")), pilot=pilot)
        text = files[0].read_text(encoding="utf-8")
        assert "## You\n\nCapital of France?" in text and "Paris, on the **Seine**." in text
        assert "tok/s" in text
        assert any(str(files[0]) in n for n in notes(app))


async def test_copy_the_last_reply_or_a_code_block(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="Use this:\n\n```python\nprint('hi')\n```\n\nDone."))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        await send(pilot, "code please")
        reply = await finished(app, pilot)
        await pilot.press("ctrl+b")
        await wait_for(lambda: "Code: python · 1 line" in screen_text(app), pilot=pilot)
        await pilot.press("down", "enter")
        await wait_for(lambda: app.clipboard == "print('hi')", pilot=pilot)
        await pilot.press("ctrl+b")
        await wait_for(lambda: "Last reply" in screen_text(app), pilot=pilot)
        await pilot.press("enter")
        await wait_for(lambda: app.clipboard == reply.message.content, pilot=pilot)


# -- redo, edit, input -------------------------------------------------------------------------------


async def test_regenerate_replaces_the_last_reply(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(text="First try."), Reply(text="Second try."))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "Say something")
        await finished(app, pilot)
        await pilot.press("ctrl+r")
        await wait_for(
            lambda: "Second try." in screen_text(app) and not chat.streaming, pilot=pilot
        )
        assert "First try." not in screen_text(app)
        assert [m.content for m in chat.conversation.messages] == ["Say something", "Second try."]  # type: ignore[union-attr]
        assert chat_requests(fake_ollama)[-1]["messages"] == [
            {"role": "user", "content": "Say something"}
        ]
        rows = (
            sqlite3.connect(Paths.from_env().sessions_db)
            .execute("SELECT content FROM messages ORDER BY id")
            .fetchall()
        )
        assert rows == [("Say something",), ("Second try.",)]


async def test_edit_and_resend_the_last_prompt(make_app: MakeApp, fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(text="Paris."), Reply(text="Berlin."))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "Capital of France?")
        await finished(app, pilot)
        await pilot.press("ctrl+up")
        prompt = app.query_one(PromptInput)
        await wait_for(lambda: prompt.text == "Capital of France?", pilot=pilot)
        prompt.set_text("Capital of Germany?")
        await pilot.press("enter")
        await wait_for(lambda: "Berlin." in screen_text(app) and not chat.streaming, pilot=pilot)
        assert [m.content for m in chat.conversation.messages] == ["Capital of Germany?", "Berlin."]  # type: ignore[union-attr]
        assert "Paris." not in screen_text(app)


async def test_enter_sends_ctrl_j_adds_a_line_and_up_walks_the_history(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app, pilot)
        prompt = app.query_one(PromptInput)
        await pilot.press(*"line one", "ctrl+j", *"line two")
        assert prompt.text == "line one\nline two"
        await pilot.press("enter")
        await finished(app, pilot)
        assert chat_requests(fake_ollama)[-1]["messages"][-1]["content"] == "line one\nline two"
        await pilot.press(*"draft")
        await pilot.press("up")
        assert prompt.text == "line one\nline two"
        # Up left the cursor on the first line (another Up goes further back); Down moves to
        # the last line, then back to the draft
        await pilot.press("down", "down")
        assert prompt.text == "draft"


async def test_settings_screen_changes_options_for_the_next_request(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(100, 36)) as pilot:
        chat = await ready(app, pilot)
        await pilot.press("ctrl+s")
        screen = await wait_for(
            lambda: isinstance(app.screen, ChatSettingsScreen) and app.screen, pilot=pilot
        )
        screen.query_one("#opt-temperature", Input).value = "5"
        await pilot.press("ctrl+s")
        await wait_for(
            lambda: (
                "temperature" in screen_text(app) and "less than or equal to 2" in screen_text(app)
            ),
            pilot=pilot,
        )
        screen.query_one("#opt-temperature", Input).value = "0.3"
        screen.query_one("#opt-num_ctx", Input).value = "2048"
        screen.query_one("#system", TextArea).text = "Be terse."
        screen.query_one("#model", Select).value = "gemma2:2b"
        await pilot.press("ctrl+s")
        await wait_for(lambda: not isinstance(app.screen, ChatSettingsScreen), pilot=pilot)
        assert app.current_model == "gemma2:2b"
        await send(pilot, "hi")
        await finished(app, pilot)
        body = chat_requests(fake_ollama)[-1]
        assert body["model"] == "gemma2:2b"
        assert body["options"] == {"temperature": 0.3, "num_ctx": 2048}
        assert body["messages"][0] == {"role": "system", "content": "Be terse."}
        assert "/2,048 (" in screen_text(app)  # context size from num_ctx
        stored = chat.store.load(chat.conversation.id)  # type: ignore[union-attr,arg-type]
        assert stored.settings.options == {"temperature": 0.3, "num_ctx": 2048}


async def test_thinking_is_collapsed_apart_from_the_answer_and_can_be_turned_off(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(thinking="First I recall facts about France.", text="Paris."), Reply(text="Lyon.")
    )
    app = app_for(make_app, model="qwen3:1.7b")
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "Capital?")
        reply = await finished(app, pilot)
        text = screen_text(app)
        assert "Thinking (6 words)" in text and "Paris." in text
        assert "recall facts" not in text  # collapsed
        assert reply.message.thinking == "First I recall facts about France."
        await wait_for(lambda: "qwen3:1.7b" in chat.pislm.model_details.known, pilot=pilot)
        await pilot.press("ctrl+t")
        assert chat.conversation is not None and chat.conversation.settings.think is False
        await send(pilot, "Second city?")
        await finished(app, pilot, 2)
        assert chat_requests(fake_ollama)[-1]["think"] is False


async def test_the_model_picker_marks_vision_and_shares_the_choice(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await wait_for(lambda: len(chat.pislm.model_details.known) >= 6, pilot=pilot)
        select = app.query_one("#chat-model", Select)
        labels = {value: str(prompt) for prompt, value in select._options if isinstance(value, str)}
        assert labels["llava-phi3:3.8b"] == "llava-phi3:3.8b · vision"
        assert labels["qwen3:1.7b"] == "qwen3:1.7b · thinks"
        assert "nomic-embed-text:latest" not in labels
        select.value = "phi3.5:latest"
        await wait_for(lambda: app.current_model == "phi3.5:latest", pilot=pilot)
        shows = [r.json["model"] for r in fake_ollama.requests_to("/api/show") if r.json]
        assert len(shows) == len(set(shows))  # each model asked once


async def test_chat_against_an_openai_compatible_server(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    """No `show`/`ps` there: no capability marks, no context size, the chat still works."""
    fake_ollama.script(Reply(text="Hello from /v1."))
    app = app_for(make_app, api="openai")
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "hi")
        reply = await finished(app, pilot)
        assert reply.message.content == "Hello from /v1." and reply.message.status == "complete"
        assert fake_ollama.requests_to("/v1/chat/completions")
        stats = reply.message.stats
        assert stats is not None and stats.client_measured  # timings taken here, said so
        assert "measured here" in screen_text(app)
        assert all(details is None for details in chat.pislm.model_details.known.values())
        assert "tok/s" in screen_text(app)


async def test_quitting_mid_reply_keeps_what_arrived(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(n_tokens=400, rate=40))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "A long one")
        await wait_for(
            lambda: chat.session.live is not None and chat.session.live.tokens >= 8, pilot=pilot
        )
        await pilot.press("ctrl+q")
    rows = (
        sqlite3.connect(Paths.from_env().sessions_db)
        .execute("SELECT role, status, length(content) FROM messages ORDER BY id")
        .fetchall()
    )
    assert rows[0][:2] == ("user", "complete")
    assert rows[1][:2] == ("assistant", "stopped") and rows[1][2] > 0


async def test_the_reply_is_not_drawn_while_the_tab_is_hidden(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(n_tokens=80, rate=30))
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await ready(app, pilot)
        await send(pilot, "Go")
        await wait_for(
            lambda: chat.session.live is not None and chat.session.live.tokens >= 3, pilot=pilot
        )
        view = replies(app)[0]
        app.show_tab("monitor")
        await pilot.pause()
        live = chat.session.live
        assert live is not None
        drawn, arrived = view.markdown.source, live.tokens
        await wait_for(lambda: live.tokens >= arrived + 15, pilot=pilot)
        assert view.markdown.source == drawn  # the flush timer is paused: nothing drawn
        app.show_tab("chat")
        reply = await finished(app, pilot)
        assert reply.markdown.source == reply.message.content
        assert len(reply.message.content.split()) == 80
        assert chat._timer is None
