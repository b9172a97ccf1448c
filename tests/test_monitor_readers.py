"""The two machine readers on this very machine: psutil (what the app uses for the machine it
runs on) and the /proc and /sys files (what it uses for a tree elsewhere, and what the recorded
machines of the other tests exercise) must agree, and the psutil one must find, name and clean
real processes — an `ollama serve`, a process whose name is an escape sequence."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pislm_tui.monitor import Sampler, machine_reader
from pislm_tui.monitor.files import FileReader
from pislm_tui.monitor.local import PsutilReader
from pislm_tui.monitor.sampler import MEASURING
from tests.fixtures.monitor.recording import FIXTURES

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def clock() -> float:
    return 0.0


@pytest.fixture
def readers() -> tuple[PsutilReader, FileReader]:
    return PsutilReader(clock), FileReader(Path("/proc"), Path("/sys"), clock=clock)


def test_this_machine_is_read_through_psutil_and_other_trees_through_files(tmp_path: Path) -> None:
    assert isinstance(machine_reader(), PsutilReader)
    assert isinstance(machine_reader("/proc/", "/sys"), PsutilReader)
    root = FIXTURES / "pi5_cool"
    assert isinstance(machine_reader(root / "proc", root / "sys"), FileReader)
    assert isinstance(Sampler(proc_root=root / "proc", sys_root=root / "sys").reader, FileReader)
    assert isinstance(Sampler().reader, PsutilReader)


def test_both_readers_agree_on_this_machine(readers: tuple[PsutilReader, FileReader]) -> None:
    psutil_reader, files = readers
    assert psutil_reader.host() == files.host()
    by_psutil, by_files = psutil_reader.cpu_times(), files.cpu_times()
    assert set(by_psutil) == set(by_files)  # cpu, cpu0..cpuN
    assert len(by_psutil) == (os.cpu_count() or 0) + 1
    hz = os.sysconf("SC_CLK_TCK")
    # The same counters: psutil in seconds, the files in jiffies (read a moment apart).
    assert abs(by_psutil["cpu"].total - by_files["cpu"].total / hz) < 5.0
    ram, swap = psutil_reader.memory()
    ram_files, swap_files = files.memory()
    assert ram.total == ram_files.total and swap is not None and swap_files is not None
    assert swap.total == swap_files.total
    assert abs(ram.available - ram_files.available) < 64 * 2**20
    assert all(abs(a - b) < 2.0 for a, b in zip(psutil_reader.load(), files.load(), strict=True))
    me_psutil = next(p for p in psutil_reader.processes() if p.pid == os.getpid())
    me_files = next(p for p in files.processes() if p.pid == os.getpid())
    assert psutil_reader.process_name(me_psutil) == files.process_name(me_files)
    assert me_psutil.rss > 0 and abs(me_psutil.rss - me_files.rss) < 0.2 * me_files.rss
    assert abs(me_psutil.cpu_time - me_files.cpu_time / hz) < 1.0


def test_sensors_say_why_when_there_are_none(readers: tuple[PsutilReader, FileReader]) -> None:
    """Temperature and frequency come from psutil, fan and under-voltage from sysfs; on a
    machine without them each gives a reason (on a Pi they give figures)."""
    psutil_reader, _ = readers
    for read in (
        psutil_reader.temperature,
        psutil_reader.cpufreq,
        psutil_reader.fan,
        psutil_reader.under_voltage,
    ):
        try:
            value = read()
        except Exception as exc:
            assert type(exc).__name__ == "SourceUnavailable" and str(exc)
        else:
            assert value is not None


@pytest.fixture
def process_named(tmp_path: Path) -> Iterator[Callable[..., int]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> int:
        """A real process whose kernel name is `name`: a shell script's name is its process's
        name (the shell waits on a `sleep`, in a session of its own for the clean-up)."""
        script = tmp_path / name
        script.write_text("#!/bin/sh\nsleep 60\necho\n")
        script.chmod(0o755)
        proc = subprocess.Popen([str(script), *args], start_new_session=True)
        started.append(proc)
        return proc.pid

    yield start
    for proc in started:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def test_ollama_serve_is_found_and_marked_through_psutil(process_named) -> None:
    pid = process_named("ollama", "serve")
    async with Sampler(vcgencmd=None, process_interval=0.0, top=500) as sampler:
        for _ in range(50):  # until the script runs under its own name
            first = await sampler.sample()
            await asyncio.sleep(0.05)
            second = await sampler.sample()
            if second.processes and any(p.pid == pid for p in second.processes):
                break
    assert first.unavailable.get("processes") in (None, MEASURING)
    assert second.processes is not None
    serve = next(p for p in second.processes if p.pid == pid)
    assert serve.role == "ollama serve" and serve.name == "ollama"


def test_a_process_named_with_escape_codes_is_cleaned(process_named) -> None:
    pid = process_named("x\x1b[2Jy")
    reader = PsutilReader(clock)
    name = ""
    for _ in range(100):  # until the shell runs under the script's name
        found = next((p for p in reader.processes() if p.pid == pid), None)
        name = reader.process_name(found) if found is not None else ""
        if name.startswith("x"):
            break
    assert "\x1b" not in name and name.startswith("x") and name.endswith("y")
