"""The machine that runs the model, read over ssh (core: the shell comes in, see
`backend/ssh.SshShell`; nothing here opens a connection).

`RemoteMonitor` has the Sampler's face (`prime`, `sample`, `history`, `aclose`) so the app's
feed and `pislm monitor` use it as they use a Sampler. On its first reading it asks the machine
whether pislm is installed there:
- yes: `pislm monitor --json` runs there and streams its samples (`StreamSampler`);
- no: a POSIX-shell script prints the /proc and sysfs files each time (`ShellSampler`, parsed
  by the same code as this machine's), and vcgencmd runs there through the same connection.
A failed ssh (refused key, wrong port, host down) gives a sample whose every figure is missing
with ssh's reason, and `error` says it; the next reading tries again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shlex
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pislm_tui.backend.errors import PislmError, RemoteShellFailed
from pislm_tui.monitor.remote_dump import (
    SESSION_SCRIPT,
    DumpReader,
    new_marker,
    parse_dump,
    parse_vcgencmd,
)
from pislm_tui.monitor.remote_json import sample_from_json
from pislm_tui.monitor.sampler import LoadedCall, Sampler
from pislm_tui.monitor.types import Sample, SourceUnavailable

Via = Literal["auto", "pislm", "shell"]
FIELDS = ("cores", "ram", "swap", "temp_c", "load", "fan_rpm", "freq_mhz", "processes")
FIND_PISLM = (
    'command -v pislm || { [ -x "$HOME/.local/bin/pislm" ] && echo "$HOME/.local/bin/pislm"; }'
)
STREAM_IDLE = 10.0  # s without a reading asked for: the remote stream stops (the strip rests)
FIRST_LINE_WAIT = 20.0  # s a reading that must be real waits for pislm's first line there


class MachineSampler(Protocol):
    """What the app's feed and `pislm monitor` ask of a sampler: a `Sampler` (this machine, a
    /proc tree) or a `RemoteMonitor`."""

    history: Any  # (time, per-core %) of recent readings, oldest first
    # What a reply's or a bench run's `conditions.Recording` reads: the latest reading, the
    # clock it was taken on, and the callbacks given every reading while they are in.
    last: Sample | None
    clock: Callable[[], float]
    recorders: list[Callable[[Sample], None]]
    power_history: Any  # (time, watts) of recent readings with power, oldest first

    def prime(self) -> None: ...

    async def sample(
        self, *, detail: bool = True, processes: bool | None = None, wait_slow: bool = False
    ) -> Sample: ...

    async def aclose(self) -> None: ...


class Session(Protocol):
    """A remote command spoken to line by line (`backend.ssh.SshSession`)."""

    closed: bool

    async def ask(self, request: str, end: str, *, timeout: float = 15.0) -> list[str]: ...

    async def aclose(self) -> None: ...


class Shell(Protocol):
    """What the monitor needs of a machine's shell (`backend.ssh.SshShell`)."""

    destination: str

    async def session(self, *remote: str) -> Session: ...

    async def run(
        self, *remote: str, input: bytes | None = None, timeout: float = 15.0
    ) -> tuple[int, bytes]: ...

    def lines(self, *remote: str) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


def failed_sample(error: PislmError, *, detail: bool, label: str, now: float) -> Sample:
    reason = str(error)
    return Sample(
        time=now,
        taken_at=datetime.now(UTC),
        detail=detail,
        host=label,
        unavailable={name: reason for name in (*FIELDS, "throttled", "power_w", "ollama_loaded")},
    )


# -- with nothing installed there --------------------------------------------------------


