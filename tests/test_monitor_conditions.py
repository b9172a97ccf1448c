"""Per-reply conditions and the Pi 5's power, on recorded machines: `vcgencmd pmic_read_adc` in
both of its output forms (recorded outputs, sources in fixtures/monitor/pmic/SOURCES.md), and a
Recording over a cool Pi, a Pi whose throttle bit comes on mid-reply, and a box that is no Pi."""

from __future__ import annotations

from pathlib import Path

import pytest

from pislm_tui.monitor.conditions import Conditions, Recording, summarise
from pislm_tui.monitor.power import CORRECTION_OFFSET_W, CORRECTION_SLOPE, parse_pmic
from pislm_tui.monitor.types import SourceUnavailable
from tests.fixtures.monitor.recording import FIXTURES, Machine, cool_busy

PMIC = FIXTURES / "pmic"

# (V, A) of every rail of the idle recording, typed from channel_idle.txt (EXT5V, BATT left out)
IDLE_RAILS = [
    (3.70720000, 0.00195186), (3.30260900, 0.12589500), (1.81294100, 0.23129540),
    (1.10732500, 0.0), (0.60183090, 0.0), (1.10622600, 0.18835450),
    (0.80146440, 0.30644200), (0.81203820, 0.82156000), (3.30952000, 0.0),
    (3.31226800, 0.0), (0.79912020, 0.00311355), (5.12416000, 0.00036630),
]  # fmt: skip
IDLE_RAILS_W = 1.96781  # the sum of the products above, worked out by hand


def test_channel_form_idle_pi5() -> None:
    reading = parse_pmic((PMIC / "channel_idle.txt").read_text())
    assert sum(v * a for v, a in IDLE_RAILS) == pytest.approx(IDLE_RAILS_W, abs=1e-5)
    assert reading.rails == 12
    assert reading.rails_w == pytest.approx(IDLE_RAILS_W, abs=1e-5)
    assert reading.input_v == pytest.approx(5.13756)
    assert reading.input_w is None
    assert reading.watts == pytest.approx(1.1327 * 1.96781 + 0.6444, abs=1e-4)  # 2.8734 W


def test_channel_form_under_load() -> None:
    reading = parse_pmic((PMIC / "channel_load.txt").read_text())
    # VDD_CORE alone: 0.89745940 V x 10.87674 A = 9.7614 W; all twelve rails: 10.7999 W
    assert reading.rails_w == pytest.approx(10.79989, abs=1e-4)
    assert reading.watts == pytest.approx(CORRECTION_SLOPE * 10.79989 + CORRECTION_OFFSET_W, 1e-4)
    assert 12.8 < reading.watts < 12.9  # the 12-14 W published for a Pi 5 under an LLM


def test_bare_form_with_the_input_current() -> None:
    reading = parse_pmic((PMIC / "bare_form.txt").read_text())
    assert reading.rails == 0  # only currents besides EXT5V: nothing to pair
    assert reading.input_w == pytest.approx(5.0588 * 0.4294)
    assert reading.watts == pytest.approx(2.17225, abs=1e-5)  # the input itself, uncorrected


def test_bare_form_pairs_rails_like_the_channel_form() -> None:
    bare = parse_pmic((PMIC / "bare_form_rails.txt").read_text())
    channel = parse_pmic((PMIC / "channel_idle.txt").read_text())
    assert bare == channel


@pytest.mark.parametrize(
    "text",
    ["", "garbage\n", "EXT5V_V volt(24)=5.1V\n", "VDD_CORE_A current(7)=1.0V\nVDD_CORE_V=0.8V"],
)
def test_no_rails_is_a_reason_not_a_crash(text: str) -> None:
    with pytest.raises(SourceUnavailable, match="no PMIC rails"):
        parse_pmic(text)


# -- recordings ---------------------------------------------------------------------------------


def conditions(time: float, power: float | None, *, raw: int = 0) -> Conditions:
    from pislm_tui.monitor.throttle import decode_throttled

    return Conditions(time=time, temp_c=50.0, arm_mhz=2400.0, throttle=decode_throttled(raw),
                      power_w=power)  # fmt: skip


