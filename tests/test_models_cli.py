"""`pislm models | pull | rm | ps | bench` against the fake server: output, JSON, exit codes."""

from __future__ import annotations

import json
import os
import pty
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from pislm_tui.cli import main
from tests.fake_ollama import FakeOllama


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_models_table_and_json(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "--host", fake_ollama.url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ID", "SIZE", "FAMILY", "PARAMS", "QUANT", "MODIFIED"]
    row = next(line for line in lines if line.startswith("llama3.2:1b "))
    digest = fake_ollama.models["llama3.2:1b"].digest[:12]
    assert digest in row and "1.3 GB" in row and "Q8_0" in row and "ago" in row
    assert len(lines) == 1 + len(fake_ollama.models)

    code, out, _ = run(capsys, "models", "--json", "--host", fake_ollama.url)
    data = json.loads(out)
    names = {m["name"] for m in data["models"]}
    assert code == 0 and names == set(fake_ollama.models)
    one = next(m for m in data["models"] if m["name"] == "nomic-embed-text:latest")
    assert one["size"] == fake_ollama.models["nomic-embed-text:latest"].size
    assert one["family"] == "nomic-bert" and one["size_human"] == "274 MB"


def test_models_when_none_installed(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOllama(models=[]).start() as server:
        code, out, _ = run(capsys, "models", "--host", server.url)
    assert code == 0 and "no models installed" in out and "pislm pull" in out


def test_ps_lists_loaded_models(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "ps", "--host", fake_ollama.url)
    assert code == 0 and "no model is loaded" in out
    import time

    fake_ollama.loaded["gemma2:2b"] = time.time() + 240
    code, out, _ = run(capsys, "ps", "--host", fake_ollama.url)
    header, row = out.splitlines()
    assert header.split() == ["NAME", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    assert row.startswith("gemma2:2b") and "1.6 GB" in row and "100% CPU" in row
    assert "3 minutes" in row or "4 minutes" in row
    code, out, _ = run(capsys, "ps", "--json", "--host", fake_ollama.url)
    (entry,) = json.loads(out)["models"]
    assert entry["name"] == "gemma2:2b" and 200 < entry["seconds_left"] <= 240
    assert entry["processor"] == "100% CPU"


def test_pull_plain_lines(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "pull", "tinyllama", "--host", fake_ollama.url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "pulling manifest" and lines[-1] == "success"
    first = fake_ollama.registry["tinyllama:latest"].layers()[0][0][7:19]
    assert f"pulling {first}:   0% (0 B / 637 MB)" in lines
    assert f"pulling {first}: 100% (637 MB / 637 MB)" in lines
    assert "verifying sha256 digest" in lines
    assert "tinyllama:latest" in fake_ollama.models


def test_pull_failure_exit_code(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "pull", "nosuch", "--host", fake_ollama.url)
    assert code == 4
    assert "pulling manifest" in out
    assert err.startswith("pislm: ") and "nosuch" in err and err.count("\n") == 1
    fake_ollama.pull_fail["tinyllama"] = "max retries exceeded"
    code, _, err = run(capsys, "pull", "tinyllama", "--host", fake_ollama.url)
    assert code == 5 and "max retries exceeded" in err


def test_pull_bad_name_and_server_down(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "pull", "two words", "--host", "http://127.0.0.1:9")
    assert code == 2 and "not a model name" in err
    code, _, err = run(capsys, "pull", "tinyllama", "--host", "http://127.0.0.1:9")
    assert code == 3 and "cannot reach" in err


def test_pull_progress_bar_on_a_terminal(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    """On a TTY the pull draws Rich bars (per layer, with sizes), not plain lines."""
    main_fd, tty_fd = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pislm_tui", "pull", "tinyllama", "--host", fake_ollama.url],
        stdin=tty_fd, stdout=tty_fd, stderr=subprocess.PIPE, env=env, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    os.close(tty_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=60)
    os.close(main_fd)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert "tinyllama: success" in screen
    assert "637.7/637.7 MB" in screen  # Rich's download column, decimal units like Ollama
    assert "\x1b[" in screen  # drawn with terminal control sequences: a live bar
    assert "pulling manifest\n" not in screen.replace("\r", "")  # not the plain-line format


def test_rm(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rm", "gemma2:2b", "--host", fake_ollama.url)
    assert code == 0 and out == "deleted 'gemma2:2b'\n"
    assert "gemma2:2b" not in fake_ollama.models
    code, out, err = run(capsys, "rm", "nosuch", "phi3.5", "--host", fake_ollama.url)
    assert code == 4 and "nosuch" in err  # the missing one is reported ...
    assert (
        out == "deleted 'phi3.5'\n" and "phi3.5:latest" not in fake_ollama.models
    )  # ... the rest done


def test_bench_json_figures_match_the_server(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, out, err = run(
        capsys, "bench", "--models", "llama3.2:1b,gemma2:2b", "--runs", "2", "--json",
        "--host", fake_ollama.url,
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["prompt"] == "What is the capital of France?" and data["runs"] == 2
    for model in data["models"]:
        log = [e for e in fake_ollama.stats_log if e["model"] == model["model"]]
        warm, runs = log[0], log[1:]
        rates = [e["eval_count"] * 1e9 / e["eval_duration"] for e in runs]
        assert model["load_duration_s"] == pytest.approx(warm["load_duration"] / 1e9)
        assert model["eval_rate"]["median"] == pytest.approx(statistics.median(rates))
        assert model["eval_rate"]["min"] == pytest.approx(min(rates))
        assert model["eval_rate"]["max"] == pytest.approx(max(rates))
        totals = [e["total_duration"] / 1e9 for e in runs]
        assert model["total_duration_s"]["median"] == pytest.approx(statistics.median(totals))
        assert set(model["prompt_eval_rate"]) == {"median", "min", "max"}
    csv_path, json_path = Path(data["export"]["csv"]), Path(data["export"]["json"])
    assert csv_path.parent == isolated_home / ".local/share/pislm/bench"
    assert csv_path.exists() and json.loads(json_path.read_text())["runs"] == 2
    assert "warm-up" in err and "finished" in err  # progress went to stderr, not into the JSON


def test_bench_table_and_failures(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "bench", "--models", "llama3.2:1b,nosuch", "--runs", "1", "--prompt", "hi",
        "--no-export", "--host", fake_ollama.url,
    )  # fmt: skip
    assert code == 4  # a model was missing
    assert "prompt: 'hi'" in out and "Eval t/s" in out
    assert "nosuch" in err and "not installed" in err
    row = next(line for line in out.splitlines() if line.startswith("llama3.2:1b"))
    # 8 speed columns, then peak °C, lowest MHz, throttled, J/token (n/a off a Pi)
    assert len(row.split()) == 12
    assert "eval rate (median tok/s)" in out and "█" in out and "saved" not in out


def test_bench_default_model_and_bad_runs(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "bench", "--runs", "1", "--no-export", "--host", fake_ollama.url)
    assert code == 0
    first_chat = [line for line in out.splitlines() if "llama3.2:1b" in line]
    assert first_chat  # the first installed chat model (the list is newest first)
    code, _, err = run(capsys, "bench", "--runs", "0", "--host", fake_ollama.url)
    assert code == 2 and "runs must be at least 1" in err
