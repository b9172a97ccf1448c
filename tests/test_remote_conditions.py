"""The conditions of the machine that runs the model (temperature, clock, throttle bits,
power), read over a real OpenSSH server (Debian's sshd on a loopback port, tests/sshd.py): a
reply's and a bench run's conditions come from the host's machine, through the zero-install
shell reader and through `pislm monitor --json` there. The "Pi" is this machine with the
recorded Pi 5's `vcgencmd` (tests/fixtures/monitor: cool, then throttling, with its PMIC)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pislm_tui.backend.ssh import SshShell
from pislm_tui.hosts.fleet import Fleet
from pislm_tui.hosts.machines import machine_sampler
from pislm_tui.hosts.named import find_host
from pislm_tui.monitor.conditions import Recording
from pislm_tui.monitor.power import CORRECTION_OFFSET_W, CORRECTION_SLOPE
from pislm_tui.monitor.remote import RemoteMonitor
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.recording import FIXTURES, Machine
from tests.sshd import Sshd, pislm_shim, run_sshd, sshd_missing

pytestmark = pytest.mark.skipif(bool(sshd_missing()), reason=sshd_missing() or "")

IDLE_W = CORRECTION_SLOPE * 1.96781 + CORRECTION_OFFSET_W  # the cool Pi 5's PMIC, corrected
COOL_MHZ, HOT_MHZ = 1500.00128, 1500.004352  # the recordings' `measure_clock arm`


@pytest.fixture
def pi(tmp_path: Path) -> Machine:
    return Machine.copy("pi5_cool", tmp_path)


@pytest.fixture
def sshd(tmp_path: Path, fake_ollama: FakeOllama, pi: Machine) -> Iterator[Sshd]:
    """sshd whose sessions find `pislm` (this checkout) with the recorded Pi's vcgencmd in its
    config, and the fake server as their OLLAMA_HOST."""
    home = tmp_path / "remote-home"
    (home / ".config" / "pislm").mkdir(parents=True)
    (home / ".config" / "pislm" / "config.toml").write_text(
        f'[monitor]\nvcgencmd = "{pi.vcgencmd}"\nvcgencmd_interval = 1\n', encoding="utf-8"
    )
    shim_dir = tmp_path / "remote-bin"
    pislm_shim(shim_dir)
    env = {"OLLAMA_HOST": fake_ollama.url, "HOME": str(home), "XDG_CONFIG_HOME": ""}
    # `vcgencmd` there is the recorded Pi's (on the sessions' PATH, not on this machine's)
    with run_sshd(tmp_path, path=[str(shim_dir), str(pi.root)], env=env) as server:
        yield server


def monitor(server: Sshd, pi: Machine, via: Any, **kwargs: Any) -> RemoteMonitor:
    shell = SshShell(server.destination, server.client_args())
    return RemoteMonitor(shell, label="pi5", via=via, vcgencmd=str(pi.vcgencmd), **kwargs)


def start_throttling(pi: Machine) -> None:
    """The recorded Pi 5's firmware starts throttling (0x60006) and cuts the clock."""
    hot = FIXTURES / "pi5_hot" / "vcgencmd.out"
    pi.write("vcgencmd.out/get_throttled", "throttled=0x60006\n")
    pi.write("vcgencmd.out/measure_clock_arm", (hot / "measure_clock_arm").read_text())


async def test_a_reply_on_the_hosts_machine_with_nothing_installed_there(
    sshd: Sshd, pi: Machine
) -> None:
    remote = monitor(sshd, pi, "shell", slow_interval=0.2)
    try:
        recording = Recording(remote)
        await recording.start()  # no reading yet: one is taken, with the conditions
        assert remote.mode == "shell" and remote.last is not None
        start = remote.last
        assert start.throttled is not None and start.throttled.raw == 0
        assert start.power_w == pytest.approx(IDLE_W, rel=1e-4)  # pmic_read_adc, over ssh
        assert [w for _, w in remote.power_history] == [start.power_w]  # the Monitor's sparkline
        start_throttling(pi)
        for _ in range(100):  # the feed's timer, while the reply streams
            await pause()
            sample = await remote.sample(detail=False, wait_slow=True)
            if sample.throttled is not None and sample.throttled.raw == 0x60006:
                break
        taken = remote.last
        run = await recording.stop()  # within FRESH_FOR of the last reading: none taken
        assert remote.last is taken and not remote.recorders
    finally:
        await remote.aclose()
    assert run is not None and run.began_throttling
    assert run.start.arm_mhz == pytest.approx(COOL_MHZ)
    assert run.end.arm_mhz == pytest.approx(HOT_MHZ)
    assert run.energy_j is not None and run.energy_j > 0
    assert "THROTTLED during the reply" in run.summary()