def test_energy_is_the_integral_of_power() -> None:
    run = summarise(
        [conditions(0, 4.0), conditions(2, 8.0), conditions(5, None), conditions(6, 8.0)]
    )
    # 0-2 s: trapezoid 12 J; 2-6 s: 4 s at 8 W (the gap holds) = 32 J
    assert run.energy_j == pytest.approx(44.0)
    assert run.mean_power_w == pytest.approx(44.0 / 6)
    assert run.joules_per_token(88) == pytest.approx(0.5)
    assert not run.throttled and not run.began_throttling


async def test_cool_pi_reply(tmp_path: Path) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    async with machine.sampler() as sampler:
        recording = Recording(sampler)
        await recording.start()
        for second in range(6):
            machine.tick(cool_busy(second))
            await sampler.sample(detail=False, wait_slow=True)
        run = await recording.stop()
    assert run is not None
    assert run.start.temp_c == run.end.temp_c == run.peak_temp_c
    assert run.start.temp_c is not None and run.start.temp_c < 60
    assert run.min_arm_mhz == pytest.approx(1500.00128)  # the firmware's clock (vcgencmd)
    assert run.start.throttle is not None and run.start.throttle.ok
    assert not run.throttled and not run.began_throttling
    idle_w = CORRECTION_SLOPE * IDLE_RAILS_W + CORRECTION_OFFSET_W
    assert run.energy_j == pytest.approx(idle_w * 6, rel=1e-4)  # six seconds at idle power
    assert "not throttled" in run.summary()
    assert not any("not comparable" in line for line in run.lines(tokens=10))


async def test_throttling_that_begins_mid_reply(tmp_path: Path) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    async with machine.sampler() as sampler:
        recording = Recording(sampler)
        await recording.start()
        machine.tick(cool_busy(0), seconds=3)
        await sampler.sample(detail=False, wait_slow=True)
        # The firmware starts throttling: the recorded Pi 5's hot reply (0x60006: capped and
        # throttled now and since boot) and its clock cut to 1.5 GHz.
        hot = FIXTURES / "pi5_hot" / "vcgencmd.out"
        machine.write("vcgencmd.out/get_throttled", "throttled=0x60006\n")
        machine.write("vcgencmd.out/measure_clock_arm", (hot / "measure_clock_arm").read_text())
        machine.tick(cool_busy(1), seconds=3)
        await sampler.sample(detail=False, wait_slow=True)
        run = await recording.stop()
    assert run is not None
    assert run.start.throttle is not None and not run.start.throttling
    assert run.end.throttle is not None and "throttled" in run.end.throttle.now
    assert run.throttled and run.began_throttling
    assert "THROTTLED during the reply" in run.summary()
    assert any("not comparable" in line for line in run.lines())
    data = run.to_json(tokens=100)
    assert data["began_throttling"] is True and data["end"]["throttled"]["raw"] == "0x60006"


async def test_a_fresh_reading_is_not_read_again(tmp_path: Path) -> None:
    machine = Machine.copy("pi5_cool", tmp_path)
    async with machine.sampler() as sampler:
        recording = Recording(sampler)
        await recording.start()  # no fresh reading yet: one is taken
        first = sampler.last
        machine.tick(cool_busy(0))
        await sampler.sample(detail=False, wait_slow=True)  # the app's timer
        taken = sampler.last
        run = await recording.stop()  # within FRESH_FOR of `taken`: nothing new is read
        assert sampler.last is taken and first is not taken
    assert run is not None and len(recording.points) == 2


async def test_not_a_pi(tmp_path: Path) -> None:
    machine = Machine.copy("no_sensors", tmp_path)
    async with machine.sampler() as sampler:
        recording = Recording(sampler)
        await recording.start()
        machine.tick([5.0, 5.0])
        await sampler.sample(detail=False, wait_slow=True)
        run = await recording.stop()
    assert run is not None
    assert run.start.temp_c is None and run.start.throttle is None and run.energy_j is None
    assert run.energy_why is not None and "video" in run.energy_why
    assert "n/a" in "\n".join(run.lines())
    assert run.to_json()["energy_j"] is None
