"""The Monitor tab of a host with ssh, through a real OpenSSH server: the machine's figures and
whose they are; a refused key says what to do, in place, and the tab keeps working."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pislm_tui.app import PislmApp
from pislm_tui.config import load_settings
from pislm_tui.monitor.remote import RemoteMonitor
from tests.fake_ollama import FakeOllama
from tests.helpers import patient, screen_text
from tests.sshd import Sshd, _keygen, run_sshd, sshd_missing

pytestmark = pytest.mark.skipif(bool(sshd_missing()), reason=sshd_missing() or "")
wait_for = patient(30.0)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    with run_sshd(tmp_path) as server:
        yield server


def app_for(fake: FakeOllama, server: Sshd, **ssh: Any) -> PislmApp:
    loaded = load_settings(
        overrides={
            "host": "pi5",
            "hosts": {
                "pi5": {
                    "url": fake.url,
                    "ssh": server.destination,
                    "ssh_args": server.client_args(**ssh),
                    "monitor_via": "shell",
                }
            },
        }
    )
    return PislmApp(loaded)


async def test_the_tab_shows_the_hosts_machine_over_ssh(
    fake_ollama: FakeOllama, sshd: Sshd
) -> None:
    app = app_for(fake_ollama, sshd)
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_tab("monitor")
        await wait_for(lambda: isinstance(app.monitor.sampler, RemoteMonitor), pilot=pilot)
        sampler = app.monitor.sampler
        assert isinstance(sampler, RemoteMonitor)
        await wait_for(
            lambda: app.monitor_sample is not None and app.monitor_sample.cores,
            pilot=pilot,
            what="CPU figures over ssh",
        )
        await wait_for(lambda: "(over ssh)" in screen_text(app), pilot=pilot)
        assert sampler.mode == "shell" and sampler.error is None
        assert "these figures are this machine's" not in screen_text(app)


async def test_a_refused_key_is_said_in_the_tab_which_keeps_working(
    fake_ollama: FakeOllama, sshd: Sshd, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    _keygen(stranger)
    app = app_for(fake_ollama, sshd, key=stranger)
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_tab("monitor")
        await wait_for(lambda: "key was refused" in screen_text(app), pilot=pilot)
        assert "ssh-copy-id" in screen_text(app)
        await pilot.press("p")  # the tab's keys still work
        await wait_for(lambda: "PAUSED" in screen_text(app), pilot=pilot)
        app.show_tab("chat")
        await wait_for(lambda: app.active_tab == "chat", pilot=pilot)
        assert app.connection.status in ("connecting", "connected")  # the server is not the ssh


async def test_a_named_remote_host_without_ssh_says_how_to_see_its_machine() -> None:
    loaded = load_settings(
        overrides={"host": "pi5", "hosts": {"pi5": {"url": "http://pi.invalid:11434"}}}
    )
    app = PislmApp(loaded)
    async with app.run_test(size=(160, 30)) as pilot:
        app.show_tab("monitor")
        await wait_for(lambda: "these figures are this machine's" in screen_text(app), pilot=pilot)
        assert 'set ssh = "user@machine" in [hosts.pi5]' in screen_text(app)
        assert not isinstance(app.monitor.sampler, RemoteMonitor)