async def test_a_reply_on_the_hosts_machine_with_pislm_there(sshd: Sshd, pi: Machine) -> None:
    remote = monitor(sshd, pi, "auto", interval=0.3)
    try:
        recording = Recording(remote)
        await recording.start()  # waits for the first line of `pislm monitor --json` there
        assert remote.mode == "pislm"
        for _ in range(100):  # its stream carries the slow figures once vcgencmd answered
            sample = await remote.sample(detail=False, wait_slow=True)
            if sample.power_w is not None and sample.throttled is not None:
                break
            await pause()
        run = await recording.stop()
    finally:
        await remote.aclose()
    assert run is not None
    assert sample.power_w == pytest.approx(IDLE_W, abs=0.01)  # power_w survived the JSON
    assert run.end.throttle is not None and run.end.throttle.raw == 0
    assert run.min_arm_mhz == pytest.approx(1500, abs=1)
    assert run.energy_j is not None and not run.throttled


async def pause() -> None:
    await asyncio.sleep(0.1)  # the next reading of vcgencmd there is due after some time


async def test_the_fleet_row_shows_the_pis_power_over_ssh(sshd: Sshd, pi: Machine) -> None:
    from pislm_tui.config import load_settings

    settings = load_settings(
        overrides={
            "monitor": {"vcgencmd": str(pi.vcgencmd)},
            "hosts": {
                "pi5": {
                    "url": "http://127.0.0.1:9",
                    "ssh": sshd.destination,
                    "ssh_args": sshd.client_args(),
                }
            },
        }
    ).settings
    fleet = Fleet(settings, [find_host(settings, "pi5")], lambda h: machine_sampler(h, settings))
    try:
        (row,) = await fleet.rows()
    finally:
        await fleet.aclose()
    assert row.power_w == pytest.approx(IDLE_W, rel=1e-4)
    assert row.throttled is not None and row.throttled.raw == 0
    assert "power_w" not in row.why


