"""Which model a chat starts with (issue 12, items 3 and 4), in the core, the app and
`pislm ask`: never an embedding-only model or an entry the server cannot run, the last model
used with this server first, `--model` over the chat reopened at start, and a saved chat whose
model this server lacks going on with the default, saying so. Against the fake server's
catalogues of other servers (tests/fake_ollama/catalogues.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.backend.openai_compat import OpenAIBackend
from pislm_tui.backend.types import ModelInfo
from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings
from pislm_tui.chat.store import SessionStore
from pislm_tui.cli import main
from pislm_tui.config import Paths, load_settings
from tests.chat_helpers import chat_ready, notes, reply_ended, send, wait_for
from tests.fake_ollama import DEFAULT_MODELS, FakeModel, FakeOllama, Reply
from tests.fake_ollama.catalogues import cloud_entry, embedding_listed_first, size_zero_entry

OTHER_SERVERS = {
    "an embedding-only model listed first": embedding_listed_first,
    "a cloud entry and a size-0 entry listed first": lambda: [
        cloud_entry(),
        size_zero_entry(),
        *DEFAULT_MODELS,
    ],
}


def app_on(server: FakeOllama, **overrides: Any) -> PislmApp:
    overrides.setdefault("monitor", {"show_strip": False})
    return PislmApp(load_settings(overrides={"host": server.url, **overrides}))


def chat_models_sent(server: FakeOllama) -> list[str]:
    return [r.json["model"] for r in server.requests_to("/api/chat") if r.json]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- the core rule (imported in each test, so that the app and CLI tests below also run against
# a checkout without these modules and show what it does) -----------------------------------------


def test_the_listing_alone_can_tell_cloud_and_empty_entries() -> None:
    from pislm_tui.models.listing import can_chat, chat_model_names, runs_here

    assert not runs_here(ModelInfo("gpt-oss:120b-cloud", size=384, remote=True))
    assert not runs_here(ModelInfo("openai/gpt-4o", size=0))
    assert runs_here(ModelInfo("llama3.2:1b", size=1_321_098_329))
    assert runs_here(ModelInfo("llama3.2:1b"))  # an OpenAI-compatible listing has no sizes
    # the server's word wins over the name guess, both ways
    assert not can_chat(ModelInfo("all-minilm:latest"), frozenset({"embedding"}))
    assert can_chat(ModelInfo("embeddable-chat:1b"), frozenset({"completion"}))
    assert not can_chat(ModelInfo("all-minilm:latest"))  # guessed from the name
    listed = ModelInfo("mystery:1b", capabilities=frozenset({"embedding"}))
    assert not can_chat(listed) and chat_model_names([listed]) == []


@pytest.mark.parametrize("catalogue", list(OTHER_SERVERS), ids=list(OTHER_SERVERS))
async def test_the_choice_skips_what_cannot_chat_here(catalogue: str) -> None:
    from pislm_tui.models.choice import choose_chat_model
    from pislm_tui.models.details import ModelDetailsCache

    with FakeOllama(models=OTHER_SERVERS[catalogue]()).start() as server:
        backend = OllamaBackend(server.url)
        try:
            models = await backend.list_models()
            assert models[0].name != "llama3.2:1b"  # something else is listed first
            cache = ModelDetailsCache(backend)
            chosen = await choose_chat_model(models, capabilities=cache.capabilities)
            assert chosen == "llama3.2:1b"
            # the last one used comes first, unless it cannot chat or is gone
            assert await choose_chat_model(
                models, preferred=["qwen3:1.7b"], capabilities=cache.capabilities
            ) == ("qwen3:1.7b")
            for useless in ("all-minilm:latest", "gpt-oss:120b-cloud", "removed:1b"):
                assert (
                    await choose_chat_model(
                        models, preferred=[useless], capabilities=cache.capabilities
                    )
                    == "llama3.2:1b"
                )
            shows = [r.json["model"] for r in server.requests_to("/api/show")]
            assert len(shows) == len(set(shows))  # each model asked once
        finally:
            await backend.aclose()


async def test_capabilities_in_the_listing_need_no_show() -> None:
    from pislm_tui.models.choice import choose_chat_model
    from pislm_tui.models.details import ModelDetailsCache

    embedder = FakeModel(
        "mystery:latest", 1000, "", capabilities=["embedding"], list_capabilities=True
    )
    chatter = FakeModel("plain:1b", 1000, "", capabilities=["completion"], list_capabilities=True)
    embedder.modified_at = "2025-06-02T00:00:00Z"  # listed first
    with FakeOllama(models=[embedder, chatter]).start() as server:
        backend = OllamaBackend(server.url)
        try:
            models = await backend.list_models()
            assert models[0].capabilities == frozenset({"embedding"})
            chosen = await choose_chat_model(
                models, capabilities=ModelDetailsCache(backend).capabilities
            )
            assert chosen == "plain:1b" and server.requests_to("/api/show") == []
        finally:
            await backend.aclose()


async def test_an_openai_compatible_server_falls_back_to_the_name_guess(
    fake_ollama: FakeOllama,
) -> None:
    from pislm_tui.models.choice import choose_chat_model
    from pislm_tui.models.details import ModelDetailsCache

    fake_ollama.add_model(embedding_listed_first()[0])
    backend = OpenAIBackend(fake_ollama.url)
    try:
        models = await backend.list_models()
        chosen = await choose_chat_model(
            sorted(models, key=lambda m: m.name),  # all-minilm first
            capabilities=ModelDetailsCache(backend).capabilities,
        )
        assert chosen is not None and chosen != "all-minilm:latest"
    finally:
        await backend.aclose()


async def test_settling_the_model_when_the_server_lists_its_models() -> None:
    from pislm_tui.models.choice import settle_chat_model

    models = [ModelInfo("all-minilm:latest", family="bert"), ModelInfo("phi3.5:latest")]
    models += [ModelInfo("qwen3:1.7b")]
    settled = await settle_chat_model(models, current=None, wish="gemma3-270m")
    assert (settled.model, settled.lost) == ("phi3.5:latest", "gemma3-270m")
    assert settled.note == "gemma3-270m is not on this server; it goes on with phi3.5:latest."
    settled = await settle_chat_model(models, current="phi3.5", wish="qwen3:1.7b")
    assert (settled.model, settled.note) == ("qwen3:1.7b", None)
    settled = await settle_chat_model(models, current="phi3.5", wish=None)
    assert (settled.model, settled.note) == ("phi3.5:latest", None)  # as the server names it
    # named by the user: kept even when missing (sending says how to pull it)
    settled = await settle_chat_model(models, current="nope:1b", pinned="nope:1b", wish="x")
    assert (settled.model, settled.lost) == ("nope:1b", "x")
    # gone (deleted, or another server): the default, said
    settled = await settle_chat_model(models, current="gone:1b", preferred=["qwen3:1.7b"])
    assert (settled.model, settled.lost) == ("qwen3:1.7b", "gone:1b")
    settled = await settle_chat_model(models[:1], current=None, wish="x")
    assert (
        settled.model is None
        and settled.note == "x is not on this server; no installed model can chat."
    )


def test_the_last_model_is_kept_per_server(tmp_path: Any) -> None:
    from pislm_tui.models.choice import LastUsedModels

    path = tmp_path / "data" / "last-models.json"
    store = LastUsedModels(path)
    assert store.get("http://pi:11434") is None
    assert store.remember("http://pi:11434/", "qwen3:1.7b")
    assert store.remember("http://127.0.0.1:11434", "llama3.2:1b")
    again = LastUsedModels(path)
    assert again.get("http://PI:11434") == "qwen3:1.7b"
    assert again.get("http://127.0.0.1:11434") == "llama3.2:1b"
    path.write_text("{ not json")
    assert LastUsedModels(path).get("http://pi:11434") is None  # damaged: as if empty
    (tmp_path / "a-file").write_text("")
    assert not LastUsedModels(tmp_path / "a-file" / "x.json").remember("http://pi", "m")


# -- the app ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("catalogue", list(OTHER_SERVERS), ids=list(OTHER_SERVERS))
async def test_the_app_starts_on_a_model_that_can_chat(catalogue: str) -> None:
    with FakeOllama(models=OTHER_SERVERS[catalogue]()).start() as server:
        server.script(Reply(text="Hello there."))
        app = app_on(server)
        async with app.run_test(size=(80, 24)) as pilot:
            await chat_ready(app, pilot)
            assert app.current_model == "llama3.2:1b"
            await send(pilot, "hello")
            reply = await reply_ended(app, pilot)
            assert reply.message.status == "complete" and reply.message.content == "Hello there."
            assert chat_models_sent(server) == ["llama3.2:1b"]


async def test_the_app_starts_on_the_model_last_used_with_this_server() -> None:
    with FakeOllama().start() as server, FakeOllama().start() as other:
        app = app_on(server)
        async with app.run_test(size=(80, 24)) as pilot:
            await chat_ready(app, pilot)
            assert app.current_model == "llama3.2:1b"
            app.set_model("qwen3:1.7b")  # what picking it in the Chat tab's list does
            await send(pilot, "hello")
            await reply_ended(app, pilot)
        assert chat_models_sent(server) == ["qwen3:1.7b"]

        # (without reopening that chat, which would bring its model by itself)
        again = app_on(server, chat={"resume_last": False})
        async with again.run_test(size=(80, 24)) as pilot:
            await chat_ready(again, pilot)
            assert again.current_model == "qwen3:1.7b"
        # another server: its own default (the chat reopened at start would bring its model)
        elsewhere = app_on(other, chat={"resume_last": False})
        async with elsewhere.run_test(size=(80, 24)) as pilot:
            await chat_ready(elsewhere, pilot)
            assert elsewhere.current_model == "llama3.2:1b"


def saved_chat(model: str, title: str = "hello") -> int:
    """A chat saved earlier (possibly with another server), the latest in the database."""
    store = SessionStore(Paths.from_env().sessions_db)
    try:
        conversation = Conversation(settings=SessionSettings(model=model), title=title)
        session = store.create_session(conversation)
        store.add_message(session, ChatMessage("user", "hello"))
        store.add_message(session, ChatMessage("assistant", "Hi!", model=model))
        return session
    finally:
        store.close()


async def test_the_model_flag_wins_over_the_reopened_chat(fake_ollama: FakeOllama) -> None:
    saved_chat("gemma3-270m")  # from another server: not installed here
    app = app_on(fake_ollama, model="llama3.2:3b")
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        await wait_for(lambda: "Hi!" in str(chat.conversation.messages), pilot=pilot)
        await wait_for(lambda: len(app.models) > 0, pilot=pilot)
        assert app.current_model == "llama3.2:3b"
        assert chat.conversation.settings.model == "llama3.2:3b"  # the chat goes on with it
        await pilot.press("ctrl+n")
        await wait_for(lambda: chat.conversation.id is None, pilot=pilot)
        assert chat.conversation.settings.model == "llama3.2:3b"
        await send(pilot, "Show me markdown")
        await reply_ended(app, pilot)
        assert app.current_model == "llama3.2:3b"
    assert chat_models_sent(fake_ollama) == ["llama3.2:3b"]


async def test_a_saved_chat_whose_model_is_not_here_goes_on_with_the_default(
    fake_ollama: FakeOllama,
) -> None:
    saved_chat("gemma3-270m")
    app = app_on(fake_ollama)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        assert app.current_model == "llama3.2:1b"
        await wait_for(
            lambda: any("gemma3-270m is not on this server" in n for n in notes(app)), pilot=pilot
        )
        note = next(n for n in notes(app) if "gemma3-270m" in n)
        assert "llama3.2:1b" in note and "\n" not in note  # one line, naming the model used
        assert chat.conversation.settings.model == "llama3.2:1b"
        await send(pilot, "and now?")
        await reply_ended(app, pilot, 2)
    assert chat_models_sent(fake_ollama) == ["llama3.2:1b"]


async def test_a_saved_chat_goes_on_with_its_own_model_when_installed(
    fake_ollama: FakeOllama,
) -> None:
    saved_chat("qwen3:1.7b", "older")
    app = app_on(fake_ollama)
    async with app.run_test(size=(80, 24)) as pilot:
        await chat_ready(app, pilot)
        await wait_for(lambda: app.current_model == "qwen3:1.7b", pilot=pilot)
        assert not [n for n in notes(app) if "not on this server" in n]


# -- pislm ask --------------------------------------------------------------------------------------


@pytest.mark.parametrize("catalogue", list(OTHER_SERVERS), ids=list(OTHER_SERVERS))
def test_ask_uses_a_model_that_can_chat(catalogue: str, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOllama(models=OTHER_SERVERS[catalogue]()).start() as server:
        server.script(Reply(text="Hello there."))
        code, out, err = run(capsys, "ask", "--host", server.url, "hello")
        assert (code, out) == (0, "Hello there.\n"), err
        assert chat_models_sent(server) == ["llama3.2:1b"]


def test_ask_starts_on_the_model_last_used_with_this_server(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], make_app: Callable[..., PislmApp]
) -> None:
    code, _, _ = run(capsys, "ask", "--host", fake_ollama.url, "--model", "qwen3:1.7b", "hi")
    assert code == 0
    code, _, _ = run(capsys, "ask", "--host", fake_ollama.url, "again")
    assert code == 0
    assert chat_models_sent(fake_ollama) == ["qwen3:1.7b", "qwen3:1.7b"]


@pytest.mark.parametrize(
    "argv",
    [("bench", "--runs", "1", "--no-export"), ("where", "France", "--json")],
    ids=["bench", "where"],
)
def test_other_commands_pick_by_the_same_rule(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama(models=embedding_listed_first()).start() as server:
        code, _, err = run(capsys, *argv, "--host", server.url)
        assert code == 0, err
        sent = chat_models_sent(server) + [
            r.json["model"] for r in server.requests_to("/v1/chat/completions") if r.json
        ]
        assert sent and set(sent) == {"llama3.2:1b"}
