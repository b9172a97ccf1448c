"""The machine that runs the model, read over a real OpenSSH server (Debian's sshd on a loopback
port, tests/sshd.py): with pislm installed there, with nothing installed there (the shell
reader), and with ssh failing (a refused key, a wrong port) — said plainly, never raised."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pislm_tui.backend.errors import RemoteShellFailed
from pislm_tui.backend.ssh import SshShell
from pislm_tui.monitor.procfs import parse_stat
from pislm_tui.monitor.remote import RemoteMonitor, ShellSampler, sample_from_json
from pislm_tui.monitor.types import SourceUnavailable
from tests.fake_ollama import FakeOllama
from tests.sshd import Sshd, pislm_shim, run_sshd, sshd_missing

pytestmark = pytest.mark.skipif(bool(sshd_missing()), reason=sshd_missing() or "")


@pytest.fixture
def sshd(tmp_path: Path, fake_ollama: FakeOllama) -> Iterator[Sshd]:
    """sshd whose sessions find a `pislm` (this checkout) on their PATH, with the fake server
    as their OLLAMA_HOST."""
    shim_dir = tmp_path / "remote-bin"
    pislm_shim(shim_dir)
    with run_sshd(
        tmp_path, path=[str(shim_dir)], env={"OLLAMA_HOST": fake_ollama.url, "HOME": str(tmp_path)}
    ) as server:
        yield server


def shell(server: Sshd, **kwargs: object) -> SshShell:
    return SshShell(server.destination, server.client_args(**kwargs))  # type: ignore[arg-type]


async def test_the_shell_reader_sees_the_machine_through_the_same_parsers(sshd: Sshd) -> None:
    ssh = shell(sshd)
    sampler = ShellSampler(ssh, vcgencmd="vcgencmd")
    try:
        await sampler.refresh(processes=True)
        dump = sampler.dump_reader.dump
        assert dump.complete
        assert parse_stat(dump.files["/proc/stat"])["cpu"].total > 0
        assert dump.proc_stats and any(p.pid == 1 for p in dump.proc_stats)
        assert dump.page_size == os.sysconf("SC_PAGE_SIZE")
        # one connection, shared: the master's socket is in the private directory
        control = Path(ssh.control_dir or "")
        assert oct(control.stat().st_mode & 0o777) == "0o700"
        assert list(control.iterdir()), "no ControlMaster socket"
        # one session for every reading: the shell loop there answers again
        first = sampler.session
        await sampler.refresh(processes=False)
        assert sampler.session is first and sampler.dump_reader.dump.proc_stats is None
        with pytest.raises(SourceUnavailable, match="not a Pi"):
            await sampler.vcgencmd.query("get_throttled", now=0.0)  # through the same loop
        assert sampler.session is first
    finally:
        await sampler.aclose()
        await ssh.aclose()
    assert not control.exists()


async def test_remote_figures_with_nothing_installed_there(
    sshd: Sshd, fake_ollama: FakeOllama
) -> None:
    from pislm_tui.backend.ollama_native import OllamaBackend

    backend = OllamaBackend(fake_ollama.url)
    monitor = RemoteMonitor(
        shell(sshd), label="pi5", via="shell", vcgencmd="vcgencmd", loaded=backend.loaded
    )
    try:
        first = await monitor.sample(detail=True)
        assert monitor.mode == "shell"
        assert first.host == os.uname().nodename  # the machine's own name, read there
        assert first.ram is not None and first.ram.total > 0
        second = await wait_for_sample(monitor, lambda s: bool(s.cores) and s.processes)
        assert len(second.cores) == os.cpu_count()
        assert second.load is not None
        assert any(p.pid == os.getpid() for p in second.processes or ())
        # vcgencmd ran there too: this test machine is no Pi, and that is what it says
        slow = await monitor.sample(detail=True, wait_slow=True)
        assert "not a Pi" in slow.why("throttled") or "vcgencmd" in slow.why("throttled")
        assert slow.ollama_loaded is not None
    finally:
        await monitor.aclose()
        await backend.aclose()


async def wait_for_sample(monitor: RemoteMonitor, ok: object) -> object:
    for _ in range(50):
        sample = await monitor.sample(detail=True)
        if ok(sample):  # type: ignore[operator]
            return sample
        await asyncio.sleep(0.1)  # readings are deltas: the next needs some time to pass
    raise AssertionError(f"no sample passed; last: {sample}")


async def test_remote_figures_from_pislm_installed_there(
    sshd: Sshd, fake_ollama: FakeOllama
) -> None:
    from pislm_tui.backend.ollama_native import OllamaBackend

    backend = OllamaBackend(fake_ollama.url)
    await backend.load("llama3.2:1b")  # what the remote's own `pislm monitor` will list
    await backend.aclose()
    monitor = RemoteMonitor(shell(sshd), label="pi5", via="auto", interval=0.3)
    try:
        sample = await monitor.sample(detail=True)
        assert monitor.mode == "pislm"
        sample = await wait_for_sample(monitor, lambda s: bool(s.cores) and s.ollama_loaded)
        assert len(sample.cores) == os.cpu_count()
        assert [m.name for m in sample.ollama_loaded] == ["llama3.2:1b"]  # the remote's server
    finally:
        await monitor.aclose()


async def test_a_refused_key_says_what_to_do(sshd: Sshd, tmp_path: Path) -> None:
    from tests.sshd import _keygen

    stranger = tmp_path / "stranger"
    _keygen(stranger)
    monitor = RemoteMonitor(shell(sshd, key=stranger), label="pi5")
    try:
        sample = await monitor.sample(detail=True)
    finally:
        await monitor.aclose()
    assert isinstance(monitor.error, RemoteShellFailed)
    assert "key was refused" in monitor.error.message
    assert "ssh-copy-id" in (monitor.error.hint or "")
    assert sample.ram is None and "key was refused" in sample.why("ram")


async def test_a_wrong_port_says_so(sshd: Sshd) -> None:
    from tests.sshd import free_port

    monitor = RemoteMonitor(shell(sshd, port=free_port()), label="pi5")
    try:
        sample = await monitor.sample(detail=False)
        again = await monitor.sample(detail=False)  # and keeps trying, without raising
    finally:
        await monitor.aclose()
    assert isinstance(monitor.error, RemoteShellFailed)
    assert "connection refused" in monitor.error.message
    assert "port" in (monitor.error.hint or "")
    assert sample.cores == () and again.cores == ()


def test_a_sample_survives_the_trip_through_json(fake_ollama: FakeOllama) -> None:
    """Every figure, the conditions too (throttle bits, the firmware's clock, the power)."""
    from pislm_tui.monitor.remote_dump import DumpReader
    from pislm_tui.monitor.sampler import Sampler
    from tests.fixtures.monitor.recording import FIXTURES

    root = FIXTURES / "pi5_cool"
    sampler = Sampler(
        proc_root=root / "proc", sys_root=root / "sys", vcgencmd=str(root / "vcgencmd")
    )
    sample = asyncio.run(sampler.sample(detail=True, wait_slow=True))
    assert sample.power_w is not None and sample.throttled is not None
    assert sample.freq_source == "vcgencmd"
    again = sample_from_json(sample.to_json(), now=sample.time)
    assert again.to_json() == sample.to_json()
    DumpReader(lambda: 0.0).close()
