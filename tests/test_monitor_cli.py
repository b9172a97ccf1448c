"""`pislm monitor` as a user runs it: a real process, on this machine and on recorded ones."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.recording import FIXTURES

DOWN = "http://127.0.0.1:9"  # nothing listens there


def pislm(
    *args: str, machine: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if machine:
        root = FIXTURES / machine
        env |= {
            "PISLM_MONITOR__PROC_ROOT": str(root / "proc"),
            "PISLM_MONITOR__SYS_ROOT": str(root / "sys"),
            "PISLM_MONITOR__VCGENCMD": str(root / "vcgencmd"),
        }
    return subprocess.run(
        [sys.executable, "-m", "pislm_tui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def meminfo_total() -> int:
    text = Path("/proc/meminfo").read_text()
    return int(re.search(r"^MemTotal:\s+(\d+) kB", text, re.M).group(1)) * 1024


def test_once_json_on_this_machine(fake_ollama: FakeOllama) -> None:
    fake_ollama.loaded["llama3.2:1b"] = time.time() + 300
    run = pislm("--host", fake_ollama.url, "monitor", "--once", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert len(data["cores"]) == os.cpu_count()
    assert data["ram"]["total"] == meminfo_total()
    assert all(0 <= c <= 100 for c in data["cores"])
    for key in ("load", "swap", "temp_c", "throttled", "fan_rpm", "freq_mhz"):
        assert key in data
    assert [m["name"] for m in data["ollama_loaded"]] == ["llama3.2:1b"]


def test_once_json_on_a_recorded_hot_pi5_with_the_server_down() -> None:
    run = pislm("--host", DOWN, "monitor", "--once", "--json", machine="pi5_hot")
    assert run.returncode == 0, run.stderr  # a down server is not the monitor's failure
    data = json.loads(run.stdout)
    assert len(data["cores"]) == 4 and data["host"] == "pi5"
    assert data["temp_c"] == 83.2
    assert data["throttled"] == {
        "raw": "0x70006",
        "now": ["arm_freq_capped", "throttled"],
        "since_boot": ["under_voltage", "arm_freq_capped", "throttled"],
        "unknown_bits": None,
    }
    assert data["fan_rpm"] == 7931 and data["freq_mhz"] == 1500 and data["freq_max_mhz"] == 2400
    assert data["ollama_loaded"] is None
    assert "cannot reach Ollama" in data["unavailable"]["ollama_loaded"]
    runner = next(p for p in data["processes"] if p["pid"] == 2140)
    assert runner["role"] == "ollama runner"


def test_once_text_without_sensors() -> None:
    run = pislm("--host", DOWN, "monitor", "--once", machine="no_sensors")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.startswith("container · 2 cores · load 0.95 0.47 0.24")
    assert "Temp n/a — no thermal zones or hwmon sensors" in out
    assert "sudo usermod -aG video $USER" in out  # the VCHI / device error, with its fix
    assert "Swap none" in out
    assert "\x1b" not in out


def test_lines_and_json_lines_when_piped() -> None:
    run = pislm("--host", DOWN, "monitor", "--count", "2", "--interval", "0.2", machine="pi5_cool")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    assert all(
        re.match(r"\d\d:\d\d:\d\d cpu \d+% \[\d+ \d+ \d+ \d+\] load 0\.08 temp 45\.1C", line)
        for line in lines
    )
    run = pislm(
        "--host", DOWN, "monitor", "--json", "--count", "2", "--interval", "0.2", machine="pi5_cool"
    )
    docs = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(docs) == 2 and all(d["temp_c"] == 45.1 for d in docs)


def test_bad_options_exit_2() -> None:
    for args in (("--interval", "0"), ("--count", "0")):
        run = pislm("--host", DOWN, "monitor", *args)
        assert run.returncode == 2
        assert run.stderr.startswith("pislm: ") and run.stdout == ""


def test_live_page_on_a_terminal() -> None:
    """On a terminal the page is redrawn in place and the cursor comes back at the end."""
    root = FIXTURES / "pi5_hot"
    env = dict(os.environ) | {
        "PISLM_MONITOR__PROC_ROOT": str(root / "proc"),
        "PISLM_MONITOR__SYS_ROOT": str(root / "sys"),
        "PISLM_MONITOR__VCGENCMD": str(root / "vcgencmd"),
        "COLUMNS": "80",
        "LINES": "24",
    }
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pislm_tui",
            "--host",
            DOWN,
            "monitor",
            "--count",
            "2",
            "--interval",
            "0.2",
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(60) == 0
    os.close(master)
    out = b"".join(chunks).decode()
    assert out.startswith("\x1b[?25l\x1b[H\x1b[2J")  # cursor hidden, screen cleared once
    assert "pislm monitor · every 0.2 s · Ctrl-C quits" in out
    assert "Temp 83.2 °C, Arm throttling" in out
    assert out.rstrip().endswith("\x1b[?25h")  # cursor restored
    assert all(len(line) <= 80 + 4 for line in out.replace("\x1b[K", "").splitlines())
