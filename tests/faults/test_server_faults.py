"""Server faults, driven through the real app (Textual pilot at 80x24) and the real CLI against
the fake Ollama over real sockets: a server that is down at start, dies in the middle of a reply
and comes back, answers with errors or junk, says nothing, floods, or sends hostile bytes. The
app must say what happened and what to do, keep what the user typed and what arrived, and stay
usable; the CLI must print one line and exit with the documented code."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from textual import events

from pislm_tui.cli import main
from pislm_tui.widgets.chat_log import ChatLog
from pislm_tui.widgets.prompt_input import PromptInput
from tests.fake_ollama import FakeOllama, Reply
from tests.fake_ollama.reply import generated_tokens
from tests.faults.server_helpers import (
    HTML_502,
    app_at,
    chat_ready,
    free_port,
    junk_server,
    notes,
    one_error_line,
    prompt_text,
    replies,
    reply_ended,
    run_cli,
    send,
    stored_messages,
    wait_for,
)
from tests.helpers import screen_text

SIZE = (80, 24)


def flat(app: Any) -> str:
    """The screen as one line of words (wrapped sentences joined again, panel edges left out)."""
    return " ".join(screen_text(app).translate(_EDGES).split())


_EDGES = str.maketrans(dict.fromkeys("▕▏│▎▊▌", " "))


# -- 1. the server is down at start ---------------------------------------------------------------


async def test_app_starts_with_the_server_down_then_finds_it_and_chats() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = app_at(url, health_backoff_max=0.5)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(lambda: app.connection.status == "unreachable", pilot=pilot)
        # The banner says what is wrong and what to do, at 80x24.
        await wait_for(lambda: "ollama serve" in screen_text(app), pilot=pilot)
        text = flat(app)
        assert f"cannot reach Ollama at {url}" in text and "Retrying automatically." in text
        # A prompt typed meanwhile is not thrown away, and the user is told why nothing happens.
        await wait_for(lambda: isinstance(app.focused, PromptInput), pilot=pilot)
        await send(pilot, "Is anybody there?")
        await wait_for(lambda: notes(app), pilot=pilot, what="a notification")
        assert any("cannot reach Ollama" in n for n in notes(app)), notes(app)
        assert prompt_text(app) == "Is anybody there?"
        assert not replies(app)

        with FakeOllama(port=port).start() as server:
            started = time.monotonic()
            await wait_for(lambda: app.connection.connected and app.models, pilot=pilot)
            assert time.monotonic() - started < 5  # backoff capped at 0.5 s
            await wait_for(lambda: app.current_model == "llama3.2:1b", pilot=pilot)
            await wait_for(lambda: "cannot reach" not in screen_text(app), pilot=pilot)
            assert "llama3.2:1b" in screen_text(app)  # the model picker shows it
            # The kept prompt goes as it is.
            server.script(Reply(text="Yes, I am here."))
            await pilot.press("enter")
            reply = await reply_ended(app, pilot)
            assert reply.message.status == "complete"
            assert reply.message.content == "Yes, I am here."
            assert "Yes, I am here." in screen_text(app)
            sent = server.requests_to("/api/chat")[-1].json
            assert sent["messages"][-1] == {"role": "user", "content": "Is anybody there?"}


def test_cli_with_the_server_down_prints_one_line_and_exits_3() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (("ask", "hello"), ("ask", "--model", "llama3.2:1b", "hello"), ("models",)):
        done = run_cli("--host", url, *args)
        assert done.returncode == 3, (args, done.stderr)
        line = one_error_line(done.stderr)
        assert f"cannot reach Ollama at {url}" in line and "ollama serve" in line
        assert done.stdout == ""
    # An OpenAI-compatible server is not called Ollama (it may be llama.cpp, LM Studio...).
    done = run_cli("--host", url, "--api", "openai", "ask", "--model", "m", "hello")
    assert done.returncode == 3 and done.stdout == ""
    line = one_error_line(done.stderr)
    assert f"cannot reach the OpenAI-compatible server at {url}/v1" in line


# -- 2. the server dies in the middle of a reply, then comes back ---------------------------------


async def test_server_killed_mid_reply_keeps_the_partial_and_the_draft_then_works_again() -> None:
    port = free_port()
    server = FakeOllama(port=port).start()
    app = app_at(server.url, health_backoff_max=0.5)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            chat = await chat_ready(app, pilot)
            server.script(Reply(n_tokens=400, rate=40))
            await send(pilot, "Tell me a long story")
            await wait_for(lambda: chat.session.live and chat.session.live.tokens >= 8, pilot=pilot)
            await pilot.press(*"draft")  # the user types the next prompt while it streams
            assert prompt_text(app) == "draft"
            server.stop()  # the server dies mid-reply

            reply = await reply_ended(app, pilot)
            partial = reply.message.content
            assert reply.message.status == "error" and partial
            assert len(partial.split()) < 400
            assert "connection to the server was lost" in (reply.message.error or "")
            await wait_for(lambda: "⚠ the reply was cut off" in screen_text(app), pilot=pilot)
            assert reply.markdown.source == partial  # all that arrived is on screen
            assert prompt_text(app) == "draft"  # what the user typed is still there
            # Saved as it is: the prompt, then the partial reply marked as broken.
            rows = stored_messages()
            assert [(r[0], r[1], r[2]) for r in rows] == [
                ("user", "complete", "Tell me a long story"),
                ("assistant", "error", partial),
            ]
            assert "connection to the server was lost" in (rows[1][3] or "")
            # The status line learns at once that the server is gone (not at the next check).
            await wait_for(lambda: app.connection.status == "unreachable", pilot=pilot, timeout=5)
            assert "cannot reach Ollama" in screen_text(app)

            # Still down: the next prompt is refused with the reason and stays in the box.
            await pilot.press(*" one")
            await pilot.press("enter")
            await wait_for(lambda: any("cannot reach Ollama" in n for n in notes(app)), pilot=pilot)
            assert prompt_text(app) == "draft one"
            assert len(replies(app)) == 1

            # The server comes back on the same port: the same prompt goes, with the history.
            server = FakeOllama(port=port).start()
            server.script(Reply(text="Welcome back."))
            await pilot.press("enter")
            second = await reply_ended(app, pilot, 2)
            assert second.message.status == "complete"
            assert second.message.content == "Welcome back."
            sent = server.requests_to("/api/chat")[-1].json["messages"]
            assert sent == [
                {"role": "user", "content": "Tell me a long story"},
                {"role": "assistant", "content": partial},
                {"role": "user", "content": "draft one"},
            ]
            assert prompt_text(app) == ""
            await wait_for(lambda: app.connection.connected, pilot=pilot)
    finally:
        server.stop()


def test_cli_ask_when_the_server_dies_mid_reply_keeps_what_arrived_exit_5() -> None:
    port = free_port()
    server = FakeOllama(port=port).start()
    try:
        server.script(Reply(n_tokens=400, rate=40))
        child = subprocess.Popen(
            [sys.executable, "-m", "pislm_tui", "--host", server.url, "ask", "a story"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None
        first = child.stdout.read1(20)  # type: ignore[attr-defined]
        assert first
        server.stop()
        rest, err = child.communicate(timeout=30)
    finally:
        server.stop()
    out = (first + rest).decode()
    assert child.returncode == 5
    assert 0 < len(out.split()) < 400 and out.endswith("\n")
    line = one_error_line(err.decode())
    assert "the reply was cut off: the connection to the server was lost" in line


# -- 3. error statuses and junk instead of a reply ------------------------------------------------

# (reply scripted for /api/chat, what the user must be told)
BAD_ANSWERS = [
    pytest.param(
        Reply(status=500, body='{"error":"llama runner process has terminated: signal: killed"}'),
        "server error (500): llama runner process has terminated: signal: killed",
        id="500-error-json",
    ),
    pytest.param(
        Reply(status=200, body="not json at all", content_type="text/plain"),
        "unexpected answer from the server: the body is not JSON",
        id="200-not-json",
    ),
    pytest.param(
        Reply(status=502, body=HTML_502, content_type="text/html"),
        "unexpected answer from the server: an HTML page with status 502",
        id="502-html",
    ),
]


# The same faults from an OpenAI-compatible /v1 endpoint (--api openai).
OPENAI_BAD_ANSWERS = [
    pytest.param(
        Reply(
            status=500,
            body='{"error":{"message":"llama runner process has terminated","type":"api_error"}}',
        ),
        "server error (500): llama runner process has terminated",
        id="500-error-json",
    ),
    pytest.param(
        Reply(status=200, body="not json at all", content_type="text/plain"),
        "unexpected answer from the server: no reply events in the stream",
        id="200-not-json",
    ),
    pytest.param(
        Reply(status=502, body=HTML_502, content_type="text/html"),
        "unexpected answer from the server: an HTML page with status 502",
        id="502-html",
    ),
]


@pytest.mark.parametrize("api", ["ollama", "openai"])
async def test_chat_error_answers_keep_the_prompt_and_the_app_usable(
    fake_ollama: FakeOllama, api: str
) -> None:
    app = app_at(fake_ollama.url, api=api)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        chat = await chat_ready(app, pilot)
        for n, param in enumerate(BAD_ANSWERS if api == "ollama" else OPENAI_BAD_ANSWERS):
            reply, expected = param.values
            fake_ollama.script(reply)
            prompt = f"question {n} [b]kept[/b]"
            await send(pilot, prompt)
            await wait_for(
                lambda expected=expected: any(expected in note for note in notes(app)),
                pilot=pilot,
                what=param.id,
            )
            await wait_for(lambda: not chat.streaming and not chat._sending, pilot=pilot)
            assert prompt_text(app) == prompt, param.id  # given back, to retry or edit
            assert not replies(app), param.id  # no empty reply left behind
            assert chat.conversation is not None and chat.conversation.messages == []
            # On screen (a toast), not only in a log.
            await wait_for(lambda expected=expected: expected[:30] in flat(app), pilot=pilot)
            app.clear_notifications()
        assert stored_messages() == []  # nothing half-saved
        # Still usable: the same prompt goes once the server behaves.
        fake_ollama.script(Reply(text="Fine now."))
        await pilot.press("enter")
        reply = await reply_ended(app, pilot)
        assert reply.message.content == "Fine now." and reply.message.status == "complete"


@pytest.mark.parametrize(
    ("api", "reply", "expected"),
    [pytest.param("ollama", *p.values, id=f"ollama-{p.id}") for p in BAD_ANSWERS]
    + [pytest.param("openai", *p.values, id=f"openai-{p.id}") for p in OPENAI_BAD_ANSWERS],
)
def test_cli_ask_error_answers_exit_5_with_one_line(
    fake_ollama: FakeOllama,
    capsys: pytest.CaptureFixture[str],
    api: str,
    reply: Reply,
    expected: str,
) -> None:
    fake_ollama.script(reply)
    code = main(["ask", "--host", fake_ollama.url, "--api", api, "hello"])
    out, err = capsys.readouterr()
    assert code == 5
    assert out == ""
    assert expected in one_error_line(err)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (
            500,
            b'{"error":"internal error"}',
            "application/json",
            "server error (500): internal error",
        ),
        (200, b"not json at all", "text/plain", "unexpected answer from the server"),
        (502, HTML_502.encode(), "text/html", "HTML page"),
    ],
    ids=["500-error-json", "200-not-json", "502-html"],
)
@pytest.mark.parametrize("command", [["models"], ["models", "--json"], ["ask", "hello"], ["ps"]])
def test_cli_against_a_server_that_only_answers_junk(
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
    content_type: str,
    expected: str,
    command: list[str],
) -> None:
    """Every request gets the same junk (a proxy in front of a dead Ollama, a web server)."""
    with junk_server(status, body, content_type) as (url, paths):
        code = main([*command, "--host", url])
    out, err = capsys.readouterr()
    assert paths  # it did ask
    assert code == 5, err
    assert out == ""
    assert expected in one_error_line(err)


# -- 4. a server that says nothing ----------------------------------------------------------------


async def test_a_silent_server_times_out_while_the_app_stays_responsive(
    fake_ollama: FakeOllama,
) -> None:
    app = app_at(fake_ollama.url, read_timeout=1)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        chat = await chat_ready(app, pilot)
        fake_ollama.script(Reply(text="too late", first_byte_delay=6))
        started = time.monotonic()
        await send(pilot, "Hello?")
        await wait_for(lambda: "waiting for the first token" in screen_text(app), pilot=pilot)
        # While it waits, the app answers keys: another tab, and back.
        await pilot.press("alt+2")
        await wait_for(lambda: app.active_tab == "models" and app.query("ModelsTab"), pilot=pilot)
        await pilot.press("alt+1")
        await wait_for(lambda: app.active_tab == "chat", pilot=pilot)
        expected = f"no answer from {fake_ollama.url} within 1 s"
        await wait_for(lambda: any(expected in n for n in notes(app)), pilot=pilot)
        assert time.monotonic() - started < 5  # the read timeout, not the server, ended it
        await wait_for(lambda: "raise read_timeout" in flat(app), pilot=pilot)  # what to do
        await wait_for(lambda: not chat.streaming and not chat._sending, pilot=pilot)
        assert prompt_text(app) == "Hello?"  # nothing arrived: the prompt is given back
        assert not replies(app) and stored_messages() == []
        # The connection is dropped by the client, the server sees it go.
        assert fake_ollama.wait_for(lambda: "/api/chat" in fake_ollama.disconnects, timeout=10)


async def test_esc_stops_a_silent_wait_at_once(fake_ollama: FakeOllama) -> None:
    app = app_at(fake_ollama.url, read_timeout=30)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await chat_ready(app, pilot)
        fake_ollama.script(Reply(text="too late", first_byte_delay=4))
        await send(pilot, "Hello?")
        await wait_for(lambda: "waiting for the first token" in screen_text(app), pilot=pilot)
        await wait_for(lambda: fake_ollama.requests_to("/api/chat"), pilot=pilot)
        pressed = time.monotonic()
        await pilot.press("escape")
        reply = await reply_ended(app, pilot)
        assert time.monotonic() - pressed < 2  # not the server's 4 s, nor the 30 s timeout
        assert reply.message.status == "stopped" and reply.message.content == ""
        await wait_for(lambda: "■ stopped before any text arrived" in screen_text(app), pilot=pilot)
        assert "Esc stops" not in screen_text(app)
        # The request was really abandoned: the server saw the client go.
        assert fake_ollama.wait_for(lambda: "/api/chat" in fake_ollama.disconnects, timeout=10)
        assert fake_ollama.stats_log == []  # it never finished a reply
        # And the chat goes on.
        fake_ollama.script(Reply(text="Here now."))
        await send(pilot, "Again?")
        second = await reply_ended(app, pilot, 2)
        assert second.message.content == "Here now."


async def test_a_reply_broken_by_an_error_line_or_by_silence_keeps_what_arrived(
    fake_ollama: FakeOllama,
) -> None:
    app = app_at(fake_ollama.url, read_timeout=1)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await chat_ready(app, pilot)
        cases = [
            # an {"error": ...} line after three tokens (the runner crashed mid-reply)
            (
                Reply(text="alpha beta gamma delta", error_after=3),
                "alpha beta gamma",
                "the server reported: an error was encountered while running the model",
            ),
            # two tokens, then nothing for longer than read_timeout
            (
                Reply(tokens=["one", " two", " three"], stall_after=2),
                "one two",
                f"no answer from {fake_ollama.url} within 1 s",
            ),
        ]
        for n, (reply, partial, reason) in enumerate(cases, start=1):
            fake_ollama.script(reply)
            await send(pilot, f"question {n}")
            view = await reply_ended(app, pilot, n)
            assert view.message.status == "error"
            assert view.message.content == partial
            assert reason in (view.message.error or "")
            await wait_for(lambda reason=reason: reason[:40] in flat(app), pilot=pilot)
            assert prompt_text(app) == ""  # the prompt was answered (in part): not given back
        rows = stored_messages()
        assert [(r[0], r[1], r[2]) for r in rows] == [
            ("user", "complete", "question 1"),
            ("assistant", "error", "alpha beta gamma"),
            ("user", "complete", "question 2"),
            ("assistant", "error", "one two"),
        ]


def test_cli_ask_against_a_silent_server_times_out_exit_5(
    fake_ollama: FakeOllama,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PISLM_READ_TIMEOUT", "1")
    fake_ollama.script(Reply(text="too late", first_byte_delay=6))
    started = time.monotonic()
    code = main(["ask", "--host", fake_ollama.url, "--model", "llama3.2:1b", "hello"])
    out, err = capsys.readouterr()
    assert time.monotonic() - started < 5
    assert code == 5 and out == ""
    line = one_error_line(err)
    assert f"no answer from {fake_ollama.url} within 1 s" in line and "read_timeout" in line


# -- 5. a flood: 100,000 tokens at full speed -----------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def test_a_100k_token_reply_at_full_speed(fake_ollama: FakeOllama) -> None:
    n = 100_000
    expected = "".join(generated_tokens(n))
    paragraphs = expected.count("\n\n") + 1
    assert paragraphs > 1_600  # what a widget per paragraph would cost
    app = app_at(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        chat = await chat_ready(app, pilot)
        fake_ollama.script(Reply(n_tokens=n))
        gc.collect()
        base_rss, base_widgets = _rss_mb(), len(app.query("*"))
        peak = {"rss": base_rss, "widgets": base_widgets}

        def sample(condition: Any) -> Any:
            peak["rss"] = max(peak["rss"], _rss_mb())
            peak["widgets"] = max(peak["widgets"], len(app.query("*")))
            return condition()

        started = time.monotonic()
        await send(pilot, "Say a lot")
        await wait_for(
            lambda: sample(lambda: chat.session.live and chat.session.live.tokens > n // 10),
            pilot=pilot,
        )
        # A key press is handled while the flood goes on (the loop is not starved).
        pressed = time.monotonic()
        assert app._driver is not None
        app._driver.send_message(events.Key("x", "x"))
        await wait_for(lambda: sample(lambda: prompt_text(app) == "x"), pilot=pilot)
        latency = time.monotonic() - pressed
        assert chat.streaming, "the key was only handled after the reply ended"
        assert latency < 2, latency
        reply = await wait_for(
            lambda: sample(lambda: not chat.streaming and replies(app) and replies(app)[0]),
            pilot=pilot,
            timeout=180,
        )
        elapsed = time.monotonic() - started
        message = reply.message
        assert message.status == "complete"
        assert message.content == expected  # every token, in order
        assert message.stats is not None and message.stats.eval_count == n
        assert reply.markdown.source == expected
        stored = [row for row in stored_messages() if row[0] == "assistant"]
        assert stored == [("assistant", "complete", expected, None)]
        # The end of the reply is on screen, with its figures.
        await wait_for(lambda: f"{n} tokens" in screen_text(app), pilot=pilot)
        # Bounded: the widget tree does not grow with the text (1,600+ paragraphs), and memory
        # grows by far less than a copy of the per-token objects would cost.
        assert peak["widgets"] - base_widgets < 20, peak
        assert peak["rss"] - base_rss < 150, (peak, base_rss)  # measured: about 70 MB
        print(
            f"\n100k tokens: {elapsed:.1f} s in the app, key handled in {latency:.2f} s, "
            f"RSS +{peak['rss'] - base_rss:.0f} MB, widgets {base_widgets} -> {peak['widgets']}"
        )


# -- 6. hostile output: markup, escape sequences, a huge line, invalid UTF-8 ----------------------

LONG_LINE = "0123456789" * 2_000  # 20,000 characters, no space to break at
BAD_BYTES = b"\xff\xfe".decode("utf-8", "surrogateescape")  # raw on the wire: invalid UTF-8
HOSTILE_TOKENS = [
    "Look: ",
    "[bold red]x[/bold red]",
    " \x1b[2J",  # clear the screen
    "\x1b[10;",  # a cursor move split across two chunks
    "10Hmoved",
    " \x1b]52;c;aGk=\x07clip",  # OSC 52: set the clipboard
    " \x1b]0;pwned\x07named",  # OSC 0: set the window title
    " \x1b[5A\x1b[2Kup",  # cursor up, erase the line
    " \x9b31mc1",  # 8-bit CSI
    " bad:",
    BAD_BYTES,
    " end\n\n",
    LONG_LINE,
    "\n\ntail",
]
CLEAN = (
    "Look: [bold red]x[/bold red] moved clip named up c1 bad:\ufffd\ufffd end\n\n"
    + LONG_LINE
    + "\n\ntail"
)


def _assert_clean_screen(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "pwned" not in text and "aGk=" not in text and "52;c" not in text


async def test_hostile_output_is_shown_and_saved_as_plain_text(fake_ollama: FakeOllama) -> None:
    app = app_at(fake_ollama.url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await chat_ready(app, pilot)
        fake_ollama.script(Reply(tokens=HOSTILE_TOKENS))
        await send(pilot, "Show me [red]markup[/red]")
        reply = await reply_ended(app, pilot)
        assert reply.message.status == "complete"
        assert reply.message.content == CLEAN
        assert reply.markdown.source == CLEAN
        reply.scroll_visible(animate=False, top=True)
        await wait_for(
            lambda: "Look: [bold red]x[/bold red] moved clip" in screen_text(app), pilot=pilot
        )
        text = screen_text(app)
        assert "Show me [red]markup[/red]" in text  # the prompt is literal too
        assert "named up c1 bad:\ufffd\ufffd end" in text
        assert "01234567890123456789" in text  # the huge line is folded, not lost
        _assert_clean_screen(text)
        app.query_one(ChatLog).focus()
        await pilot.press("end")  # still responsive: the end of the reply comes into view
        await wait_for(lambda: "tail" in screen_text(app), pilot=pilot)
        _assert_clean_screen(screen_text(app))
        assert app.is_running

    # Saved clean, and shown clean again when the chat is reopened.
    assert stored_messages()[-1] == ("assistant", "complete", CLEAN, None)
    again = app_at(fake_ollama.url)
    async with again.run_test(size=SIZE) as pilot:
        await chat_ready(again, pilot)
        reopened = await wait_for(lambda: replies(again), pilot=pilot)
        assert reopened[0].message.content == CLEAN
        await wait_for(lambda: "tail" in screen_text(again), pilot=pilot)
        _assert_clean_screen(screen_text(again))


def test_cli_ask_prints_hostile_output_as_plain_text(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.script(Reply(tokens=HOSTILE_TOKENS))
    code = main(["ask", "--host", fake_ollama.url, "hi"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out == CLEAN + "\n"
    fake_ollama.script(Reply(tokens=HOSTILE_TOKENS))
    code = main(["ask", "--host", fake_ollama.url, "--json", "hi"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["reply"] == CLEAN


def test_cli_ask_over_the_openai_api_cleans_output_and_refuses_bad_utf8(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    """The openai client cannot decode invalid UTF-8 in an event: the reply is cut there, with
    a precise reason, and what arrived before it is kept (cleaned)."""
    tokens = [t for t in HOSTILE_TOKENS if t != BAD_BYTES]
    fake_ollama.script(Reply(tokens=tokens))
    code = main(["ask", "--host", fake_ollama.url, "--api", "openai", "hi"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out == CLEAN.replace("\ufffd", "") + "\n"
    fake_ollama.script(Reply(tokens=["Look:", " \x1b]0;pwned\x07fine", BAD_BYTES, " more"]))
    code = main(["ask", "--host", fake_ollama.url, "--api", "openai", "hi"])
    out, err = capsys.readouterr()
    assert code == 5 and out == "Look: fine\n"
    assert "the reply was cut off: the server sent text that is not valid UTF-8" in one_error_line(
        err
    )


# -- the same kinds of faults on other tabs -------------------------------------------------------


async def _open_rag_with_the_sample(app: Any, pilot: Any) -> Any:
    from textual.widgets import OptionList, Static, TabbedContent

    from pislm_tui.tabs.rag import RagTab

    def shown() -> Any:
        if app.query_one("#tabs", TabbedContent).active != "rag":
            app.show_tab("rag")  # again if the Chat tab took the focus back while it loaded
            return None
        tab = next(iter(app.query(RagTab)), None)
        return tab if tab is not None and tab.store is not None else None

    await wait_for(lambda: app.models, pilot=pilot)
    tab = await wait_for(shown, pilot=pilot, timeout=30, what="the RAG tab")
    app.query_one("#rag-collections", OptionList).focus()
    await pilot.press("d")
    await wait_for(
        lambda: "Added to bee-facts" in str(app.query_one("#rag-message", Static).content),
        pilot=pilot,
        timeout=30,
    )
    return tab


async def test_rag_ask_error_answers_and_silence_leave_the_tab_usable(
    fake_ollama: FakeOllama,
) -> None:
    from textual.widgets import Input

    from pislm_tui.widgets.rag_answer import RagAnswer

    app = app_at(fake_ollama.url, read_timeout=1)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        tab = await _open_rag_with_the_sample(app, pilot)
        question = app.query_one("#rag-question", Input)
        asked = question.value
        assert asked and app.focused is question
        answer = tab.query_one(RagAnswer)
        faults = [
            (BAD_ANSWERS[0].values[0], "server error (500): llama runner"),
            (BAD_ANSWERS[2].values[0], "an HTML page with status 502"),
            (Reply(text="late", first_byte_delay=6), "no answer from"),
        ]
        for reply, expected in faults:
            fake_ollama.script(reply)
            await pilot.press("enter")
            await wait_for(lambda expected=expected: expected in flat(app), pilot=pilot)
            await wait_for(lambda: not tab.asking, pilot=pilot)
            assert question.value == asked  # the question stays, to ask again
            assert answer.text == ""
        # The tab still works once the server does.
        fake_ollama.script(Reply(text="They dance."))
        await pilot.press("enter")
        await wait_for(lambda: "tok/s" in screen_text(app), pilot=pilot)
        assert answer.text == "They dance."


async def test_models_pull_when_the_server_dies_then_again_after_restart() -> None:
    from pislm_tui.screens.models_pull import PullNameScreen
    from pislm_tui.tabs.models import ModelsTab
    from pislm_tui.widgets.pull_progress import PullPanel

    port = free_port()
    server = FakeOllama(port=port).start()
    server.pull_delay = 0.2
    app = app_at(server.url, health_backoff_max=0.5)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await chat_ready(app, pilot)
            await pilot.press("alt+2")
            tab = await wait_for(
                lambda: next((t for t in app.query(ModelsTab) if t.built), None), pilot=pilot
            )
            await wait_for(lambda: tab.table.row_count == len(app.models), pilot=pilot)

            async def start_pull() -> None:
                tab.table.focus()
                await pilot.press("p")
                await wait_for(lambda: isinstance(app.screen, PullNameScreen), pilot=pilot)
                await pilot.press(*"tinyllama", "enter")

            await start_pull()
            panel = await wait_for(lambda: next(iter(app.query(PullPanel)), None), pilot=pilot)
            await wait_for(lambda: panel.tracker.layers, pilot=pilot, what="a layer")
            server.stop()
            await wait_for(lambda: panel.tracker.state == "failed", pilot=pilot)
            await wait_for(lambda: "Pull failed: tinyllama" in screen_text(app), pilot=pilot)
            text = flat(app)
            assert "the pull was cut off: the connection to the server was lost" in text
            assert "pull again to resume" in text
            await wait_for(lambda: app.connection.status == "unreachable", pilot=pilot)
            await pilot.press("escape")  # closes the failed panel
            await wait_for(lambda: not app.query(PullPanel), pilot=pilot)

            server = FakeOllama(port=port).start()
            server.pull_delay = 0.001
            await wait_for(lambda: app.connection.connected, pilot=pilot)
            await start_pull()
            await wait_for(lambda: "tinyllama:latest" in app.model_names(), pilot=pilot)
            assert "tinyllama:latest" in server.models
    finally:
        server.stop()


def test_cli_pull_when_the_server_dies_mid_pull_exit_5() -> None:
    port = free_port()
    server = FakeOllama(port=port).start()
    server.pull_delay = 0.3
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "pislm_tui", "--host", server.url, "pull", "tinyllama"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdout is not None
        assert child.stdout.readline().startswith(b"pulling manifest")
        server.stop()
        _, err = child.communicate(timeout=30)
    finally:
        server.stop()
    assert child.returncode == 5
    line = one_error_line(err.decode())
    assert "the pull was cut off: the connection to the server was lost" in line
    assert "pull again to resume" in line
