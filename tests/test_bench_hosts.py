"""`pislm bench --hosts a,b --models m`: the same model and prompt on two test servers, one
after the other, in one table; a host that is down says so and the others still run."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_ollama import FakeOllama
from tests.faults.env_helpers import run_cli


@pytest.fixture
def second_ollama() -> Iterator[FakeOllama]:
    with FakeOllama().start() as server:
        yield server


def config(tmp_path: Path, a: FakeOllama, b: FakeOllama) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[hosts.pi5]\nurl = "{a.url}"\n\n[hosts.jetson]\nurl = "{b.url}"\n\n'
        '[hosts.far]\nurl = "http://127.0.0.1:9"\n\n'
        f'[hosts.gpu]\nurl = "{b.url}/v1"\napi = "openai"\n',
        encoding="utf-8",
    )
    return path


def pislm(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, with this test's environment (its config, its home)."""
    return run_cli(*args, env=dict(os.environ), timeout=120)


def test_one_table_with_both_hosts(
    fake_ollama: FakeOllama, second_ollama: FakeOllama, tmp_path: Path
) -> None:
    cfg = config(tmp_path, fake_ollama, second_ollama)
    run = pislm(
        "--config", str(cfg), "bench", "--hosts", "pi5,jetson", "--models", "llama3.2:1b",
        "--runs", "2", "--no-export",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Host"))
    end = lines.index("", header)  # the table ends at a blank line; notes follow
    rows = [line.split() for line in lines[header + 1 : end]]
    assert [(r[0], r[1]) for r in rows] == [("pi5", "llama3.2:1b"), ("jetson", "llama3.2:1b")]
    assert all(float(r[4]) > 0 for r in rows)  # eval tok/s, from each server's own figures

    # one after the other: each server got its own warm-up and runs (and its unloads)
    def chats(server: FakeOllama) -> list:
        return [r for r in server.requests_to("/api/chat") if r.json.get("messages")]

    assert len(chats(fake_ollama)) == len(chats(second_ollama)) == 3
    first_end = max(r.time for r in fake_ollama.requests_to("/api/chat"))
    second_start = min(r.time for r in second_ollama.requests_to("/api/chat"))
    assert first_end < second_start


def test_a_host_that_is_down_says_so_and_the_json_has_every_host(
    fake_ollama: FakeOllama, second_ollama: FakeOllama, tmp_path: Path
) -> None:
    cfg = config(tmp_path, fake_ollama, second_ollama)
    run = pislm(
        "--config", str(cfg), "bench", "--hosts", "far,pi5", "--models", "llama3.2:1b",
        "--runs", "1", "--no-export", "--json",
    )  # fmt: skip
    assert run.returncode == 5
    data = json.loads(run.stdout)
    far, pi = data["hosts"]
    assert far["host"] == "far" and "cannot reach" in far["error"]
    assert pi["host"] == "pi5" and pi["models"][0]["eval_rate"]["median"] > 0
    assert "far: cannot reach" in run.stderr


def test_an_openai_host_is_benched_without_unloading(
    fake_ollama: FakeOllama, second_ollama: FakeOllama, tmp_path: Path
) -> None:
    cfg = config(tmp_path, fake_ollama, second_ollama)
    run = pislm(
        "--config", str(cfg), "bench", "--hosts", "gpu", "--models", "llama3.2:1b",
        "--runs", "1", "--no-export", "--json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (gpu,) = json.loads(run.stdout)["hosts"]
    assert gpu["host"] == "gpu" and gpu["models"][0]["error"] is None
    assert second_ollama.requests_to("/v1/chat/completions")


def test_hosts_without_models_is_a_usage_error(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    cfg = config(tmp_path, fake_ollama, fake_ollama)
    run = pislm("--config", str(cfg), "bench", "--hosts", "all")
    assert run.returncode == 2 and "--hosts needs --models" in run.stderr