def test_bench_across_hosts_shows_the_hosts_conditions(
    sshd: Sshd, pi: Machine, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """`pislm bench --hosts`: the ssh host's row has its machine's clock, throttling and
    J/token; a host on another machine without ssh says why its columns are n/a."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(  # vcgencmd: the default, found only there
        f'[hosts.pi5]\nurl = "{fake_ollama.url}"\nssh = "{sshd.destination}"\n'
        f'ssh_args = {json.dumps(sshd.client_args())}\nmonitor_via = "shell"\n\n'
        '[hosts.far]\nurl = "http://far.invalid:9"\n',
        encoding="utf-8",
    )

    def bench(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pislm_tui", "--config", str(cfg), "bench", "--hosts", "pi5,far", "--models", "llama3.2:1b", "--runs", "1",
             "--no-export", *extra],
            capture_output=True, text=True, env=dict(os.environ), timeout=180,
        )  # fmt: skip

    run = bench("--json")
    assert run.returncode == 5, run.stderr  # far is down; pi5 still ran
    pi5, far = json.loads(run.stdout)["hosts"]
    assert pi5["conditions"] == {"read_on": f"ssh {sshd.destination}"}
    (model,) = pi5["models"]
    assert model["min_arm_mhz"] == 1500 and model["throttled_runs"] == 0
    assert model["joules_per_token"]["median"] > 0
    assert far["conditions"]["read_on"] is None
    assert "no ssh" in far["conditions"]["unavailable"]

    text = bench().stdout.splitlines()
    header = next(i for i, line in enumerate(text) if line.startswith("Host"))
    assert "Peak °C" in text[header] and "J/tok" in text[header]
    row = text[header + 1].split()
    assert row[:2] == ["pi5", "llama3.2:1b"] and row[-3:-1] == ["1500", "no"]
    assert float(row[-1]) > 0
    assert f"pi5: conditions from ssh {sshd.destination}" in text
    assert any(line.startswith("far: conditions n/a (far runs on another") for line in text)


async def test_a_chat_reply_carries_the_hosts_machine_conditions(
    sshd: Sshd, pi: Machine, fake_ollama: FakeOllama
) -> None:
    """The app on a host with ssh: the reply's figures are the Pi's (its clock, its throttle
    bits and its power, read through the feed's RemoteMonitor), not this machine's."""
    from pislm_tui.app import PislmApp
    from pislm_tui.config import load_settings
    from pislm_tui.monitor_feed import machine_of_server
    from pislm_tui.tabs.chat import ChatTab
    from pislm_tui.widgets.prompt_input import PromptInput
    from tests.fake_ollama import Reply
    from tests.helpers import patient

    wait_for = patient(30.0)
    fake_ollama.script(Reply(text="Paris is the capital of France, on the Seine.", rate=8))
    loaded = load_settings(
        overrides={
            "host": "pi5",
            "hosts": {
                "pi5": {
                    "url": fake_ollama.url,
                    "ssh": sshd.destination,
                    "ssh_args": sshd.client_args(),
                    "monitor_via": "shell",
                }
            },
        }
    )
    app = PislmApp(loaded)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = app.query_one(ChatTab)
        await wait_for(lambda: app.current_model and chat.conversation, pilot=pilot)
        remote = app.monitor.sampler
        assert isinstance(remote, RemoteMonitor)
        # the host's machine is read even for a server address that is not this machine's
        assert machine_of_server(app.monitor, "http://pi5.invalid:11434") == (remote, 1.0)
        prompt = app.query_one(PromptInput)
        await wait_for(lambda: app.focused is prompt, pilot=pilot)
        prompt.set_text("Where is Paris?")
        await pilot.press("enter")
        await wait_for(lambda: chat.streaming, pilot=pilot)
        await wait_for(lambda: not chat.streaming, pilot=pilot)
        run = chat.conversation.messages[-1].conditions
        assert run is not None, "no conditions recorded for the reply"
        assert run.start.arm_mhz == pytest.approx(COOL_MHZ)  # the Pi's vcgencmd, over ssh
        assert run.start.throttle is not None and run.start.throttle.raw == 0
        assert run.energy_j is not None and run.energy_j > 0
        assert not remote.recorders  # the recording ended with the reply


def test_ask_json_on_a_host_with_ssh_gives_its_machines_conditions(
    sshd: Sshd, pi: Machine, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """`pislm --host pi5 ask --json`: the conditions are the Pi's, over ssh (shell reader)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(  # vcgencmd: the default, found only there
        f'[hosts.pi5]\nurl = "{fake_ollama.url}"\nssh = "{sshd.destination}"\n'
        f'ssh_args = {json.dumps(sshd.client_args())}\nmonitor_via = "shell"\n',
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pislm_tui", "--config", str(cfg), "--host", "pi5",
         "ask", "--json", "Where is Paris?"],
        capture_output=True, text=True, env=dict(os.environ), timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    conditions = json.loads(run.stdout)["conditions"]
    assert conditions is not None, "no conditions for a host with ssh"
    assert conditions["start"]["arm_mhz"] == 1500  # the recorded Pi's clock, over ssh
    assert conditions["start"]["throttled"]["raw"] == "0x0"
    assert conditions["energy_j"] > 0 and conditions["joules_per_token"] > 0


async def test_the_models_bench_view_on_a_host_with_ssh(
    sshd: Sshd, pi: Machine, fake_ollama: FakeOllama
) -> None:
    """The Models bench view records each run's conditions on the host's machine over ssh."""
    from textual.widgets import DataTable, Input

    from pislm_tui.app import PislmApp
    from pislm_tui.config import load_settings
    from pislm_tui.widgets.bench_panel import BenchPanel
    from tests.helpers import patient
    from tests.test_models_tab import show_models

    wait_for = patient(30.0)
    pi_host = {
        "url": fake_ollama.url,
        "ssh": sshd.destination,
        "ssh_args": sshd.client_args(),
        "monitor_via": "shell",
    }
    app = PislmApp(load_settings(overrides={"host": "pi5", "hosts": {"pi5": pi_host}}))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(lambda: app.connection.connected, pilot=pilot)
        tab = await wait_for(lambda: show_models(app), pilot=pilot)
        await wait_for(lambda: tab.table.row_count == len(app.models), pilot=pilot)
        await pilot.press("b")
        panel = app.query_one(BenchPanel)
        await wait_for(lambda: len(panel.query_one("#bench-models").selected) == 1, pilot=pilot)
        panel.query_one("#bench-runs", Input).value = "1"
        await pilot.press("ctrl+r")
        await wait_for(lambda: panel.export is not None, pilot=pilot)
        row = [str(cell) for cell in panel.query_one("#bench-table", DataTable).get_row_at(0)]
    assert row[0] == "llama3.2:1b"
    assert row[-3:-1] == ["1500", "no"]  # the recorded Pi's clock and throttle bits, over ssh
