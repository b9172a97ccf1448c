"""Frames shared with a streaming reply (`shared_frames.py`): while a reply streams, the live
strip's new reading waits for the reply's next flush and is drawn in its frame, instead of a
frame of its own; without a reply, or with the Chat tab hidden (no flushes then), it is drawn
at once."""

from __future__ import annotations

from typing import Any

from pislm_tui.monitor import Sample
from pislm_tui.shared_frames import SharedFrames
from tests.chat_helpers import chat_ready, reply_ended, send, wait_for
from tests.fake_ollama import FakeOllama, Reply


def test_changes_wait_for_a_leader_and_apply_when_it_flushes_or_stops() -> None:
    frames = SharedFrames()
    seen: list[str] = []
    frames.change("strip", lambda: seen.append("now"))
    assert seen == ["now"]  # nobody leads: at once
    leader, other = object(), object()
    frames.lead(leader, True)
    frames.lead(other, True)
    frames.change("strip", lambda: seen.append("first"))
    frames.change("strip", lambda: seen.append("second"))  # replaces the one waiting
    frames.change("clock", lambda: seen.append("clock"))
    assert seen == ["now"]
    frames.apply_pending()  # a leader's flush
    assert seen == ["now", "second", "clock"]
    frames.change("strip", lambda: seen.append("third"))
    frames.lead(leader, False)
    assert seen[-1] == "clock"  # another still leads
    frames.lead(other, False)
    assert seen[-1] == "third"  # the last leader stopped: what waited applies
    frames.lead(other, False)  # (stopping twice is harmless)
    assert frames.led is False


def sample(n: int) -> Sample:
    return Sample(time=float(n), cpu_percent=float(n))


async def test_the_strip_reading_joins_the_reply_flush(
    make_app: Any, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(n_tokens=240, rate=40))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await chat_ready(app, pilot)
        app._publish_sample(sample(1))
        assert app.monitor_sample.time == 1.0  # no reply: at once
        await send(pilot, "Tell me a story.")
        await wait_for(lambda: app.frames.led, pilot=pilot, what="the reply leads")
        app._publish_sample(sample(2))
        assert app.monitor_sample.time == 1.0  # waits for the flush…
        await wait_for(lambda: app.monitor_sample.time == 2.0, pilot=pilot, what="flush")
        # The Chat tab hidden: no flushes, so readings are drawn at once again.
        await pilot.press("f6")
        await wait_for(lambda: app.active_tab == "monitor", pilot=pilot)
        assert not app.frames.led
        app._publish_sample(sample(3))
        assert app.monitor_sample.time == 3.0
        await pilot.press("f2")
        await wait_for(lambda: app.frames.led, pilot=pilot, what="leads again")
        await reply_ended(app, pilot)
        assert not app.frames.led
        app._publish_sample(sample(4))
        assert app.monitor_sample.time == 4.0


async def test_a_streaming_rag_answer_leads_while_its_flushes_run() -> None:
    from textual.app import App, ComposeResult
    from textual.content import Content

    from pislm_tui.widgets.rag_answer import RagAnswer

    class Answering(App[None]):
        def __init__(self) -> None:
            super().__init__()
            self.frames = SharedFrames()
            self.seen: list[int] = []

        def compose(self) -> ComposeResult:
            yield RagAnswer(hz=30)

    app = Answering()
    async with app.run_test(size=(80, 24)) as pilot:
        answer = app.query_one(RagAnswer)
        await answer.start("llama3.2:1b")
        assert app.frames.led
        app.frames.change("strip", lambda: app.seen.append(1))
        assert app.seen == []
        # No text yet (the model thinks): the tick applies what waited all the same.
        await wait_for(lambda: app.seen == [1], pilot=pilot, what="a tick")
        answer.pause()  # the tab hidden: no ticks, so nothing waits
        assert not app.frames.led
        answer.resume()
        answer.feed("Paris is the capital.")
        app.frames.change("strip", lambda: app.seen.append(2))
        await wait_for(lambda: app.seen == [1, 2], pilot=pilot, what="a flush")
        await answer.finish(Content("done"))
        assert not app.frames.led
