"""Will it fit? The KV cache of four architectures against values worked out by hand from their
model_info (the test server's /api/show, which gives each tag's real GGUF figures), the verdicts
against memory, loaded models and OLLAMA_MAX_LOADED_MODELS, `pislm models --fit`, and the
Models tab's details showing fits / will swap / will not fit from a recorded Pi's memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pislm_tui.backend.ollama_native import OllamaBackend
from pislm_tui.backend.types import LoadedModel
from pislm_tui.cli import main
from pislm_tui.models.fit import Need, Shape, estimate, judge
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.driving import SLOW_START, monitor_app
from tests.fixtures.monitor.recording import Machine
from tests.helpers import screen_text, wait_for
from tests.test_models_tab import select, show_models

GB = 1_000_000_000


@pytest.fixture
async def backend(fake_ollama: FakeOllama):
    b = OllamaBackend(fake_ollama.url, read_timeout=10)
    yield b
    await b.aclose()


# (model, num_ctx, KV bytes worked out by hand: layers x ctx x kv heads x (K + V) x 2 bytes)
HAND_KV = [
    # llama: 16 layers, 8 KV heads of 64 -> 16 x 4096 x 8 x 128 x 2
    ("llama3.2:1b", 4096, 134_217_728),
    # llama: 28 layers, 8 KV heads of 128 -> 28 x 4096 x 8 x 256 x 2
    ("llama3.2:3b", 4096, 469_762_048),
    # gemma2: head size 256 given (not 2304 / 8 = 288) -> 26 x 4096 x 4 x 512 x 2
    ("gemma2:2b", 4096, 436_207_616),
    # phi3: no key_length, no GQA: 3072 / 32 = 96 per head, 32 KV heads -> 32 x 4096 x 32 x 192 x 2
    ("phi3.5:latest", 4096, 1_610_612_736),
    # qwen3 at its own 40,960 context: 28 x 40960 x 8 x 256 x 2
    ("qwen3:1.7b", 40960, 4_697_620_480),
]


@pytest.mark.parametrize(("model", "ctx", "kv"), HAND_KV, ids=[m for m, _, _ in HAND_KV])
async def test_kv_cache_matches_the_hand_computed_value(
    backend: OllamaBackend, model: str, ctx: int, kv: int
) -> None:
    details = await backend.show(model)
    shape = Shape.of(details.model_info)
    assert shape is not None
    assert shape.kv_cache_bytes(ctx) == kv
    listed = {m.name: m.size for m in await backend.list_models()}
    need = estimate(model, listed[model], details.model_info, ctx)
    assert need.kv_cache == kv
    assert need.total == listed[model] + kv + shape.compute_bytes(ctx)


def test_compute_buffer_is_ollamas_llama_graph_term() -> None:
    shape = Shape("llama", 28, 3072, 24, 8, 128, 128)
    # 4 x 512 x (1 + 4 x 3072 + 4096 x 25)
    assert shape.compute_bytes(4096) == 234_883_072


def test_no_figures_counts_the_weights_only() -> None:
    need = estimate("cloud", 384, {"general.architecture": "llama"}, 4096)
    assert (need.kv_cache, need.total) == (None, 384)
    assert Shape.of({}) is None


def need(total_gb: float, name: str = "m") -> Need:
    return Need(name, int(total_gb * GB), 0, 0, 4096)


def test_verdicts() -> None:
    free, swap = 6 * GB, 1 * GB
    assert judge(need(5), available=free, swap_free=swap).verdict == "fits"
    assert judge(need(6.5), available=free, swap_free=swap).verdict == "swap"
    assert judge(need(8), available=free, swap_free=swap).verdict == "no"
    loaded = [LoadedModel("big", 3 * GB), LoadedModel("small", 1 * GB)]
    evict = judge(need(8), available=free, swap_free=swap, loaded=loaded)
    assert (evict.verdict, evict.evict) == ("evict", ("big",))
    # a full set of loaded models (OLLAMA_MAX_LOADED_MODELS) sends one away even with free RAM
    full = judge(need(1), available=free, swap_free=swap, loaded=loaded, max_loaded=2)
    assert (full.verdict, full.evict) == ("evict", ("big",))
    assert judge(need(9, "big"), available=0, swap_free=0, loaded=loaded).verdict == "fits"
    unknown = judge(need(1), available=None, swap_free=None, why_unknown="elsewhere")
    assert unknown.verdict == "unknown" and "elsewhere" in unknown.line()


def test_models_fit_cli_json(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["models", "--fit", "--ctx", "8192", "--json", "--host", fake_ollama.url])
    out = capsys.readouterr().out
    assert code == 0
    rows = {row["model"]: row for row in json.loads(out)["models"]}
    assert set(rows) == set(fake_ollama.models)
    phi = rows["phi3.5:latest"]
    assert phi["kv_cache_bytes"] == 2 * 1_610_612_736  # twice the 4,096-token cache
    assert phi["need_bytes"] == phi["weights_bytes"] + phi["kv_cache_bytes"] + phi["compute_bytes"]
    assert all(row["fit"] in ("fits", "evict", "swap", "no") for row in rows.values())


# -- the Models tab ------------------------------------------------------------------------------


async def test_models_details_show_fits_swap_and_no(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # The recorded Pi 5: 7.27 GB available, 537 MB of swap free. At the Chat tab's num_ctx of
    # 32,768: llama3.2:1b needs ~4.6 GB (fits), llama3.2:3b ~7.5 GB (swap), phi3.5 ~19 GB (no).
    machine = Machine.copy("pi5_cool", tmp_path)
    app = monitor_app(fake_ollama.url, machine, show_strip=False)
    app.settings.chat.options.num_ctx = 32768
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=SLOW_START)
        tab = await wait_for(lambda: show_models(app), pilot=pilot)
        await wait_for(lambda: tab.table.row_count == len(app.models), pilot=pilot)
        expected: dict[str, Any] = {
            "llama3.2:1b": ("fits", "fits: ~4.6 GB at num_ctx 32,768, 7.3 GB free"),
            "llama3.2:3b": ("swap", "will swap (slow on SD): ~7.5 GB at num_ctx 32,768, 7.3 GB"),
            "phi3.5:latest": ("no", "will not fit: ~17 GB at num_ctx 32,768, 7.8 GB free with"),
        }
        for name, (verdict, line) in expected.items():
            await select(tab, pilot, name)
            shown = line.split(":")[0]  # the pane wraps the rest
            await wait_for(lambda s=shown: f"Fit          {s}" in screen_text(app), pilot=pilot)
            fit = tab.fit_for(name)
            assert fit is not None and fit.verdict == verdict and fit.line().startswith(line)


def seed_history(url: str, rates: dict[str, float], throttled: tuple[str, ...] = ()) -> None:
    """Earlier bench runs, as `pislm bench` stores them."""
    from pislm_tui.config import Paths
    from pislm_tui.models.bench_history import BenchHistory

    history = BenchHistory(Paths.from_env().bench_db)
    with history.db:
        for model, rate in rates.items():
            history.db.execute(
                "INSERT INTO bench_runs (host, model, started_at, eval_rate, runs,"
                " throttled_runs, prompt) VALUES (?, ?, '2026-12-01', ?, 3, ?, 'hi')",
                (url, model, rate, 3 if model in throttled else 0),
            )
    history.close()


async def test_pick_for_me_marks_the_fastest_model_that_fits(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # phi3.5 is fastest by history but will not fit at 32,768; gemma2's only fast run was
    # throttled (not counted): llama3.2:1b is the pick.
    url = fake_ollama.url
    seed_history(url, {"phi3.5:latest": 20.0, "llama3.2:1b": 9.0, "llama3.2:3b": 5.0})
    seed_history(url, {"gemma2:2b": 30.0}, throttled=("gemma2:2b",))
    machine = Machine.copy("pi5_cool", tmp_path)
    app = monitor_app(url, machine, show_strip=False)
    app.settings.chat.options.num_ctx = 32768
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=SLOW_START)
        tab = await wait_for(lambda: show_models(app), pilot=pilot)
        await wait_for(lambda: tab.pick == "llama3.2:1b", pilot=pilot)
        assert str(tab.table.get_row("llama3.2:1b")[1]) == "llama3.2:1b ★"
        await select(tab, pilot, "llama3.2:1b")
        await wait_for(lambda: "fastest that fits" in screen_text(app), pilot=pilot)


def test_pick_for_me_in_the_cli(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    url = fake_ollama.url
    seed_history(url, {"phi3.5:latest": 20.0, "llama3.2:1b": 9.0, "nosuch:1b": 50.0})
    code = main(["models", "--fit", "--json", "--host", url])  # 4,096: this machine's RAM
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["pick"] == "phi3.5:latest"
    assert [m["model"] for m in data["models"] if m["pick"]] == ["phi3.5:latest"]


# -- the Chat tab: a prompt to a model that is not in memory ------------------------------------


async def test_a_chat_prompt_to_a_cold_model_that_will_not_fit_says_so_as_it_loads(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """The same recorded Pi 5 and num_ctx as above: the prompt to phi3.5 (~17 GB) is sent, and a
    warning says it will not fit; one to llama3.2:1b (fits) says nothing."""
    from tests.chat_helpers import chat_ready, notes, send

    machine = Machine.copy("pi5_cool", tmp_path)
    app = monitor_app(fake_ollama.url, machine, show_strip=False)
    app.settings.chat.options.num_ctx = 32768
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot, timeout=SLOW_START)
        chat = await chat_ready(app, pilot)
        assert chat.session.conversation.settings.options.get("num_ctx") == 32768

        def warned() -> list[str]:
            return [n for n in notes(app) if "will not fit" in n or "will swap" in n]

        def answered(count: int) -> bool:
            messages = chat.session.conversation.messages
            return len(messages) == count and not chat.streaming

        await send(pilot, "Hello")  # llama3.2:1b: fits
        await wait_for(lambda: answered(2), pilot=pilot, what="the first reply")
        assert warned() == []

        app.set_model("phi3.5:latest")
        await send(pilot, "And now?")
        note = await wait_for(warned, pilot=pilot, what="the fit warning")
        assert note[0].startswith("will not fit: ~17 GB at num_ctx 32,768")
        assert "smaller num_ctx" in note[0]
        await wait_for(lambda: answered(4), pilot=pilot, what="the reply all the same")