class ShellSampler(Sampler):
    """A Sampler whose reader is refreshed, before each reading, by one request to a shell loop
    kept running there (`SESSION_SCRIPT`); vcgencmd runs through the same loop."""

    def __init__(self, shell: Shell, *, vcgencmd: str | None = "vcgencmd", **kwargs: Any) -> None:
        self.shell = shell
        self.dump_reader = DumpReader(kwargs.get("clock", time.monotonic))
        self.vcgencmd_name = (vcgencmd or "vcgencmd").split()[0]
        self.vcgencmd_command = vcgencmd or ""
        self._session: Session | None = None
        self.marker = new_marker()
        super().__init__(
            reader=self.dump_reader, vcgencmd=self._vcgencmd if vcgencmd else None, **kwargs
        )

    def prime(self) -> None:
        """Nothing to read without a round trip: the first reading is the baseline."""

    @property
    def session(self) -> Session | None:
        """The shell loop there (one for every reading while it lasts)."""
        return self._session

    async def _ask(self, request: str) -> list[str]:
        """One request to the shell loop there, started (again) when needed."""
        if self._session is None or self._session.closed:
            self.marker = new_marker()  # a new session, a new marker
            self._session = await self.shell.session(
                "sh", "-c", shlex.quote(SESSION_SCRIPT), "sh", shlex.quote(self.vcgencmd_command)
            )
            await self._session.ask(self.marker, f"{self.marker} end")  # the handshake
        return await self._session.ask(request, f"{self.marker} end")

    async def refresh(self, processes: bool) -> None:
        """Read the files there once; raises `RemoteShellFailed`."""
        lines = await self._ask("dump procs" if processes else "dump -")
        self.dump_reader.use(parse_dump("\n".join(lines), self.marker))

    async def sample(
        self, *, detail: bool = True, processes: bool | None = None, wait_slow: bool = False
    ) -> Sample:
        procs = detail if processes is None else processes
        await self.refresh(procs and self._processes_due())
        return await super().sample(detail=detail, processes=processes, wait_slow=wait_slow)

    async def _vcgencmd(self, args: Sequence[str]) -> tuple[int, str]:
        try:
            status, out = parse_vcgencmd(await self._ask("vc " + " ".join(args)), self.marker)
        except RemoteShellFailed as exc:
            raise SourceUnavailable(str(exc)) from None
        if status == 127:
            raise SourceUnavailable(
                f"no {self.vcgencmd_name} on {self.shell.destination} (not a Pi?)"
            )
        return status, out

    async def aclose(self) -> None:
        await super().aclose()
        if self._session is not None:
            await self._session.aclose()
        self.dump_reader.close()


# -- with pislm installed there -----------------------------------------------------------


