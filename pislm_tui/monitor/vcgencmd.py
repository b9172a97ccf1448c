"""`vcgencmd` (Raspberry Pi firmware queries): run it without blocking and parse its replies.

vcgencmd talks to the VideoCore firmware through /dev/vcio_gencmd. When it cannot open the device
(user not in the `video` group, a container, not a Pi) it prints "Can't open device file: ..." on
stdout and exits 255; older builds print "VCHI initialization failed". A firmware error reply looks
like `error=2 error_msg="Invalid arguments"`. Every failure becomes a `SourceUnavailable` with a
reason a user can act on; nothing here raises anything else."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
from collections.abc import Awaitable, Callable, Sequence

from pislm_tui.monitor.throttle import Throttle, decode_throttled
from pislm_tui.monitor.types import SourceUnavailable

# An injected runner: args (without the program) -> (exit status, stdout+stderr text).
VcgencmdCall = Callable[[Sequence[str]], Awaitable[tuple[int, str]]]

_TEMP = re.compile(r"^temp=(-?\d+(?:\.\d+)?)'C$")
_THROTTLED = re.compile(r"^throttled=(0x[0-9a-fA-F]+|\d+)$")
_CLOCK = re.compile(r"^frequency\(\d+\)=(\d+)$")
_FW_ERROR = re.compile(r'error=(-?\d+)\s+error_msg="([^"]*)"')
NO_DEVICE_HINT = (
    "vcgencmd cannot open the firmware device: add the user to the 'video' group "
    "(sudo usermod -aG video $USER) and log in again"
)


def _value(text: str, pattern: re.Pattern[str], what: str) -> str:
    line = text.strip()
    match = pattern.match(line)
    if match is None:
        raise SourceUnavailable(f"unexpected {what} output: {line[:60]!r}")
    return match.group(1)


def parse_temp(text: str) -> float:
    """`temp=48.3'C` -> 48.3 (°C)."""
    return float(_value(text, _TEMP, "measure_temp"))


def parse_throttled(text: str) -> Throttle:
    """`throttled=0x50000` -> decoded flags."""
    raw = _value(text, _THROTTLED, "get_throttled")
    return decode_throttled(int(raw, 16) if raw.lower().startswith("0x") else int(raw))


def parse_clock(text: str) -> int:
    """`frequency(0)=2400000000` -> Hz. The number in parentheses is a firmware clock id that
    differs between models; it is ignored. 0 means the clock is gated."""
    return int(_value(text, _CLOCK, "measure_clock"))


def failure_reason(status: int, output: str) -> str | None:
    """Why a vcgencmd run failed, or None when it worked."""
    text = output.strip()
    if "Can't open device file" in text or "VCHI initialization failed" in text:
        return NO_DEVICE_HINT
    fw = _FW_ERROR.search(text)
    if fw is not None:
        return f"firmware refused the query: {fw.group(2) or 'error ' + fw.group(1)}"
    if status != 0:
        first = text.splitlines()[0][:80] if text else "no output"
        return f"vcgencmd failed (exit {status}): {first}"
    if not text:
        return "vcgencmd printed nothing"
    return None


class Vcgencmd:
    """Runs `vcgencmd <args>` (a command line, or an injected coroutine for tests). After a
    failure it is not tried again for `retry_after` seconds: a missing command or a missing
    group membership does not fix itself every second."""

    def __init__(
        self,
        command: str | Sequence[str] | VcgencmdCall | None = "vcgencmd",
        *,
        timeout: float = 2.0,
        retry_after: float = 60.0,
    ) -> None:
        self.timeout = timeout
        self.retry_after = retry_after
        self._call: VcgencmdCall | None = None
        self._argv: list[str] = []
        if callable(command):
            self._call = command
        elif isinstance(command, str):
            self._argv = shlex.split(command)
        elif command is not None:
            self._argv = list(command)
        self.disabled_reason: str | None = (
            None if (self._call or self._argv) else "vcgencmd disabled"
        )
        self._retry_at = 0.0

    @property
    def configured(self) -> bool:
        return self._call is not None or bool(self._argv)

    async def query(self, *args: str, now: float) -> str:
        """stdout of one query; raises SourceUnavailable(reason)."""
        if not self.configured:
            raise SourceUnavailable("vcgencmd disabled in the settings")
        if self.disabled_reason is not None and now < self._retry_at:
            raise SourceUnavailable(self.disabled_reason)
        try:
            status, output = await self._run(args)
        except SourceUnavailable as exc:
            self._fail(exc.reason, now)
            raise
        reason = failure_reason(status, output)
        if reason is not None:
            # A refused single query (bad argument) is not a reason to stop asking the others.
            if not reason.startswith("firmware refused"):
                self._fail(reason, now)
            raise SourceUnavailable(reason)
        self.disabled_reason = None
        return output

    def _fail(self, reason: str, now: float) -> None:
        self.disabled_reason = reason
        self._retry_at = now + self.retry_after

    async def _run(self, args: Sequence[str]) -> tuple[int, str]:
        if self._call is not None:
            try:
                return await asyncio.wait_for(self._call(args), self.timeout)
            except TimeoutError:
                raise SourceUnavailable(
                    f"vcgencmd did not answer within {self.timeout:g} s"
                ) from None
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *self._argv,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        )
        try:
            # Shielded: a close arriving while the child starts must still end that child.
            proc = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                started = await spawn
                with contextlib.suppress(ProcessLookupError):
                    started.kill()
                await started.wait()
            raise
        except FileNotFoundError:
            raise SourceUnavailable(
                f"{self._argv[0]} not found (it comes with Raspberry Pi OS; not a Pi?)"
            ) from None
        except PermissionError:
            raise SourceUnavailable(f"{self._argv[0]}: permission denied") from None
        except OSError as exc:
            raise SourceUnavailable(f"cannot run {self._argv[0]}: {exc.strerror or exc}") from None
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SourceUnavailable(f"vcgencmd did not answer within {self.timeout:g} s") from None
        except asyncio.CancelledError:
            # The sampler closed mid-query: end the child now. Left to the garbage collector,
            # its pipes are closed after the event loop has gone ("Event loop is closed").
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        return proc.returncode or 0, out.decode("utf-8", "replace")
