"""Cost of watching another machine over ssh (issue #17): per reading, on the machine pislm runs
on (CPU of this process and of its ssh children) and on the link (bytes of one dump), for the
shell reader (nothing installed there) with and without the process list, and the `pislm
monitor --json` stream, against this machine's own Sampler (psutil) in the same run; and the
strip while a reply records its conditions there (vcgencmd: throttle bits, clock and
pmic_read_adc every 2 s, the recorded Pi 5's replies).

The "remote" machine is this one, behind Debian's sshd on a loopback port (tests/sshd.py):
"here" is this process and its ssh clients (the laptop's cost), "there" the sshd's process tree
(the sessions, their shell loop and the commands it starts: the Pi's cost).

    .venv/bin/python bench/remote_monitor.py [--readings 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pislm_tui.backend.ssh import SshShell  # noqa: E402
from pislm_tui.monitor.remote import RemoteMonitor, ShellSampler  # noqa: E402
from pislm_tui.monitor.sampler import Sampler  # noqa: E402
from tests.fixtures.monitor.recording import FIXTURES  # noqa: E402
from tests.sshd import pislm_shim, run_sshd  # noqa: E402

PI_VCGENCMD = str(FIXTURES / "pi5_cool" / "vcgencmd")  # the recorded Pi 5's replies, run there


def cpu_here() -> float:
    """CPU seconds of this process and its finished children (the ssh clients)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_of_tree(pid: int) -> float:
    """CPU seconds so far of a process and all its descendants (each one's utime+stime, plus
    cutime+cstime: its children already gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        procs[int(entry)] = (int(fields[1]), sum(int(v) for v in fields[11:15]) / tick)
    tree, grew = {pid}, True
    while grew:
        grew = False
        for p, (ppid, _) in procs.items():
            if ppid in tree and p not in tree:
                tree.add(p)
                grew = True
    return sum(procs[p][1] for p in tree if p in procs)


async def readings(sampler, count: int, *, detail: bool, pause: float) -> float:
    start = time.monotonic()
    for _ in range(count):
        await sampler.sample(detail=detail)
        await asyncio.sleep(pause)
    return time.monotonic() - start


async def main(count: int) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        shim = Path(tmp) / "bin"
        pislm_shim(shim)
        with run_sshd(Path(tmp), path=[str(shim)]) as sshd:
            shell = SshShell(sshd.destination, sshd.client_args())
            probe = ShellSampler(shell, vcgencmd=None)
            await probe.refresh(processes=False)
            out = "\n".join(await probe._ask("dump -"))
            out_procs = "\n".join(await probe._ask("dump procs"))
            await probe.aclose()
            await shell.aclose()
            cases = [
                ("this machine (psutil)", lambda: Sampler(vcgencmd=None), True),
                (
                    "ssh, shell reader, strip",
                    lambda: RemoteMonitor(
                        SshShell(sshd.destination, sshd.client_args()),
                        label="x",
                        via="shell",
                        vcgencmd=None,
                    ),
                    False,
                ),
                (
                    "ssh, shell, strip+reply",
                    lambda: RemoteMonitor(
                        SshShell(sshd.destination, sshd.client_args()),
                        label="x",
                        via="shell",
                        vcgencmd=PI_VCGENCMD,
                    ),
                    "record",
                ),
                (
                    "ssh, pislm there, tab",
                    lambda: RemoteMonitor(
                        SshShell(sshd.destination, sshd.client_args()),
                        label="x",
                        via="pislm",
                        interval=0.2,
                    ),
                    True,
                ),
                (
                    "ssh, shell reader, tab",
                    lambda: RemoteMonitor(
                        SshShell(sshd.destination, sshd.client_args()),
                        label="x",
                        via="shell",
                        vcgencmd=None,
                    ),
                    True,
                ),
            ]
            for name, make, mode in cases:
                sampler = make()
                detail = mode is True
                if mode == "record":  # a reply's Recording is in: conditions with each reading
                    sampler.recorders.append(lambda _sample: None)
                for _ in range(100):  # connection, baseline, the remote pislm started
                    if (await sampler.sample(detail=detail)).cores:
                        break
                    await asyncio.sleep(0.2)
                here0, there0 = cpu_here(), cpu_of_tree(sshd.process.pid)
                elapsed = await readings(sampler, count, detail=detail, pause=0.2)
                here = (cpu_here() - here0) / count
                there = (cpu_of_tree(sshd.process.pid) - there0) / count
                await sampler.aclose()
                rows.append((name, here * 1000, there * 1000, elapsed / count * 1000))
    print(f"{count} readings each; the remote machine is this one behind sshd on 127.0.0.1")
    print(f"{'':28}{'here ms CPU':>12}{'there ms CPU':>14}{'ms/reading':>12}")
    for name, here, there, wall in rows:
        print(f"{name:28}{here:12.1f}{there:14.1f}{wall:12.0f}")
    print(f"dump without processes: {len(out)} bytes; with processes: {len(out_procs)} bytes")
    print("(pislm there: its process's CPU is under 'there', measured once it streams)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=20)
    asyncio.run(main(parser.parse_args().readings))
