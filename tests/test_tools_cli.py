"""`pislm where` end to end against the fake server: output, JSON, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pislm_tui.cli import main
from tests.fake_ollama import IMAGE_DESCRIPTION, FakeOllama, Reply
from tests.test_tools_core import write_png

PISLM = Path(sys.executable).parent / "pislm"


def where(server: FakeOllama, *args: str) -> list[str]:
    return ["where", "--host", server.url, *args]


def test_country_prints_the_lab_sentence(fake_ollama: FakeOllama, capsys) -> None:
    assert main(where(fake_ollama, "France")) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Santiago de Chile is about 11,630 kilometers away from Paris."
    assert out[1].startswith("Paris: 48.8566, 2.3522 · llama3.2:1b · ")
    assert out[1].endswith("· 0 retries")


def test_country_json(fake_ollama: FakeOllama, capsys) -> None:
    fake_ollama.script(Reply(text="no idea"), Reply(text="still thinking"))
    assert main(where(fake_ollama, "united", "states", "--json", "--model", "llama3.2:3b")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["city"] == "Washington, D.C." and data["query"] == "united states"
    assert (data["lat"], data["lon"]) == (38.9072, -77.0369)
    assert round(data["distance_km"], -1) == 8060
    assert data["from"] == {"name": "Santiago de Chile", "lat": -33.33, "lon": -70.51}
    assert data["retries"] == 2 and data["elapsed_s"] >= 0 and data["model"] == "llama3.2:3b"
    assert "country" not in data  # only the image flow asks for it
    assert fake_ollama.requests_to("/v1/chat/completions")[0].json["model"] == "llama3.2:3b"


def test_units_mode_and_configured_location(
    fake_ollama: FakeOllama, capsys, isolated_home: Path
) -> None:
    config = isolated_home / ".config" / "pislm" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[tools]\nmodel = "qwen3:1.7b"\n[tools.location]\nname = "Bogotá"\nlat = 4.711\nlon = -74.0721\n'
    )
    assert main(where(fake_ollama, "Chile", "--units", "mi", "--mode", "json_schema")) == 0
    out = capsys.readouterr().out
    assert out.startswith("Bogotá is about 2,650 miles away from Santiago.")
    [request] = fake_ollama.requests_to("/v1/chat/completions")
    assert (
        request.json["model"] == "qwen3:1.7b"
        and request.json["response_format"]["type"] == "json_schema"
    )


def test_image_flow(fake_ollama: FakeOllama, capsys, tmp_path: Path) -> None:
    photo = write_png(tmp_path / "machu.png")
    assert (
        main(
            where(fake_ollama, "--image", str(photo), "--json", "--vision-model", "llava-phi3:3.8b")
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert (data["city"], data["country"]) == ("Cusco", "Peru")
    assert data["description"] == IMAGE_DESCRIPTION and data["vision_model"] == "llava-phi3:3.8b"
    assert round(data["distance_km"], -1) == 2210


def test_image_flow_streams_the_description(
    fake_ollama: FakeOllama, capsys, tmp_path: Path
) -> None:
    photo = write_png(tmp_path / "machu.png")
    assert main(where(fake_ollama, "--image", str(photo))) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(IMAGE_DESCRIPTION)
    assert "Santiago de Chile is about 2,210 kilometers away from Cusco." in captured.out
    assert "Cusco, Peru: -13.5320, -71.9675" in captured.out
    assert "llava-phi3:3.8b looks at machu.png" in captured.err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "say which country"),
        (("France", "--image", "x.png"), 2, "not both"),
        (("--image", "/no/such/photo.png"), 2, "no such file"),
        (("France", "--max-retries", "99"), 2, "between 0 and 50"),
        (("France", "--model", "nosuch:7b"), 4, "model 'nosuch:7b' is not installed"),
    ],
)
def test_bad_input_exit_codes(fake_ollama: FakeOllama, capsys, args, code, message) -> None:
    assert main(where(fake_ollama, *args)) == code
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_image_that_is_not_an_image(fake_ollama: FakeOllama, capsys, tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("hello")
    assert main(where(fake_ollama, "--image", str(notes))) == 2
    assert "is not an image" in capsys.readouterr().err


def test_server_down_exits_3(isolated_home, capsys) -> None:
    assert main(["where", "--host", "http://127.0.0.1:9", "France"]) == 3
    assert "cannot reach Ollama" in capsys.readouterr().err


def test_failure_after_max_retries_exits_5_without_traceback(fake_ollama: FakeOllama) -> None:
    """Out of process, to see exactly what a user sees on stderr."""
    fake_ollama.script(*[Reply(text="Paris, I think") for _ in range(3)])
    env = {**os.environ}
    out = subprocess.run(
        [str(PISLM), *where(fake_ollama, "France", "--max-retries", "2")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 5
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "pislm: llama3.2:1b gave no valid answer in 3 attempts (last problem: the answer was not "
        "valid JSON) — try again, pick a larger model, or raise tools.max_retries"
    ]


def test_help_lists_the_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["where", "--help"])
    out = capsys.readouterr().out
    for word in ("COUNTRY", "--image", "--vision-model", "--json", "--units", "--max-retries"):
        assert word in out


def test_a_terminal_sees_a_transient_status_line(fake_ollama: FakeOllama) -> None:
    import pty

    master, slave = pty.openpty()
    try:
        out = subprocess.run(
            [str(PISLM), *where(fake_ollama, "France")],
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=60,
        )
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the pty's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    assert out.returncode == 0
    assert out.stdout.startswith("Santiago de Chile is about 11,630 kilometers away from Paris.")
    assert b"asking llama3.2:1b for the capital of France" in seen
    assert seen.endswith(b"\r\x1b[K")  # erased before the answer is printed
