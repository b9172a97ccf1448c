"""Named hosts in the app: two test servers as two `[hosts.NAME]`. The status line names the
host, the palette's "Host:" switches, each chat keeps the host it was held with, and opening a
chat held with the other host goes back to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.chat.store import SessionStore
from pislm_tui.config import load_settings
from pislm_tui.hosts.named import current_host, find_host, pick_hosts
from pislm_tui.widgets.status_bar import ConnectionStatus
from tests.chat_helpers import chat_ready, reply_ended, send, wait_for
from tests.fake_ollama import FakeOllama


@pytest.fixture
def second_ollama() -> Iterator[FakeOllama]:
    with FakeOllama().start() as server:
        yield server


def two_hosts(a: FakeOllama, b: FakeOllama, **extra: Any) -> Any:
    return load_settings(
        overrides={
            "host": "pi5",
            "hosts": {"pi5": {"url": a.url}, "jetson": {"url": b.url}},
            **extra,
        }
    )


def test_a_named_host_gives_its_url_api_and_key() -> None:
    loaded = load_settings(
        overrides={
            "host": "jetson",
            "hosts": {
                "jetson": {"url": "http://10.0.0.9:8080/v1", "api": "openai", "api_key": "k"},
                "pi5": {"url": "pi5.local", "ssh": "pi@pi5.local", "ssh_args": ["-p", "2222"]},
            },
        }
    )
    s = loaded.settings
    assert loaded.host_name == "jetson"
    assert (s.host, s.api, s.api_key) == ("http://10.0.0.9:8080/v1", "openai", "k")
    pi = find_host(s, "pi5")
    assert (pi.url, pi.ssh, pi.ssh_args, pi.local) == (
        "http://pi5.local:11434",
        "pi@pi5.local",
        ("-p", "2222"),
        False,
    )
    assert [h.name for h in pick_hosts(s, "all")] == ["jetson", "pi5"]
    assert current_host(s, None).name == ""


def test_a_url_that_is_a_named_hosts_gets_its_name_and_an_unknown_name_is_refused() -> None:
    loaded = load_settings(
        overrides={"host": "http://127.0.0.1:11500", "hosts": {"box": {"url": "127.0.0.1:11500"}}}
    )
    assert loaded.host_name == "box"
    with pytest.raises(Exception, match="no host named 'nope'"):
        find_host(loaded.settings, "nope")


def test_a_bad_host_table_is_reported_with_its_line(tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[hosts.pi5]\nurl = "pi5.local"\napi = "grpc"\n', encoding="utf-8")
    loaded = load_settings(config_file=config)
    assert any("hosts.pi5.api" in w and "line 3" in w for w in loaded.warnings)


async def test_switching_hosts_keeps_each_chats_host(
    fake_ollama: FakeOllama, second_ollama: FakeOllama
) -> None:
    app = PislmApp(two_hosts(fake_ollama, second_ollama))
    async with app.run_test(size=(100, 24)) as pilot:
        await chat_ready(app, pilot)
        status = app.query_one(ConnectionStatus)
        await wait_for(lambda: "pi5" in status.render().plain, pilot=pilot, what="host named")
        await send(pilot, "hello pi")
        await reply_ended(app, pilot)
        first = app.query_one("ChatTab").session.conversation  # type: ignore[attr-defined]
        assert first.host == "pi5"

        await pilot.press("ctrl+p")
        await pilot.press(*"host: jetson")
        await wait_for(lambda: app.screen.query("CommandList"), pilot=pilot)
        await pilot.press("enter")
        await wait_for(lambda: app.backend.url == second_ollama.url, pilot=pilot, what="switch")
        await wait_for(lambda: app.connection.connected, pilot=pilot, what="jetson connected")
        await wait_for(lambda: "jetson" in status.render().plain, pilot=pilot)
        chat = app.query_one("ChatTab")
        await wait_for(
            lambda: chat.session.conversation is not first,  # type: ignore[attr-defined]
            pilot=pilot,
            what="a new chat",
        )
        await send(pilot, "hello jetson")
        await reply_ended(app, pilot)
        assert second_ollama.requests_to("/api/chat"), "the reply came from the other host"
        assert len(fake_ollama.requests_to("/api/chat")) == 1

        # opening the first chat goes back to its host
        await pilot.press("ctrl+o")
        await wait_for(lambda: app.screen.query("OptionList"), pilot=pilot, what="chat list")
        from tests.helpers import screen_text

        await wait_for(lambda: "on pi5" in screen_text(app), pilot=pilot, what="its host")
        assert "on jetson" not in screen_text(app)  # the host in use goes without saying
        await pilot.press("down", "enter")
        await wait_for(lambda: app.backend.url == fake_ollama.url, pilot=pilot, what="back")
        await wait_for(lambda: app.host_name == "pi5", pilot=pilot)

    store = SessionStore(app.paths.sessions_db)
    try:
        hosts = {s.title: s.host for s in store.list_sessions()}
    finally:
        store.close()
    assert hosts == {"hello pi": "pi5", "hello jetson": "jetson"}


async def test_no_switch_while_a_reply_streams(
    fake_ollama: FakeOllama, second_ollama: FakeOllama
) -> None:
    from tests.chat_helpers import notes
    from tests.fake_ollama import Reply

    fake_ollama.script(Reply(text="a slow answer " * 20, stall_after=3))
    app = PislmApp(two_hosts(fake_ollama, second_ollama))
    async with app.run_test(size=(100, 24)) as pilot:
        chat = await chat_ready(app, pilot)
        await send(pilot, "take your time")
        await wait_for(lambda: chat.streaming, pilot=pilot, what="streaming")
        await app.switch_host("jetson").wait()
        assert app.backend.url == fake_ollama.url and app.host_name == "pi5"
        assert any("Still working with pi5" in n for n in notes(app))
        await pilot.press("escape")  # the reply stops, kept; now the switch goes through
        await wait_for(lambda: not chat.streaming and not app.busy(), pilot=pilot)
        await app.switch_host("jetson").wait()
        assert app.backend.url == second_ollama.url
