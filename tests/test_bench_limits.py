"""The bench against models that misbehave: one that never stops (capped by num_predict, then
timed out with a message saying what to try), an embedding model the listing cannot tell (never
offered, refused before its load), and the CLI's progress on stderr while a request runs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from textual.widgets import SelectionList

from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.cli import main
from pislm_tui.models.bench import BenchProgress, BenchRunner
from tests.fake_ollama import FakeModel, FakeOllama, Reply
from tests.helpers import patient, screen_text
from tests.test_models_tab import MakeApp, app_for, open_bench, open_models

wait_for = patient(30.0)

# An embedding model that the listing cannot tell from a chat model: no "embed" in its name and
# no family (a server that reports none); only its capabilities (`show`) say what it is.
EMBEDDING_UNLABELLED = FakeModel(
    "minilm-l12:latest", 133_000_000, "", "33M", "F16",
    capabilities=["embedding"], context_length=512, embedding_length=384, template="",
    modified_at="2030-01-01T00:00:00.000000000Z",  # the newest: listed first
)  # fmt: skip
NEVER_STOPS = Reply(n_tokens=1_000_000, rate=50)  # a model that does not stop (50 tok/s)


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = OllamaBackend(fake_ollama.url, read_timeout=10)
    yield b
    await b.aclose()


def words(app: Any) -> str:
    """The screen's text with its line breaks and padding squeezed out (the status wraps)."""
    return " ".join(screen_text(app).split())


def chat_options(server: FakeOllama) -> list[dict[str, Any]]:
    return [(r.json or {}).get("options") or {} for r in server.requests_to("/api/chat")]


# -- core ----------------------------------------------------------------------------------------


