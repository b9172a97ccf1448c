"""`pislm ask` against the fake server: streaming to stdout, stdin, options typed by name,
images, `--json`, `--verbose` (the `ollama run --verbose` block), errors and exit codes."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pislm_tui.backend.stats import GenerationStats
from pislm_tui.cli import main
from tests.fake_ollama import FakeOllama, Reply

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(100))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_chat(fake: FakeOllama) -> dict:
    return fake.requests_to("/api/chat")[-1].json


def test_reply_on_stdout_and_the_verbose_block_on_stderr(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.script(Reply(text="Paris is the capital of France."))
    code, out, err = run(
        capsys, "ask", "--host", fake_ollama.url, "--verbose", "What", "is", "the capital?"
    )
    assert code == 0
    assert out == "Paris is the capital of France.\n"
    stats = fake_ollama.last_stats
    assert stats is not None
    expected = GenerationStats.from_ollama(stats).verbose_lines()
    lines = err.splitlines()
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected
    # then this machine's conditions (the server runs here): temperature, clock, throttle, energy
    after = lines[start + len(expected) :]
    assert [line.split(":")[0] for line in after][:3] == [
        "SoC temperature", "Arm clock", "throttle bits"
    ]  # fmt: skip
    assert after[-1].startswith("energy:")
    rate = stats["eval_count"] * 1e9 / stats["eval_duration"]
    assert f"eval rate:            {rate:.2f} tokens/s" in err
    assert last_chat(fake_ollama)["messages"] == [
        {"role": "user", "content": "What is the capital?"}
    ]


def test_the_reply_streams_as_it_arrives(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    """The first words are on stdout while the server is still sending the rest."""
    fake_ollama.script(Reply(n_tokens=40, rate=20))
    env = {**os.environ, "HOME": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-m", "pislm_tui", "--host", fake_ollama.url, "ask", "tell me"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    first = child.stdout.read1(100)  # type: ignore[attr-defined]
    assert first and not fake_ollama.stats_log  # the server has not finished the reply
    rest, _ = child.communicate(timeout=30)
    assert child.returncode == 0
    assert len((first + rest).split()) == 40


def test_prompt_from_stdin(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Line one\nLine two\n"))
    code, out, _ = run(capsys, "ask", "--host", fake_ollama.url, "-")
    assert code == 0 and out.startswith("You said:")
    assert last_chat(fake_ollama)["messages"][-1]["content"] == "Line one\nLine two\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO("  \n"))
    code, _, err = run(capsys, "ask", "--host", fake_ollama.url, "-")
    assert code == 2 and "no prompt on stdin" in err


def test_options_system_prompt_keep_alive_and_think_on_the_wire(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(
        capsys,
        "ask",
        "--host", fake_ollama.url,
        "--model", "qwen3:1.7b",
        "--system", "Be brief.",
        "-o", "temperature=0.2",
        "--option", "num_ctx=4096",
        "--option", "stop=END",
        "--option", "stop=###",
        "--keep-alive", "-1",
        "--no-think",
        "hi",
    )  # fmt: skip
    assert code == 0
    body = last_chat(fake_ollama)
    assert body["model"] == "qwen3:1.7b"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["options"] == {"temperature": 0.2, "num_ctx": 4096, "stop": ["END", "###"]}
    assert isinstance(body["options"]["num_ctx"], int)
    assert body["keep_alive"] == -1 and body["think"] is False


def test_config_defaults_apply_and_flags_win(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PISLM_CHAT__SYSTEM_PROMPT", "From the config.")
    monkeypatch.setenv("PISLM_CHAT__OPTIONS__TEMPERATURE", "0.7")
    code, _, _ = run(capsys, "ask", "--host", fake_ollama.url, "-o", "seed=3", "hi")
    body = last_chat(fake_ollama)
    assert code == 0 and body["messages"][0]["content"] == "From the config."
    assert body["options"] == {"temperature": 0.7, "seed": 3}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("temp=1", "unknown option 'temp'"),
        ("top_k=high", "top_k must be an integer"),
        ("top_p=3", "top_p"),
    ],
)
def test_bad_options_exit_2_before_sending(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], option: str, message: str
) -> None:
    code, out, err = run(capsys, "ask", "--host", fake_ollama.url, "-o", option, "hi")
    assert code == 2 and message in err and out == ""
    assert fake_ollama.requests_to("/api/chat") == []


def test_json_document(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    fake_ollama.script(Reply(text="Paris."))
    code, out, _ = run(capsys, "ask", "--host", fake_ollama.url, "--json", "Capital?")
    assert code == 0
    data = json.loads(out)
    stats = fake_ollama.last_stats
    assert stats is not None
    assert (
        data["model"] == "llama3.2:1b"
        and data["reply"] == "Paris."
        and data["done_reason"] == "stop"
    )
    assert data["stats"]["eval_count"] == stats["eval_count"]
    assert data["stats"]["eval_duration_s"] == pytest.approx(stats["eval_duration"] / 1e9)
    assert data["stats"]["eval_rate"] == pytest.approx(
        stats["eval_count"] * 1e9 / stats["eval_duration"]
    )
    assert data["stats"]["total_duration_s"] == pytest.approx(stats["total_duration"] / 1e9)


def test_thinking_goes_to_stderr_not_stdout(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.script(Reply(thinking="Let me recall.", text="Paris."))
    code, out, err = run(
        capsys, "ask", "--host", fake_ollama.url, "--model", "qwen3:1.7b", "Capital?"
    )
    assert code == 0 and out == "Paris.\n"
    assert "Thinking…\nLet me recall.\n…done thinking." in err


def test_images_go_base64_to_a_vision_model(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.jpg"
    first.write_bytes(PNG)
    second.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(255, 0, -1)))  # a JPEG
    code, out, _ = run(
        capsys, "ask", "--host", fake_ollama.url, "--model", "llava-phi3:3.8b",
        "--image", str(first), "--image", str(second), "What is this?",
    )  # fmt: skip
    assert code == 0 and out.strip()
    images = last_chat(fake_ollama)["messages"][-1]["images"]
    assert images == [
        base64.b64encode(first.read_bytes()).decode(),
        base64.b64encode(second.read_bytes()).decode(),
    ]


def test_image_problems_are_caught_before_sending(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    picture = tmp_path / "a.png"
    picture.write_bytes(PNG)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    cases = [
        (["--image", str(tmp_path / "missing.png")], "no such file"),
        (["--image", str(text)], "is not an image"),
        (["--image", str(picture)], "llama3.2:1b cannot read images"),
    ]
    for extra, message in cases:
        code, out, err = run(capsys, "ask", "--host", fake_ollama.url, *extra, "What is this?")
        assert code == 2 and message in err and out == ""
    assert fake_ollama.requests_to("/api/chat") == []


def test_unknown_model_and_unreachable_server_exit_codes(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ask", "--host", fake_ollama.url, "--model", "nope:1b", "hi")
    assert code == 4 and out == ""
    assert "model 'nope:1b' is not installed — pull it with `pislm pull nope:1b`" in err
    code, _, err = run(capsys, "ask", "--host", "http://127.0.0.1:9", "hi")
    assert code == 3 and "cannot reach Ollama" in err


def test_an_interrupted_stream_prints_what_arrived_then_the_error_exit_5(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.script(Reply(text="alpha beta gamma delta", drop_after=2))
    code, out, err = run(capsys, "ask", "--host", fake_ollama.url, "hi")
    assert code == 5
    assert out == "alpha beta\n"
    assert "the reply was cut off" in err
    fake_ollama.script(Reply(text="alpha beta gamma", error_after=1))
    code, out, err = run(capsys, "ask", "--host", fake_ollama.url, "--json", "hi")
    data = json.loads(out)
    assert code == 5 and data["reply"] == "alpha" and "an error was encountered" in data["error"]


def test_escape_codes_never_reach_stdout(
    fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ollama.script(Reply(tokens=["a\x1b]0;title\x07", "\x1b[2J", "b\x1b[", "31mc"]))
    code, out, _ = run(capsys, "ask", "--host", fake_ollama.url, "hi")
    assert code == 0 and out == "abc\n"


def test_no_chat_model_installed(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fake_ollama import DEFAULT_MODELS

    embedders = [m for m in DEFAULT_MODELS if m.has("embedding")]
    with FakeOllama(models=embedders).start() as server:
        started = time.monotonic()
        code, _, err = run(capsys, "ask", "--host", server.url, "hi")
    assert code == 2 and "no chat model is installed" in err and "pislm pull" in err
    assert time.monotonic() - started < 10
