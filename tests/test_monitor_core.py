"""The monitor core on recorded machines: vcgencmd replies and failures, throttle bits, sysfs
layouts of a Pi 5 and of a box without sensors, per-core CPU from /proc/stat deltas, processes,
and Ollama's loaded models through the real backend and the fake server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pislm_tui.backend import make_backend
from pislm_tui.backend.types import LoadedModel
from pislm_tui.monitor import (
    Sampler,
    SourceUnavailable,
    decode_throttled,
    procfs,
    sample_once,
    temp_level,
)
from pislm_tui.monitor.fmt import throttle_text, time_left
from pislm_tui.monitor.sampler import MEASURING
from pislm_tui.monitor.sysfs import SysSensors
from pislm_tui.monitor.vcgencmd import (
    NO_DEVICE_HINT,
    Vcgencmd,
    failure_reason,
    parse_clock,
    parse_temp,
    parse_throttled,
)
from pislm_tui.sizes import short_bytes
from tests.fake_ollama import FakeOllama
from tests.fixtures.monitor.recording import FIXTURES, RUNNER_PID, SERVE_PID, Machine
from tests.helpers import wait_for

# -- vcgencmd replies --------------------------------------------------------------------------


def recorded(machine: str, query: str) -> str:
    return (FIXTURES / machine / "vcgencmd.out" / query).read_text()


def test_recorded_replies_parse() -> None:
    assert parse_temp(recorded("pi5_hot", "measure_temp")) == 83.4
    assert parse_temp(recorded("pi5_cool", "measure_temp")) == 45.6
    assert parse_clock(recorded("pi5_hot", "measure_clock_arm")) == 1_500_004_352
    hot = parse_throttled(recorded("pi5_hot", "get_throttled"))
    assert hot.now == ("arm_freq_capped", "throttled")
    assert hot.since_boot == ("under_voltage", "arm_freq_capped", "throttled")
    assert parse_throttled(recorded("pi5_cool", "get_throttled")).ok


@pytest.mark.parametrize(
    ("text", "hz"),
    [
        ("frequency(48)=1500398464\n", 1_500_398_464),  # Pi 4: the clock id differs per model
        ("frequency(0)=2400000000", 2_400_000_000),  # Pi 5
        ("frequency(0)=0", 0),  # gated clock
    ],
)
def test_measure_clock_arm(text: str, hz: int) -> None:
    assert parse_clock(text) == hz


@pytest.mark.parametrize(
    ("text", "celsius"), [("temp=48.3'C\n", 48.3), ("temp=85.0'C", 85.0), ("temp=-2.5'C", -2.5)]
)
def test_measure_temp(text: str, celsius: float) -> None:
    assert parse_temp(text) == celsius


@pytest.mark.parametrize(
    "text", ["", "temp=abc'C", 'error=2 error_msg="Invalid arguments"', "48.3", "temp=48.3"]
)
def test_odd_measure_temp_output_is_a_reason_not_a_crash(text: str) -> None:
    with pytest.raises(SourceUnavailable, match="unexpected measure_temp output"):
        parse_temp(text)


# Bit patterns of `vcgencmd get_throttled` -> (now, since boot, unknown bits).
THROTTLE_TABLE = [
    (0x0, (), (), 0),
    (0x1, ("under_voltage",), (), 0),
    (0x2, ("arm_freq_capped",), (), 0),
    (0x4, ("throttled",), (), 0),
    (0x8, ("soft_temp_limit",), (), 0),
    (0x10000, (), ("under_voltage",), 0),
    (0x20000, (), ("arm_freq_capped",), 0),
    (0x40000, (), ("throttled",), 0),
    (0x80000, (), ("soft_temp_limit",), 0),
    (0x50000, (), ("under_voltage", "throttled"), 0),  # the man page's example
    (0x50005, ("under_voltage", "throttled"), ("under_voltage", "throttled"), 0),
    (
        0xF000F,
        ("under_voltage", "arm_freq_capped", "throttled", "soft_temp_limit"),
        ("under_voltage", "arm_freq_capped", "throttled", "soft_temp_limit"),
        0,
    ),
    (0x100010, (), (), 0x100010),  # undocumented bits are kept, not dropped
    (0x40030, (), ("throttled",), 0x30),
]


@pytest.mark.parametrize(("word", "now", "since", "unknown"), THROTTLE_TABLE, ids=lambda v: str(v))
def test_get_throttled_bits(word: int, now: tuple, since: tuple, unknown: int) -> None:
    for text in (f"throttled=0x{word:x}\n", f"throttled={word}"):
        t = parse_throttled(text)
        assert (t.raw, t.now, t.since_boot, t.unknown_bits) == (word, now, since, unknown)
    assert decode_throttled(word).to_json()["raw"] == f"0x{word:x}"


def test_throttle_text_reads_like_the_docs() -> None:
    assert throttle_text(decode_throttled(0)) == "none since boot"
    assert (
        throttle_text(decode_throttled(0x50005))
        == "NOW under-voltage, throttled; since boot: under-voltage, throttled"
    )


@pytest.mark.parametrize(
    ("status", "output", "expected"),
    [
        (255, "Can't open device file: /dev/vcio_gencmd\n", NO_DEVICE_HINT),
        (1, "VCHI initialization failed\n", NO_DEVICE_HINT),
        (
            2,
            'error=2 error_msg="Invalid arguments"\n',
            "firmware refused the query: Invalid arguments",
        ),
        (1, "something else\n", "vcgencmd failed (exit 1): something else"),
        (0, "", "vcgencmd printed nothing"),
        (0, "temp=48.3'C\n", None),
    ],
)
def test_failure_reasons(status: int, output: str, expected: str | None) -> None:
    assert failure_reason(status, output) == expected


async def test_the_device_error_through_the_real_command() -> None:
    """The recorded VCHI case, run as a process: the reason says how to fix it."""
    for machine in ("no_sensors", "vchi_old"):
        vc = Vcgencmd(str(FIXTURES / machine / "vcgencmd"))
        with pytest.raises(SourceUnavailable) as info:
            await vc.query("measure_temp", now=0.0)
        assert "video" in info.value.reason and "usermod" in info.value.reason


async def test_missing_vcgencmd_and_disabled_vcgencmd(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="not found"):
        await Vcgencmd(str(tmp_path / "no-such-vcgencmd")).query("measure_temp", now=0.0)
    with pytest.raises(SourceUnavailable, match="disabled"):
        await Vcgencmd(None).query("measure_temp", now=0.0)


async def test_a_failing_vcgencmd_is_not_asked_again_every_second() -> None:
    calls: list[Sequence[str]] = []

    async def runner(args: Sequence[str]) -> tuple[int, str]:
        calls.append(tuple(args))
        return 255, "Can't open device file: /dev/vcio_gencmd\n"

    vc = Vcgencmd(runner, retry_after=60.0)
    for now in (0.0, 1.0, 30.0, 59.0):
        with pytest.raises(SourceUnavailable, match="video"):
            await vc.query("get_throttled", now=now)
    assert len(calls) == 1
    with pytest.raises(SourceUnavailable):
        await vc.query("get_throttled", now=61.0)
    assert len(calls) == 2


async def test_a_hung_vcgencmd_times_out() -> None:
    async def runner(args: Sequence[str]) -> tuple[int, str]:
        await asyncio.Event().wait()
        return 0, ""

    with pytest.raises(SourceUnavailable, match=r"did not answer within 0\.05 s"):
        await Vcgencmd(runner, timeout=0.05).query("measure_temp", now=0.0)


async def test_closing_the_sampler_ends_a_vcgencmd_still_running(hot: Machine) -> None:
    """A query cut short (the app quits, `pislm monitor` ends) must not leave the child running
    and its pipes to the garbage collector after the event loop has gone."""
    pid_file = hot.root / "vcgencmd.pid"
    slow = hot.root / "slow-vcgencmd"
    slow.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 30\n")
    slow.chmod(0o755)
    sampler = hot.sampler(vcgencmd=str(slow))
    await sampler.sample()  # starts the slow sources in the background
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.01)
    pid = int(pid_file.read_text())
    await sampler.aclose()

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    # Killed and reaped at once, not left sleeping its 30 s (on a loaded machine the reaping
    # may trail the kill by a moment: a few seconds at most, far below the 30).
    await wait_for(gone, timeout=5, what="the vcgencmd child to end")


# -- sysfs ------------------------------------------------------------------------------------


def sensors(root: Path) -> SysSensors:
    return SysSensors(root, clock=lambda: 0.0)


def test_pi5_sysfs_layout() -> None:
    s = sensors(FIXTURES / "pi5_hot" / "sys")
    assert s.temperature() == (83.2, "thermal zone cpu-thermal")  # 83150 m°C, one decimal
    assert s.fan() == (7931, 98.0)  # pwm1 250 of 255
    assert s.cpufreq() == (2400.0, 2400.0)  # kHz files -> MHz
    assert s.under_voltage() is False
    cool = sensors(FIXTURES / "pi5_cool" / "sys")
    assert cool.temperature()[0] == 45.1
    assert cool.fan() == (0, 0.0)


def test_hwmon_by_name_when_there_is_no_thermal_zone(tmp_path: Path) -> None:
    machine = Machine.copy("pi5_hot", tmp_path)
    shutil.rmtree(machine.sys / "class" / "thermal" / "thermal_zone0")
    assert sensors(machine.sys).temperature() == (83.2, "hwmon cpu_thermal")
    # A kernel that numbers thermal hwmon devices (cpu_thermal_0) is still found by prefix,
    # and the RP1 I/O chip is never taken for the CPU.
    (machine.sys / "class" / "hwmon" / "hwmon0" / "name").write_text("cpu_thermal_0\n")
    assert sensors(machine.sys).temperature() == (83.2, "hwmon cpu_thermal_0")
    shutil.rmtree(machine.sys / "class" / "hwmon" / "hwmon0")
    with pytest.raises(SourceUnavailable, match="rp1_adc"):
        sensors(machine.sys).temperature()


def test_pi5_without_a_fan(tmp_path: Path) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    shutil.rmtree(machine.sys / "class" / "hwmon" / "hwmon2")
    with pytest.raises(SourceUnavailable, match="no fan"):
        sensors(machine.sys).fan()


def test_machine_without_sensors_gives_reasons() -> None:
    s = sensors(FIXTURES / "no_sensors" / "sys")
    for read, words in (
        (s.temperature, "no thermal zones or hwmon"),
        (s.fan, "no fan"),
        (s.cpufreq, "no cpufreq"),
        (s.under_voltage, "rpi_volt"),
    ):
        with pytest.raises(SourceUnavailable, match=words):
            read()


def test_garbage_in_a_sensor_file(tmp_path: Path) -> None:
    machine = Machine.copy("pi5_hot", tmp_path)
    (machine.sys / "class" / "thermal" / "thermal_zone0" / "temp").write_text("hot\n")
    with pytest.raises(SourceUnavailable, match="unexpected value"):
        sensors(machine.sys).temperature()


# -- /proc ------------------------------------------------------------------------------------


def stat(name: str) -> dict[str, procfs.CpuTimes]:
    return procfs.parse_stat((FIXTURES / "proc_stat" / name).read_text())


def test_per_core_percent_from_two_proc_stat_samples() -> None:
    """cpu0: 97 busy of 100; cpu1: iowait counts as idle; cpu2: idle; cpu3: guest time is
    already inside user, steal is busy."""
    overall, cores = procfs.core_percents(stat("pi5_a"), stat("pi5_b"))
    assert cores == (97.0, 50.0, 0.0, 80.0)
    assert overall == 56.8  # (97 + 50 + 0 + 80) / 400


def test_counters_that_go_backwards_or_vanish() -> None:
    overall, cores = procfs.core_percents(stat("pi5_b"), stat("pi5_a"))
    assert cores == (0.0, 0.0, 0.0, 0.0) and overall == 0.0
    b = (FIXTURES / "proc_stat" / "pi5_b").read_text()
    offline = "\n".join(line for line in b.splitlines() if not line.startswith("cpu3 "))
    _, cores = procfs.core_percents(stat("pi5_a"), procfs.parse_stat(offline))
    assert cores == (97.0, 50.0, 0.0)
    damaged = b.replace("cpu1 2040", "cpu1 x040")
    _, cores = procfs.core_percents(stat("pi5_a"), procfs.parse_stat(damaged))
    assert cores == (97.0, 0.0, 80.0)  # only the damaged core is left out


def test_pid_stat_with_an_awkward_name() -> None:
    text = (FIXTURES / "pi5_hot" / "proc" / "3333" / "stat").read_bytes()
    parsed = procfs.parse_pid_stat(3333, text)
    assert parsed is not None
    assert parsed.name == "evil)x"  # ")" inside the name, the screen-clearing escape removed
    assert parsed.ticks == 6 and parsed.rss_pages == 40
    assert procfs.parse_pid_stat(1, b"1 (cut") is None
    assert procfs.parse_pid_stat(1, b"1 (short) S 0 1") is None


def test_meminfo_without_memavailable() -> None:
    ram, swap = procfs.read_memory(FIXTURES / "no_sensors" / "proc")
    assert ram.total == 2_048_000 * 1024
    assert ram.available == (1_024_000 + 100_000 + 400_000) * 1024  # free + buffers + cached
    assert swap is not None and swap.total == 0


# -- the sampler --------------------------------------------------------------------------------


@pytest.fixture
def hot(tmp_path: Path) -> Machine:
    return Machine.copy("pi5_hot", tmp_path)


async def test_first_reading_is_only_a_baseline(hot: Machine) -> None:
    async with hot.sampler() as sampler:
        await check_first_reading(hot, sampler)


async def check_first_reading(hot: Machine, sampler: Sampler) -> None:
    first = await sampler.sample(wait_slow=True)
    assert first.cores == () and first.unavailable["cores"] == MEASURING
    assert first.processes is None and first.unavailable["processes"] == MEASURING
    hot.tick([97, 50, 0, 80], {RUNNER_PID: 190.0, SERVE_PID: 1.0})
    second = await sampler.sample()
    assert second.cores == (97.0, 50.0, 0.0, 80.0)
    assert second.cpu_percent == 56.8
    assert "cores" not in second.unavailable


async def test_a_recorded_hot_pi5(hot: Machine) -> None:
    async with hot.sampler() as sampler:
        await sampler.sample(wait_slow=True)
        hot.tick([96, 99, 97, 98], {RUNNER_PID: 375.0, SERVE_PID: 1.0})
        s = await sampler.sample()
    assert s.host == "pi5"
    assert s.load == (3.97, 3.42, 2.05)
    assert s.temp_c == 83.2 and s.temp_source == "thermal zone cpu-thermal"
    assert temp_level(s.temp_c).label == "Arm throttling"
    assert s.throttled is not None and s.throttled.raw == 0x70006
    assert s.fan_rpm == 7931 and s.fan_percent == 98.0
    # The firmware's clock (vcgencmd) wins over cpufreq, which still says 2.4 GHz.
    assert (s.freq_mhz, s.freq_source, s.freq_max_mhz) == (1500.004352, "vcgencmd", 2400.0)
    assert s.ram is not None and s.ram.total == 8_245_808 * 1024
    assert s.ram.used == (8_245_808 - 4_812_336) * 1024
    assert s.swap is not None and s.swap.used == (524_272 - 401_904) * 1024
    assert s.processes is not None
    runner = next(p for p in s.processes if p.pid == RUNNER_PID)
    assert runner.role == "ollama runner" and runner.cpu_percent == 375.0
    assert runner.rss == 166_400 * 16384
    assert next(p for p in s.processes if p.pid == SERVE_PID).role == "ollama serve"
    assert s.processes[0].pid == RUNNER_PID  # busiest first
    assert all("\x1b" not in p.name for p in s.processes)
    data = s.to_json()
    json.dumps(data)
    for key in (
        "cores",
        "load",
        "ram",
        "swap",
        "temp_c",
        "throttled",
        "fan_rpm",
        "freq_mhz",
        "ollama_loaded",
    ):
        assert key in data
    assert data["throttled"]["now"] == ["arm_freq_capped", "throttled"]
    assert (
        data["ollama_loaded"] is None and "no Ollama server" in data["unavailable"]["ollama_loaded"]
    )
    await sampler.aclose()


async def test_no_sensor_machine_never_crashes() -> None:
    root = FIXTURES / "no_sensors"
    s = await sample_once(
        interval=0, proc_root=root / "proc", sys_root=root / "sys", vcgencmd=str(root / "vcgencmd")
    )
    assert len(s.cores) == 2 and s.host == "container"
    assert s.temp_c is None
    assert "no thermal zones" in s.unavailable["temp_c"] and "video" in s.unavailable["temp_c"]
    assert s.throttled is None and "video" in s.unavailable["throttled"]
    assert s.fan_rpm is None and s.freq_mhz is None
    assert s.ram is not None and s.ram.total == 2_048_000 * 1024
    assert s.processes == ()
    json.dumps(s.to_json())


async def test_missing_proc_gives_reasons(tmp_path: Path) -> None:
    s = await sample_once(
        interval=0, proc_root=tmp_path / "proc", sys_root=tmp_path / "sys", vcgencmd=None
    )
    assert s.cores == () and "does not exist" in s.unavailable["cores"]
    assert s.ram is None and "does not exist" in s.unavailable["ram"]
    assert "disabled" in s.unavailable["throttled"]


async def test_the_strip_reading_spawns_nothing_when_sysfs_has_the_temperature(
    hot: Machine,
) -> None:
    calls: list[tuple[str, ...]] = []

    async def runner(args: Sequence[str]) -> tuple[int, str]:
        calls.append(tuple(args))
        return 0, recorded("pi5_hot", "_".join(args))

    async with Sampler(
        proc_root=hot.proc, sys_root=hot.sys, vcgencmd=runner, clock=hot.clock
    ) as sampler:
        for _ in range(3):
            s = await sampler.sample(detail=False, wait_slow=True)
            hot.tick([10, 10, 10, 10], seconds=6)
    assert calls == [] and s.processes is None and s.temp_c == 83.2
    # Without a sysfs thermometer the strip falls back to measure_temp, and only that.
    shutil.rmtree(hot.sys / "class")
    async with Sampler(
        proc_root=hot.proc, sys_root=hot.sys, vcgencmd=runner, clock=hot.clock
    ) as sampler:
        s = await sampler.sample(detail=False, wait_slow=True)
    assert calls == [("measure_temp",)]
    assert (s.temp_c, s.temp_source) == (83.4, "vcgencmd")


async def test_slow_sources_are_asked_once_per_interval(hot: Machine) -> None:
    calls: list[tuple[str, ...]] = []

    async def runner(args: Sequence[str]) -> tuple[int, str]:
        calls.append(tuple(args))
        return 0, recorded("pi5_hot", "_".join(args))

    async with Sampler(
        proc_root=hot.proc, sys_root=hot.sys, vcgencmd=runner, clock=hot.clock, slow_interval=5.0
    ) as sampler:
        for _ in range(10):
            await sampler.sample(wait_slow=True)
            hot.tick([50, 50, 50, 50])
    assert calls.count(("get_throttled",)) == 2  # at t = 0 s and t = 5 s
    assert calls.count(("measure_clock", "arm")) == 2


async def test_process_list_is_read_every_two_seconds(hot: Machine) -> None:
    seen = []
    async with hot.sampler(process_interval=2.0, vcgencmd=None) as sampler:
        await sampler.sample()
        for second in range(4):
            hot.tick([50, 50, 50, 50], {RUNNER_PID: 100.0 + 50 * second})
            s = await sampler.sample()
            assert s.processes is not None
            seen.append(next(p.cpu_percent for p in s.processes if p.pid == RUNNER_PID))
    # Read at t=1 (100 %), kept at t=2, read at t=3 (mean of 150 and 200 over 2 s), kept at t=4.
    assert seen == [100.0, 100.0, 175.0, 175.0]


async def test_history_keeps_a_minute(hot: Machine) -> None:
    async with hot.sampler(vcgencmd=None) as sampler:
        await sampler.sample(detail=False)
        for _ in range(90):
            hot.tick([25, 50, 75, 100])
            await sampler.sample(detail=False)
    times = [t for t, _ in sampler.history]
    assert times[-1] - times[0] <= 61 and len(times) >= 60
    assert sampler.history[-1][1] == (25.0, 50.0, 75.0, 100.0)


# -- Ollama's loaded models, through the backend ---------------------------------------------------


async def test_loaded_models_from_the_fake_server(
    fake_ollama: FakeOllama, make_settings, hot: Machine
) -> None:
    backend = make_backend(make_settings().settings)
    try:
        await backend.load("llama3.2:1b", keep_alive="5m")
        s = await sample_once(
            interval=0, loaded=backend.loaded, proc_root=hot.proc, sys_root=hot.sys, vcgencmd=None
        )
    finally:
        await backend.aclose()
    assert s.ollama_loaded is not None
    (model,) = s.ollama_loaded
    assert model.name == "llama3.2:1b" and model.processor == "100% CPU"
    assert time_left(model.expires_at) in ("5 min", "4 min")
    assert s.to_json()["ollama_loaded"][0]["name"] == "llama3.2:1b"


async def test_server_down_is_a_reason(make_settings, hot: Machine) -> None:
    backend = make_backend(make_settings(host="http://127.0.0.1:9").settings)
    try:
        s = await sample_once(
            interval=0, loaded=backend.loaded, proc_root=hot.proc, sys_root=hot.sys, vcgencmd=None
        )
    finally:
        await backend.aclose()
    assert s.ollama_loaded is None
    assert "cannot reach Ollama" in s.unavailable["ollama_loaded"]
    assert s.cores  # the rest of the sample is there


async def test_a_hung_server_does_not_hold_up_readings(hot: Machine) -> None:
    async def hung() -> list[LoadedModel]:
        await asyncio.Event().wait()
        return []

    async with hot.sampler(loaded=hung) as sampler:
        await sampler.sample()
        hot.tick([1, 2, 3, 4])
        s = await asyncio.wait_for(sampler.sample(), timeout=2)
    assert s.cores == (1.0, 2.0, 3.0, 4.0)
    assert s.unavailable["ollama_loaded"] == "measuring"


def test_this_machine_matches_os_cpu_count() -> None:
    s = asyncio.run(sample_once(interval=0.05, vcgencmd=None))
    assert len(s.cores) == os.cpu_count()
    assert all(0.0 <= c <= 100.0 for c in s.cores)


# -- levels and formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("celsius", "name"),
    [
        (20.0, "cool"),
        (49.9, "cool"),
        (50.0, "fan1"),
        (59.9, "fan1"),
        (60.0, "fan2"),
        (67.4, "fan2"),
        (67.5, "fan3"),
        (74.9, "fan3"),
        (75.0, "fan4"),
        (79.9, "fan4"),
        (80.0, "throttling"),
        (84.9, "throttling"),
        (85.0, "hard"),
        (95.0, "hard"),
    ],
)
def test_pi5_temperature_steps(celsius: float, name: str) -> None:
    assert temp_level(celsius).name == name


def test_time_left_and_sizes() -> None:
    now = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    assert time_left(now + timedelta(seconds=299), now) == "5 min"
    assert time_left(now + timedelta(minutes=65), now) == "1 h 5 min"
    assert time_left(now + timedelta(days=3), now) == "3 d"
    assert time_left(now + timedelta(days=292 * 365), now) == "forever"
    assert time_left(now - timedelta(seconds=1), now) == "now"
    assert time_left(None) == "?"
    assert [short_bytes(n) for n in (512, 2048, 3 * 2**30 + 2**29, 12 * 2**30)] == [
        "512B",
        "2K",
        "3.5G",
        "12G",
    ]