async def test_every_bench_request_is_capped(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    """A model that never stops: each request carries num_predict, so each reply ends there."""
    fake_ollama.default_reply = Reply(n_tokens=1_000_000)
    result = await BenchRunner(backend, ["gemma2:2b"], "hi", 2, unload=False).run()
    bench = result.models[0]
    assert bench.complete, bench.error
    sent = [o for o in chat_options(fake_ollama)]
    assert len(sent) == 3 and all(o.get("num_predict") == 256 for o in sent)  # the default
    assert [r.eval_count for r in bench.runs] == [256, 256]

    fake_ollama.reset()
    fake_ollama.default_reply = Reply(n_tokens=1_000_000)
    runner = BenchRunner(backend, ["gemma2:2b"], "hi", 1, unload=False, max_tokens=40)
    result = await runner.run()
    assert result.models[0].runs[0].eval_count == 40
    assert all(o.get("num_predict") == 40 for o in chat_options(fake_ollama))


async def test_a_run_that_takes_too_long_fails_that_model_and_says_what_to_try(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(n_tokens=1_000_000, rate=50, model="llama3.2:1b"))
    progress: list[BenchProgress] = []
    runner = BenchRunner(
        backend, ["llama3.2:1b", "gemma2:2b"], "hi", 1, run_timeout=0.5, max_tokens=10_000
    )
    result = await asyncio.wait_for(runner.run(progress.append), 30)
    slow, good = result.models
    assert slow.error is not None and not slow.runs
    assert "the warm-up (with the load) did not finish within 0.5 s" in slow.error
    assert "models.bench_max_tokens (now 10000)" in slow.error
    assert "models.bench_timeout" in slow.error
    assert good.complete  # the bench went on with the next model
    failed = [p for p in progress if p.phase == "failed"]
    assert len(failed) == 1 and "did not finish" in failed[0].describe()
    assert fake_ollama.wait_for(lambda: "/api/chat" in fake_ollama.disconnects)
    assert "llama3.2:1b" not in fake_ollama.loaded  # unloaded: the next model gets the RAM


async def test_only_models_that_can_chat_are_offered(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    from pislm_tui.models.bench import chat_capable

    fake_ollama.add_model(EMBEDDING_UNLABELLED)
    names = await chat_capable(backend, await backend.list_models())
    assert "minilm-l12:latest" not in names
    assert "nomic-embed-text:latest" not in names and "all-minilm:latest" not in names
    assert names[0] == "llama3.2:1b" and "qwen3:1.7b" in names


async def test_an_embedding_model_is_refused_before_its_load(
    backend: OllamaBackend, fake_ollama: FakeOllama
) -> None:
    fake_ollama.add_model(EMBEDDING_UNLABELLED)
    result = await BenchRunner(backend, ["minilm-l12:latest", "gemma2:2b"], "hi", 1).run()
    embed, good = result.models
    assert embed.error is not None and "cannot chat (an embedding model)" in embed.error
    assert embed.error_code == 2 and good.complete
    models_asked = [(r.json or {}).get("model") for r in fake_ollama.requests_to("/api/chat")]
    assert "minilm-l12:latest" not in models_asked  # not even unloaded or loaded


# -- the CLI -------------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_each_step_on_stderr_as_it_starts(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a terminal: a line as each request starts, so a log shows at once what the bench
    waits for (it used to print nothing until the warm-up ended: 200 s for a stuck model)."""
    code, out, err = run(
        capsys, "bench", "--models", "llama3.2:1b", "--runs", "1", "--no-export", "--json",
        "--host", fake_ollama.url,
    )  # fmt: skip
    assert code == 0, err
    lines = err.splitlines()
    assert lines[:4] == [
        "[0/2] llama3.2:1b (1/1) · unloading for a cold start…",
        "[0/2] llama3.2:1b (1/1) · warm-up (loading)…",
        lines[2],  # the warm-up's figures
        "[1/2] llama3.2:1b (1/1) · run 1/1…",
    ]
    assert lines[2].startswith("[1/2] llama3.2:1b (1/1) · warm-up: loaded in ")
    assert lines[-1] == "[2/2] finished"
    assert json.loads(out)["models"][0]["complete"] is True  # stdout: the result alone


def test_cli_timeout_and_cap_flags(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.default_reply = NEVER_STOPS
    code, out, err = run(
        capsys, "bench", "--models", "llama3.2:1b", "--runs", "1", "--no-export",
        "--timeout", "0.5", "--max-tokens", "5000", "--host", fake_ollama.url,
    )  # fmt: skip
    assert code == 5
    assert (
        "llama3.2:1b (1/1) · failed: the warm-up (with the load) did not finish within 0.5 s" in err
    )
    assert "pislm: llama3.2:1b: the warm-up (with the load) did not finish within 0.5 s" in err
    assert "lower models.bench_max_tokens (now 5000), raise models.bench_timeout" in err
    assert "llama3.2:1b" in out and "failed" in out  # the table still comes
    code, _, err = run(capsys, "bench", "--timeout", "0", "--host", fake_ollama.url)
    assert code == 2 and "--timeout must be more than 0" in err


def test_cli_default_model_is_one_that_can_chat(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.add_model(EMBEDDING_UNLABELLED)  # the newest model, of a chat family
    code, out, err = run(capsys, "bench", "--runs", "1", "--no-export", "--host", fake_ollama.url)
    assert code == 0, err
    assert "minilm-l12" not in out and "llama3.2:1b" in out


def test_cli_refuses_an_embedding_model(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.add_model(EMBEDDING_UNLABELLED)
    code, _, err = run(
        capsys, "bench", "--models", "minilm-l12:latest", "--runs", "1", "--no-export",
        "--host", fake_ollama.url,
    )  # fmt: skip
    assert code == 2
    assert "minilm-l12:latest: cannot chat (an embedding model)" in err
    assert not fake_ollama.requests_to("/api/chat")


# -- the app -------------------------------------------------------------------------------------


async def test_bench_view_offers_only_models_that_can_chat(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.add_model(EMBEDDING_UNLABELLED)
    app = app_for(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        panel = await open_bench(app, pilot, tab, "llama3.2:1b")
        picker = panel.query_one("#bench-models", SelectionList)

        def offered() -> list[str]:
            return [picker.get_option_at_index(i).value for i in range(picker.option_count)]

        await wait_for(lambda: "minilm-l12:latest" not in offered(), pilot=pilot)
        await wait_for(lambda: len(fake_ollama.requests_to("/api/show")) >= 6, pilot=pilot)
        await pilot.pause(0.2)
        names = offered()
        assert "minilm-l12:latest" not in names and "nomic-embed-text:latest" not in names
        assert "llama3.2:1b" in names and "qwen3:1.7b" in names


async def test_bench_view_shows_the_wait_and_the_timeout(
    make_app: MakeApp, fake_ollama: FakeOllama
) -> None:
    fake_ollama.script(Reply(n_tokens=1_000_000, rate=50, model="llama3.2:1b"))
    settings = {"bench_timeout": 2.5, "bench_runs": 1, "bench_unload": False}
    app = app_for(make_app, models=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_models(app, pilot)
        panel = await open_bench(app, pilot, tab, "llama3.2:1b")
        # A clock that jumps 12 s once the wait has started (the one request: no unload step).
        panel.wait.clock = lambda: 1000.0 + (12.0 if panel.wait.started else 0.0)
        await pilot.press("ctrl+r")
        await wait_for(
            lambda: "warm-up (loading)… 12 s" in words(app), pilot=pilot, what="the wait"
        )
        await wait_for(lambda: not panel.running, pilot=pilot)
        text = words(app)
        assert "the warm-up (with the load) did not finish within 2.5 s" in text, text
        assert "raise models.bench_timeout" in text
        assert panel.result is not None and panel.result.models[0].error
        assert not panel.wait.running  # nothing ticks once the bench is over
