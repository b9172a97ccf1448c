"""The fleet: `pislm monitor --hosts ...` and the rows behind the Monitor tab's fleet view, with
two test servers, a real sshd in front of a "Pi" (this machine, with a recorded vcgencmd on
the sessions' PATH), a host whose key is refused, a host that is down with no ssh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pislm_tui.monitor.power import parse_pmic
from tests.fake_ollama import FakeOllama
from tests.faults.env_helpers import run_cli
from tests.fixtures.monitor.recording import FIXTURES
from tests.sshd import Sshd, _keygen, run_sshd, sshd_missing

pytestmark = pytest.mark.skipif(bool(sshd_missing()), reason=sshd_missing() or "")


@pytest.fixture
def second_ollama() -> Iterator[FakeOllama]:
    with FakeOllama().start() as server:
        yield server


@pytest.fixture
def pi_sshd(tmp_path: Path) -> Iterator[Sshd]:
    """sshd whose sessions have the hot Pi 5's recorded `vcgencmd` (throttled now)."""
    bin_dir = tmp_path / "pi-bin"
    bin_dir.mkdir()
    shutil.copy(FIXTURES / "pi5_hot" / "vcgencmd", bin_dir / "vcgencmd")
    shutil.copytree(FIXTURES / "pi5_hot" / "vcgencmd.out", bin_dir / "vcgencmd.out")
    with run_sshd(tmp_path, path=[str(bin_dir)]) as server:
        yield server


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def write_config(path: Path, a: FakeOllama, b: FakeOllama, sshd: Sshd, stranger: Path) -> Path:
    path.write_text(
        f"""
[hosts.pi5]
url = "{a.url}"
ssh = "{sshd.destination}"
ssh_args = {toml_list(sshd.client_args())}

[hosts.gpu]
url = "{b.url}/v1"
api = "openai"

[hosts.lab]
url = "{a.url}"
ssh = "{sshd.destination}"
ssh_args = {toml_list(sshd.client_args(key=stranger))}

[hosts.far]
url = "http://far.invalid:11434"
""",
        encoding="utf-8",
    )
    return path


def pislm(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, with this test's environment (its config, its home)."""
    return run_cli(*args, env=dict(os.environ), timeout=120)


def test_monitor_hosts_all_once_json(
    fake_ollama: FakeOllama, second_ollama: FakeOllama, pi_sshd: Sshd, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    _keygen(stranger)
    config = write_config(tmp_path / "config.toml", fake_ollama, second_ollama, pi_sshd, stranger)
    run = pislm("--config", str(config), "monitor", "--hosts", "all", "--once", "--json")
    assert run.returncode == 0, run.stderr
    rows = {r["host"]: r for r in json.loads(run.stdout)["hosts"]}
    assert list(rows) == ["pi5", "gpu", "lab", "far"]

    pi = rows["pi5"]  # the machine over ssh, its server over HTTP
    assert pi["up"] and pi["version"] and pi["loaded"] == []
    assert (pi["load"] is not None and pi["temp_c"] is None) or pi["temp_c"] >= 0
    assert pi["throttled"] and pi["throttled"]["now"], pi["unavailable"]
    # the hot Pi 5's PMIC (its recorded pmic_read_adc), read there by the shell reader
    pmic = parse_pmic((FIXTURES / "pi5_hot" / "vcgencmd.out" / "pmic_read_adc").read_text())
    assert pi["power_w"] == pytest.approx(pmic.watts, abs=0.01)
    assert "power_w" not in pi["unavailable"]

    gpu = rows["gpu"]  # an OpenAI-compatible server: no version, no ps; a local machine
    assert gpu["up"] and gpu["version"] is None and gpu["loaded"] is None
    assert "no ps" in gpu["unavailable"]["loaded"]
    assert gpu["load"] is not None

    lab = rows["lab"]  # the server answers; the machine's ssh refuses the key
    assert lab["up"] and lab["load"] is None, lab
    assert "key was refused" in lab["unavailable"]["load"]

    far = rows["far"]
    assert not far["up"] and "cannot reach" in far["unavailable"]["version"]
    assert far["unavailable"]["load"].startswith("no ssh")


def test_monitor_hosts_table_says_why_pieces_are_missing(
    fake_ollama: FakeOllama, second_ollama: FakeOllama, pi_sshd: Sshd, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    _keygen(stranger)
    config = write_config(tmp_path / "config.toml", fake_ollama, second_ollama, pi_sshd, stranger)
    run = pislm("--config", str(config), "monitor", "--hosts", "pi5,far,gpu", "--once")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["host", "server", "model", "load", "temp", "throttled", "power"]
    pi, far, gpu = lines[1:]
    assert pi.startswith("pi5") and "NOW" in pi and "none loaded" in pi
    assert far.startswith("far") and "down" in far and "no ssh" in far
    assert "no ps (OpenAI)" in gpu


def test_an_unknown_host_name_is_a_usage_error(fake_ollama: FakeOllama) -> None:
    run = pislm("--host", fake_ollama.url, "monitor", "--hosts", "nope", "--once")
    assert run.returncode == 2
    assert "no host named 'nope'" in run.stderr


def test_monitor_of_a_named_host_reads_its_machine_over_ssh(
    fake_ollama: FakeOllama, second_ollama: FakeOllama, pi_sshd: Sshd, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    _keygen(stranger)
    config = write_config(tmp_path / "config.toml", fake_ollama, second_ollama, pi_sshd, stranger)
    run = pislm("--config", str(config), "--host", "pi5", "monitor", "--once", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert len(data["cores"]) == os.cpu_count()
    assert data["throttled"]["now"]  # the "Pi"'s vcgencmd, run there
    refused = pislm("--config", str(config), "--host", "lab", "monitor", "--once", "--json")
    assert refused.returncode == 3
    assert "key was refused" in refused.stderr and "ssh-copy-id" in refused.stderr
