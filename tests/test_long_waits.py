"""Long waits say what goes on: a structured answer (Where, Image → city) shows how long it has
taken, which retry it is on and why the answer before was sent back, and gives up after
tools.timeout with what to try; a model load shows its time, stops on Esc, and a load that
outlasts read_timeout says what to try. Against the fake server, the app under Textual's pilot.

The clocks of the waits are replaced by ones that jump 12 s once the wait has started, so the
screen shows a known time after the first tick (1 s of real time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pislm_tui.backend import PislmError
from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.chat.images import load_image
from pislm_tui.tools.geo import CityCoord
from pislm_tui.tools.structured import extract
from pislm_tui.tools.where import describe_image
from pislm_tui.widgets.tools_where import WherePane
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import patient, screen_text
from tests.test_models_tab import MakeApp, app_for, notes, open_models, select
from tests.test_tools_core import write_png
from tests.test_tools_tab import ask_country, card_text, open_tools

wait_for = patient(30.0)
QUESTION = [{"role": "user", "content": "What is the capital city of Japan?"}]


def jumping_clock(wait: Any) -> Any:
    """0 until `wait` starts, then 12 s later."""
    return lambda: 1000.0 + (12.0 if wait.started is not None else 0.0)


def words(app: Any) -> str:
    return " ".join(screen_text(app).split())


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = OllamaBackend(fake_ollama.url, read_timeout=30)
    yield b
    await b.aclose()


# -- core ----------------------------------------------------------------------------------------


async def test_each_attempt_is_reported_with_why_the_answer_before_was_rejected(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(
        Reply(text="not json"), Reply(text='{"city": "Tokyo", "lat": 95, "lon": 139.6}')
    )
    seen: list[Any] = []
    found = await extract(backend, "llama3.2:1b", CityCoord, QUESTION, on_attempt=seen.append)
    assert found.value.city == "Tokyo" and found.retries == 2
    assert [(a.number, a.of, a.retry) for a in seen] == [(1, 11, 0), (2, 11, 1), (3, 11, 2)]
    assert seen[0].rejected is None
    assert seen[1].rejected == "the answer was not valid JSON"
    assert seen[2].rejected is not None and seen[2].rejected.startswith("lat: ")


async def test_a_question_that_takes_too_long_says_what_to_try(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    from pislm_tui.tools.structured import ExtractionTimeout

    fake_ollama.script(Reply(text="not json"), Reply(text="{}", first_byte_delay=20))
    with pytest.raises(ExtractionTimeout) as info:
        await extract(backend, "llama3.2:1b", CityCoord, QUESTION, timeout=1.5)
    text = str(info.value)
    assert "llama3.2:1b gave no valid answer within 1.5 s (2 attempts)" in text
    assert "lower tools.max_retries, or raise tools.timeout" in text
    assert fake_ollama.wait_for(lambda: "/v1/chat/completions" in fake_ollama.disconnects, 30)


async def test_a_photo_description_that_takes_too_long_says_what_to_try(
    backend: OllamaBackend, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    image = load_image(write_png(tmp_path / "city.png"))
    fake_ollama.script(Reply(n_tokens=1_000_000, rate=20, model="llava-phi3:3.8b"))
    with pytest.raises(PislmError) as info:
        await describe_image(backend, "llava-phi3:3.8b", image, timeout=0.5)
    text = str(info.value)
    assert "llava-phi3:3.8b did not finish describing the photo within 0.5 s" in text
    assert "raise tools.timeout" in text


# -- Where ---------------------------------------------------------------------------------------


async def test_where_shows_the_time_the_retry_and_why(make_app, fake_ollama: FakeOllama) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot)
        pane = app.query_one(WherePane)
        pane.wait.clock = jumping_clock(pane.wait)
        fake_ollama.script(
            Reply(text="not json"),
            Reply(text='{"city": "Tokyo", "lat": 35.68, "lon": 139.69}', first_byte_delay=3),
        )
        await ask_country(app, pilot, "Japan")
        await wait_for(
            lambda: "12 s" in card_text(app, "#where-card"), pilot=pilot, what="the time"
        )
        shown = card_text(app, "#where-card")
        assert shown.startswith("Asking llama3.2:1b for the capital of Japan… · 12 s · ")
        assert "retry 1 of 10 (the last answer: the answer was not valid JSON)" in shown
        assert shown.endswith("Esc stops")
        await wait_for(lambda: "Tokyo" in card_text(app, "#where-card"), pilot=pilot)
        assert "1 retry" in card_text(app, "#where-card")
        assert not pane.wait.running  # nothing ticks once the answer is in


async def test_where_gives_up_after_the_timeout_and_says_what_to_try(
    make_app, fake_ollama: FakeOllama
) -> None:
    app = make_app(tools={"timeout": 1.5})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_tools(app, pilot)
        fake_ollama.script(Reply(text="{}", first_byte_delay=20))
        await ask_country(app, pilot, "Japan")
        await wait_for(
            lambda: "within 1.5 s" in card_text(app, "#where-card"), pilot=pilot, what="timeout"
        )
        text = words(app)
        assert "llama3.2:1b gave no valid answer within 1.5 s (1 attempt)" in text
        assert "try a smaller or faster model" in text and "raise tools.timeout" in text
        assert app.query_one("#where-card").has_class("-error")
        assert not app.query_one(WherePane).wait.running


# -- Load ----------------------------------------------------------------------------------------


async def test_load_shows_its_time_and_esc_stops_waiting(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.load_delay = 60  # a big model from an SD card
    app = app_for(make_app)
    async with app.run_test(size=(100, 30)) as pilot:
        tab = await open_models(app, pilot)
        tab.memory_probe = lambda: 64_000_000_000
        tab.load_wait.clock = jumping_clock(tab.load_wait)
        await select(tab, pilot, "llama3.2:1b")
        await pilot.press("l")
        await wait_for(
            lambda: "Loading llama3.2:1b… 12 s" in screen_text(app), pilot=pilot, what="the wait"
        )
        assert "Esc stops" in screen_text(app)
        assert "esc Stop loading" in screen_text(app).splitlines()[-1]  # the footer
        await pilot.press("escape")
        await wait_for(
            lambda: any("Stopped waiting for llama3.2:1b" in n for n in notes(app)), pilot=pilot
        )
        await wait_for(lambda: "Loading" not in screen_text(app), pilot=pilot)
        assert tab.loading_model is None and not tab.load_wait.running
        assert "Stop loading" not in screen_text(app).splitlines()[-1]


async def test_load_that_outlasts_the_read_timeout_says_what_to_try(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.load_delay = 60
    app = app_for(make_app, read_timeout=1.5)
    async with app.run_test(size=(100, 30)) as pilot:
        tab = await open_models(app, pilot)
        tab.memory_probe = lambda: 64_000_000_000
        await select(tab, pilot, "llama3.2:1b")
        await pilot.press("l")
        await wait_for(lambda: any("did not finish loading" in n for n in notes(app)), pilot=pilot)
        note = next(n for n in notes(app) if "did not finish loading" in n)
        assert "llama3.2:1b did not finish loading within 1.5 s" in note
        assert "the server may still be loading it" in note and "raise read_timeout" in note
        await wait_for(lambda: "Loading" not in screen_text(app), pilot=pilot)
        assert app.is_running
