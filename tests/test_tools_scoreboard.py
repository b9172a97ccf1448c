"""The tool scoreboard (issue 15) against the fake server, whose models behave differently:
`good` answers right at once, `retry` sends broken JSON twice before a right answer, `broken`
never sends valid JSON nor calls a tool, `lost` calls the tool but knows no capital. The
figures and the recommendation must be what those behaviours imply."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from pislm_tui.cli import main
from pislm_tui.config import ToolsSettings
from pislm_tui.tools.gazetteer import GAZETTEER, Capital, capital_is_right
from pislm_tui.tools.scoreboard import ScoreboardRunner, ScoreProgress
from pislm_tui.tools.scoreboard_store import (
    export_scoreboard,
    load_scoreboards,
    save_scoreboard,
)
from tests.fake_ollama import DEFAULT_MODELS, FakeModel, FakeOllama
from tests.helpers import screen_text, wait_for
from tests.test_tools_core import write_png
from tests.test_tools_tab import submit

TOOLS = ["completion", "tools"]
RETRIES = 3  # tools.max_retries for these runs


def scoreboard_models() -> list[FakeModel]:
    return [
        FakeModel("good:1b", 1_000_000_000, capabilities=TOOLS, calls_tools=True),
        FakeModel("retry:1b", 1_100_000_000, capabilities=TOOLS, calls_tools=True, bad_json=2),
        FakeModel("broken:1b", 1_200_000_000, capabilities=TOOLS, bad_json=99),
        *DEFAULT_MODELS,
    ]


@pytest.fixture
def lab_ollama() -> Iterator[FakeOllama]:
    with FakeOllama(models=scoreboard_models()).start() as server:
        yield server


def settings() -> ToolsSettings:
    return ToolsSettings(max_retries=RETRIES, timeout=60)


async def test_figures_follow_the_models_behaviour(lab_ollama: FakeOllama, make_settings) -> None:
    from pislm_tui.backend import make_backend

    backend = make_backend(make_settings(host=lab_ollama.url).settings)
    seen: list[ScoreProgress] = []
    runner = ScoreboardRunner(backend, settings(), ["broken:1b", "retry:1b", "good:1b"], runs=2)
    try:
        board = await runner.run(seen.append)
    finally:
        await backend.aclose()
    scores = {s.model: s for s in board.scores()}
    assert [s.model for s in board.scores()] == ["good:1b", "retry:1b", "broken:1b"]
    good, retry, broken = scores["good:1b"], scores["retry:1b"], scores["broken:1b"]
    assert good.tasks == retry.tasks == broken.tasks == 2 * 3
    assert (good.valid_rate, good.correct_rate, good.mean_retries) == (1.0, 1.0, 0.0)
    assert (retry.valid_rate, retry.correct_rate, retry.mean_retries) == (1.0, 1.0, 2.0)
    assert (broken.valid_rate, broken.correct_rate, broken.mean_retries) == (0.0, 0.0, RETRIES)
    assert all(s.median_latency_s is not None and s.median_latency_s >= 0 for s in scores.values())
    assert board.best().model == "good:1b"
    assert board.recommendation().startswith("Best for tools: good:1b (100% right")
    # broken's failures say why.
    failed = [r for r in board.results if r.model == "broken:1b"]
    assert {r.error for r in failed if r.task == "tool_call"} == {"the model did not call the tool"}
    assert all("4 attempts" in r.error for r in failed if r.task != "tool_call")
    # Progress: one report before each task, and one at the end.
    assert [p.done for p in seen] == list(range(len(seen)))
    assert seen[-1].done == seen[-1].total == 18
    # The tool task sent the capital's and the user's coordinates to the distance tool.
    tool_round = [r for r in lab_ollama.requests_to("/api/chat") if r.json.get("tools")]
    assert tool_round and tool_round[0].json["tools"][0]["function"]["name"] == "distance"


async def test_no_recommendation_when_nothing_is_right(lab_ollama, make_settings) -> None:
    from pislm_tui.backend import make_backend

    backend = make_backend(make_settings(host=lab_ollama.url).settings)
    try:
        board = await ScoreboardRunner(backend, settings(), ["broken:1b"], runs=1).run()
    finally:
        await backend.aclose()
    assert board.best() is None
    assert board.recommendation() == "No recommendation: no model answered any task right."


def test_answers_are_judged_by_name_and_50_km() -> None:
    paris = GAZETTEER[0]
    assert capital_is_right("Paris", 48.86, 2.35, paris)
    assert capital_is_right(" paris. ", 48.86, 2.35, paris)
    assert not capital_is_right("Lyon", 48.86, 2.35, paris)
    assert not capital_is_right("Paris", 45.76, 4.84, paris)  # Lyon's coordinates: 392 km off
    assert capital_is_right("Paris", 48.8566 + 0.4, 2.3522, paris)  # 44 km north
    assert not capital_is_right("Paris", 48.8566 + 0.5, 2.3522, paris)  # 56 km north
    chile = next(c for c in GAZETTEER if c.country == "Chile")
    assert capital_is_right("Santiago de Chile", -33.45, -70.67, chile)
    assert capital_is_right(
        "Santiago", -33.45, -70.67, Capital("Chile", "Santiago", -33.45, -70.67)
    )


async def test_saved_and_exported(lab_ollama, make_settings, tmp_path: Path) -> None:
    from pislm_tui.backend import make_backend

    backend = make_backend(make_settings(host=lab_ollama.url).settings)
    try:
        runner = ScoreboardRunner(
            backend, settings(), ["good:1b", "broken:1b"], runs=1,
            now=lambda: datetime(2026, 12, 6, 20, 0, 0).astimezone(),
        )  # fmt: skip
        board = await runner.run()
    finally:
        await backend.aclose()
    save_scoreboard(board, tmp_path)
    [again] = load_scoreboards(tmp_path)
    assert again.models == ["good:1b", "broken:1b"]
    assert [s.to_json() for s in again.scores()] == [s.to_json() for s in board.scores()]
    export = export_scoreboard(board, tmp_path / "bench")
    assert export.csv.name == "tools-bench-20261206-200000.csv"
    rows = list(csv.DictReader(export.csv.open()))
    assert [(r["model"], r["correct_rate"], r["recommended"]) for r in rows] == [
        ("good:1b", "1.0", "True"),
        ("broken:1b", "0.0", "False"),
    ]
    data = json.loads(export.json.read_text())
    assert data["recommended"] == "good:1b" and len(data["results"]) == 6


def test_cli_bench_tools(lab_ollama: FakeOllama, capsys, isolated_home: Path) -> None:
    code = main(["bench", "--tools", "--models", "good:1b,retry:1b", "--runs", "1",
                 "--host", lab_ollama.url, "--json"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recommended"] == "good:1b"
    assert [s["model"] for s in data["scores"]] == ["good:1b", "retry:1b"]
    assert data["scores"][1]["mean_retries"] == 2.0
    assert Path(data["export"]["csv"]).exists() and Path(data["saved"]).exists()
    assert main(["bench", "--tools", "--models", "good:1b", "--runs", "1", "--no-export",
                 "--host", lab_ollama.url]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "good:1b" in out and "Best for tools: good:1b" in out


def test_cli_bench_tools_with_a_photo_scores_vision_models_on_image_to_city(
    lab_ollama: FakeOllama, capsys, isolated_home: Path, tmp_path: Path
) -> None:
    """The lab's image → city: the vision model (the fake's llava-phi3 sees Machu Picchu)
    describes the photo and names Cusco; judged against the place the user says it shows.
    A model without vision is not given the photo."""
    photo = write_png(tmp_path / "machu.png")
    base = ["bench", "--tools", "--models", "llava-phi3:3.8b,good:1b", "--runs", "1",
            "--no-export", "--host", lab_ollama.url, "--json", "--image", str(photo)]  # fmt: skip
    assert main([*base, "--image-city", "Cusco, Peru", "--image-at=-13.53,-71.97"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    image = [r for r in results if r["task"] == "image_city"]
    assert [(r["model"], r["country"], r["valid"], r["correct"]) for r in image] == [
        ("llava-phi3:3.8b", "Peru", True, True)
    ]
    assert len([r for r in results if r["model"] == "good:1b"]) == 3  # no photo task
    # The same photo said to show Lima (a capital of the gazetteer): a valid answer, not right.
    assert main([*base, "--image-city", "Lima"]) == 0
    image = [r for r in json.loads(capsys.readouterr().out)["results"] if r["task"] == "image_city"]
    assert [(r["valid"], r["correct"]) for r in image] == [(True, False)]
    # Missing or wrong details are said, and nothing runs.
    assert main([*base, "--image-city", "Cusco"]) == 2
    assert "give its coordinates" in capsys.readouterr().err
    assert main([*base, "--image-city", "Cusco", "--image-at", "north"]) == 2
    assert "is not LAT,LON" in capsys.readouterr().err
    assert main([*base[:-2], "--image", str(tmp_path / "nope.png"), "--image-city", "Lima"]) == 2
    assert "no such file" in capsys.readouterr().err


# -- the Scoreboard pane, driven like a user -----------------------------------------------------


async def open_scoreboard(app, pilot) -> None:
    await wait_for(lambda: app.connection.connected, pilot=pilot, what="connected")
    await pilot.press("f5")
    await wait_for(lambda: app.query("#where-country"), pilot=pilot, what="the tab")
    await pilot.press("f10")
    await wait_for(lambda: app.focused is not None and app.focused.id == "score-models",
                   pilot=pilot)  # fmt: skip


async def test_pane_runs_shows_recommends_and_keeps(lab_ollama, make_app, isolated_home) -> None:
    app = make_app(host=lab_ollama.url, tools={"max_retries": RETRIES})
    async with app.run_test(size=(100, 30)) as pilot:
        await open_scoreboard(app, pilot)
        app.query_one("#score-runs", Input).value = "1"
        await submit(app, pilot, "#score-models", "broken:1b, good:1b, retry:1b")
        await wait_for(lambda: "Done: 3 models, 9 tasks." in screen_text(app), pilot=pilot)
        text = screen_text(app)
        rows = [
            ln.split() for ln in text.splitlines() if ":1b" in ln and "%" in ln and "Best" not in ln
        ]
        assert [r[:4] for r in rows] == [
            ["good:1b", "100%", "100%", "0.0"],
            ["retry:1b", "100%", "100%", "2.0"],
            ["broken:1b", "0%", "0%", "3.0"],
        ]
        assert "Best for tools: good:1b (100% right, 100% valid structure)." in text
        await wait_for(lambda: "Saved tools-bench-" in screen_text(app), pilot=pilot)  # then kept
        [saved] = load_scoreboards(app.paths.data_dir)
        assert saved.best().model == "good:1b"
    # Opened again: the last run shows at once.
    app = make_app(host=lab_ollama.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_scoreboard(app, pilot)
        await wait_for(lambda: "Last run:" in screen_text(app), pilot=pilot)
        assert "Best for tools: good:1b" in screen_text(app)


async def test_escape_stops_the_scoreboard_and_keeps_what_finished(
    lab_ollama: FakeOllama, make_app
) -> None:
    from tests.fake_ollama import Reply

    app = make_app(host=lab_ollama.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_scoreboard(app, pilot)
        app.query_one("#score-runs", Input).value = "2"
        # The second task (JSON schema) of good:1b stalls: the first is done by then.
        lab_ollama.script(Reply(text='{"city": "Paris", "lat": 48.8566, "lon": 2.3522}'),
                          Reply(text="{}", first_byte_delay=60))  # fmt: skip
        await submit(app, pilot, "#score-models", "good:1b")
        await wait_for(lambda: "2/6" in screen_text(app) or "1/6" in screen_text(app),
                       pilot=pilot)  # fmt: skip
        await wait_for(lambda: "esc Stop" in screen_text(app), pilot=pilot)
        await pilot.press("escape")
        await wait_for(lambda: "Stopped after 1 of 6 tasks (kept)." in screen_text(app),
                       pilot=pilot)  # fmt: skip
        await wait_for(lambda: "Saved tools-bench-" in screen_text(app), pilot=pilot)
        [saved] = load_scoreboards(app.paths.data_dir)
        assert len(saved.results) == 1 and saved.results[0].correct
        assert saved.cancelled and saved.runs == 2 and saved.models == ["good:1b"]
    app = make_app(host=lab_ollama.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_scoreboard(app, pilot)
        await wait_for(lambda: "(stopped after 1 task)" in screen_text(app), pilot=pilot)


async def test_bad_runs_value_is_explained(lab_ollama: FakeOllama, make_app) -> None:
    app = make_app(host=lab_ollama.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_scoreboard(app, pilot)
        app.query_one("#score-runs", Input).value = "0"
        await submit(app, pilot, "#score-models", "good:1b")
        await wait_for(lambda: "runs must be a whole number from 1 to 50" in screen_text(app),
                       pilot=pilot)  # fmt: skip
        assert not lab_ollama.requests_to("/v1/chat/completions")
