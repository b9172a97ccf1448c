"""The Chat tab's context gauge (issue 12, item 9): the size the server really runs the model
with (num_ctx, else `ollama ps`), `≤` the trained length while the server has not said, `?`
when it cannot say (an OpenAI-compatible server) — never a bare number that looks like a size."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from pislm_tui.app import PislmApp
from pislm_tui.config import load_settings
from tests.chat_helpers import chat_ready, reply_ended, send, wait_for
from tests.fake_ollama import FakeOllama, Reply


def app_on(server: FakeOllama, **overrides: Any) -> PislmApp:
    overrides.setdefault("monitor", {"show_strip": False})
    return PislmApp(load_settings(overrides={"host": server.url, **overrides}))


def gauge(app: PislmApp) -> Static:
    return app.query_one("#chat-context", Static)


def used_tokens(server: FakeOllama) -> int:
    stats = server.last_stats
    assert stats is not None
    return stats["prompt_eval_count"] + stats["eval_count"]


def test_the_gauge_says_where_its_size_comes_from() -> None:
    from pislm_tui.chat.context import context_window, gauge_text, gauge_tooltip

    assert gauge_text(145, context_window(num_ctx=8192, running=4096)) == "ctx 145/8,192 (2%)"
    assert gauge_text(145, context_window(running=4096, trained=131072)) == "ctx 145/4,096 (4%)"
    trained = context_window(trained=131072)
    assert gauge_text(145, trained) == "ctx 145/≤131,072"
    assert "trained" in gauge_tooltip(145, trained, "llama3.2:3b", "ollama")
    unknown = context_window()
    assert gauge_text(3955, unknown) == "ctx 3,955/?"
    assert "OpenAI-compatible" in gauge_tooltip(3955, unknown, "m", "openai")
    assert gauge_text(None, trained) == ""  # nothing sent yet


async def test_the_size_the_server_runs_a_model_named_without_its_tag(
    fake_ollama: FakeOllama,
) -> None:
    """`ollama ps` names it `phi3.5:latest`; the chat said `phi3.5`: still the same model."""
    fake_ollama.script(Reply(text="Hello."))
    app = app_on(fake_ollama, model="phi3.5")
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await send(pilot, "hi")
        await reply_ended(app, pilot)
        used = used_tokens(fake_ollama)
        await wait_for(
            lambda: str(gauge(app).content).startswith(f"ctx {used}/4,096 ("), pilot=pilot
        )


async def test_before_the_server_says_the_trained_length_is_only_a_bound(
    fake_ollama: FakeOllama,
) -> None:
    """keep_alive 0: the model is unloaded after the reply, so `ps` never names its size."""
    fake_ollama.script(Reply(text="Hello."))
    app = app_on(fake_ollama, model="llama3.2:3b", chat={"keep_alive": "0"})
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        await wait_for(lambda: "llama3.2:3b" in chat.pislm.model_details.known, pilot=pilot)
        await send(pilot, "hi")
        await reply_ended(app, pilot)
        used = used_tokens(fake_ollama)
        await wait_for(lambda: bool(fake_ollama.requests_to("/api/ps")), pilot=pilot)
        await wait_for(lambda: str(gauge(app).content) == f"ctx {used}/≤131,072", pilot=pilot)
        assert "trained for" in str(gauge(app).tooltip)


async def test_num_ctx_set_for_the_chat_is_the_size(fake_ollama: FakeOllama) -> None:
    fake_ollama.script(Reply(text="Hello."))
    app = app_on(fake_ollama, chat={"options": {"num_ctx": 8192}})
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await send(pilot, "hi")
        await reply_ended(app, pilot)
        used = used_tokens(fake_ollama)
        await wait_for(
            lambda: str(gauge(app).content).startswith(f"ctx {used}/8,192 ("), pilot=pilot
        )
        assert "num_ctx" in str(gauge(app).tooltip)


async def test_an_openai_compatible_server_does_not_say(fake_ollama: FakeOllama) -> None:
    """No `ps`, no `show`, and num_ctx is not sent there: the size is unknown, and said so."""
    fake_ollama.script(Reply(text="Hello from /v1."))
    app = app_on(fake_ollama, api="openai", chat={"options": {"num_ctx": 8192}})
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await send(pilot, "hi")
        await reply_ended(app, pilot)
        used = used_tokens(fake_ollama)
        await wait_for(lambda: str(gauge(app).content) == f"ctx {used}/?", pilot=pilot)
        assert "does not say" in str(gauge(app).tooltip)