class StreamSampler:
    """Follows `pislm monitor --json` on the other machine; each reading is its latest line."""

    def __init__(
        self,
        shell: Shell,
        command: str,
        *,
        interval: float,
        history_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shell = shell
        self.command = command
        self.interval = interval
        self.history_seconds = history_seconds
        self.clock = clock
        self.history: deque[tuple[float, tuple[float, ...]]] = deque()
        self.latest: Sample | None = None
        self.error: PislmError | None = None
        self._task: asyncio.Task[None] | None = None
        self._asked = 0.0
        self._arrived = asyncio.Event()

    def prime(self) -> None:
        pass

    async def _follow(self) -> None:
        lines = self.shell.lines(
            self.command, "monitor", "--json", "--interval", f"{self.interval:g}"
        )
        try:
            async with contextlib.aclosing(lines):  # leaving the loop ends ssh there at once
                await self._read(lines)
        except PislmError as exc:
            self.error = exc

    async def _read(self, lines: AsyncIterator[str]) -> None:
        async for line in lines:
            try:
                sample = sample_from_json(json.loads(line), now=self.clock())
            except (ValueError, KeyError, TypeError):
                continue  # a line that is not a sample (a warning) says nothing
            self.latest, self.error = sample, None
            self._arrived.set()
            if sample.cores:
                self.history.append((sample.time, sample.cores))
                while self.history and self.history[0][0] < sample.time - self.history_seconds:
                    self.history.popleft()
            if self.clock() - self._asked > STREAM_IDLE:
                return  # nobody looks: stop reading there

    async def sample(self, *, detail: bool = True, wait: bool = False, **_: Any) -> Sample:
        """The latest line's sample; `wait`: before the first line, wait for it (a reply's
        conditions at its start) rather than answer "waiting"."""
        self._asked = now = self.clock()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._follow())
        if self.latest is None and wait:
            arrived = asyncio.ensure_future(self._arrived.wait())
            try:
                await asyncio.wait(
                    {arrived, self._task},
                    timeout=FIRST_LINE_WAIT,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                arrived.cancel()
            now = self.clock()
        if self.error is not None:
            raise self.error
        if self.latest is None:
            waiting = SourceUnavailable(f"waiting for pislm on {self.shell.destination}")
            return failed_sample(PislmError(waiting.reason), detail=detail, label="", now=now)
        return self.latest

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- the one the app and the CLI use ------------------------------------------------------


class RemoteMonitor:
    """The Sampler of a machine reached over ssh (see the module's docstring)."""

    def __init__(
        self,
        shell: Shell,
        *,
        label: str,
        via: Via = "auto",
        vcgencmd: str | None = "vcgencmd",
        loaded: LoadedCall | None = None,
        interval: float = 1.0,
        slow_interval: float = 5.0,
        top: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shell = shell
        self.label = label
        self.via: Via = via
        self.vcgencmd = vcgencmd
        self.loaded = loaded
        self.interval = interval
        self.slow_interval = slow_interval
        self.top = top
        self.clock = clock
        self.inner: ShellSampler | StreamSampler | None = None
        self.error: PislmError | None = None
        self._empty: deque[tuple[float, tuple[float, ...]]] = deque()
        self.last: Sample | None = None  # the latest reading (a reply's conditions use it)
        # Given every reading while they are in (`conditions.Recording`); the shell reader
        # shares the list, so it reads the conditions (vcgencmd) with its cheap readings too.
        self.recorders: list[Callable[[Sample], None]] = []
        # (time, watts) of each reading with power, oldest first: the Monitor tab's sparkline.
        self.power_history: deque[tuple[float, float]] = deque(maxlen=120)

    @property
    def history(self) -> deque[tuple[float, tuple[float, ...]]]:
        return self.inner.history if self.inner is not None else self._empty

    @property
    def mode(self) -> str | None:
        """ "pislm" or "shell" once known."""
        if isinstance(self.inner, StreamSampler):
            return "pislm"
        return "shell" if self.inner is not None else None

    def prime(self) -> None:
        pass

    async def _choose(self) -> ShellSampler | StreamSampler:
        command = ""
        if self.via in ("auto", "pislm"):
            _, out = await self.shell.run("sh", "-s", input=FIND_PISLM.encode(), timeout=10)
            command = out.decode("utf-8", "replace").strip().splitlines()[0] if out.strip() else ""
            if not command and self.via == "pislm":
                raise RemoteShellFailed(
                    f"pislm is not installed on {self.shell.destination}",
                    'install it there (pipx install pislm), or set monitor_via = "auto"',
                )
        if command:
            return StreamSampler(self.shell, command, interval=self.interval, clock=self.clock)
        shell = ShellSampler(
            self.shell,
            vcgencmd=self.vcgencmd,
            loaded=self.loaded,
            slow_interval=self.slow_interval,
            top=self.top,
            clock=self.clock,
        )
        shell.recorders = self.recorders  # it gives them its readings itself
        return shell

    async def sample(
        self, *, detail: bool = True, processes: bool | None = None, wait_slow: bool = False
    ) -> Sample:
        """One reading of the other machine; never raises for ssh's failures."""
        recorded = False  # the shell reader gives the recorders its readings itself
        try:
            if self.inner is None:
                self.inner = await self._choose()
            if isinstance(self.inner, ShellSampler):
                sample = await self.inner.sample(
                    detail=detail, processes=processes, wait_slow=wait_slow
                )
                recorded = True
            else:
                sample = await self.inner.sample(detail=detail, wait=wait_slow)
            self.error = None
        except PislmError as exc:
            self.error = exc
            sample = failed_sample(exc, detail=detail, label=self.label, now=self.clock())
            sample = await self._with_loaded(sample) if detail else sample
        if sample is not self.last:  # a new reading (the stream's line repeats until the next)
            self.last = sample
            if sample.power_w is not None:
                self.power_history.append((sample.time, sample.power_w))
            if not recorded:
                for record in list(self.recorders):
                    record(sample)
        return sample

    async def _with_loaded(self, sample: Sample) -> Sample:
        """The server's models in memory come over HTTP, not ssh: still shown."""
        if self.loaded is None:
            return sample
        try:
            models = tuple(await asyncio.wait_for(self.loaded(), 5.0))
        except (PislmError, TimeoutError):
            return sample
        unavailable = {k: v for k, v in sample.unavailable.items() if k != "ollama_loaded"}
        return dataclasses.replace(sample, ollama_loaded=models, unavailable=unavailable)

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()
        await self.shell.aclose()
