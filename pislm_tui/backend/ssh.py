"""A host's shell over the system `ssh` client: the Monitor reads another machine through it.

The system client, so `~/.ssh/config`, keys and agents work as they do for the user. One
multiplexed connection per host (ControlMaster in a private temporary directory, kept for
`persist` seconds after the last use): each reading is a new session on it, not a new login.
BatchMode: ssh never asks for a password or a host key inside the TUI; it fails, and the
failure becomes a `RemoteShellFailed` that says what to do."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence

from pislm_tui.backend.errors import RemoteShellFailed

SSH_FAILED = 255  # ssh's own exit status for a connection or login failure


def explain(destination: str, status: int, stderr: str) -> RemoteShellFailed:
    """ssh's own words turned into what happened and what to do."""
    text = stderr.strip()
    low = text.lower()
    last = text.splitlines()[-1][:160] if text else f"exit status {status}"
    if "permission denied" in low:
        return RemoteShellFailed(
            f"ssh {destination}: the key was refused ({last})",
            "pislm never asks for a password: install your key there (ssh-copy-id "
            f"{destination}; `ssh {destination} true` must then work without a prompt), or set "
            'ssh_args = ["-i", "~/.ssh/KEY"] in the host\'s [hosts.NAME]',
        )
    if "connection refused" in low:
        return RemoteShellFailed(
            f"ssh {destination}: connection refused ({last})",
            'no ssh server answers on that port: check the port (ssh_args = ["-p", "2222"]) '
            "and that sshd runs there",
        )
    if "could not resolve" in low or "name or service not known" in low:
        return RemoteShellFailed(
            f"ssh {destination}: unknown host name ({last})",
            "check the name in the host's ssh = ..., or use its IP address",
        )
    if "host key verification failed" in low or "host key for" in low:
        return RemoteShellFailed(
            f"ssh {destination}: the host key is not known or has changed",
            f"connect once in a terminal (ssh {destination}) to check and accept its key",
        )
    if any(w in low for w in ("timed out", "no route to host", "network is unreachable")):
        return RemoteShellFailed(
            f"ssh {destination}: the machine does not answer ({last})",
            "is it switched on and on this network?",
        )
    return RemoteShellFailed(f"ssh {destination} failed: {last}")


class SshShell:
    """Commands on one machine through ssh. `run` waits for a command's whole output,
    `lines` follows a long-running command line by line. Close with `aclose()`."""

    def __init__(
        self,
        destination: str,
        args: Sequence[str] = (),
        *,
        connect_timeout: float = 5.0,
        persist: float = 60.0,
        program: str = "ssh",
    ) -> None:
        self.destination = destination
        self.args = [os.path.expanduser(a) if a.startswith("~") else a for a in args]
        self.connect_timeout = connect_timeout
        self.persist = persist
        self.program = program
        self._control_dir: str | None = None

    @property
    def control_dir(self) -> str | None:
        """The private directory of the shared connection's socket (None until first use)."""
        return self._control_dir

    def _control_path(self) -> str:
        if self._control_dir is None:
            # Private (0700) and short: a unix socket path must stay under ~100 bytes.
            self._control_dir = tempfile.mkdtemp(prefix="pislm-ssh-")
        return os.path.join(self._control_dir, "%C")

    def argv(self, *remote: str) -> list[str]:
        return [
            self.program,
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={max(1, round(self.connect_timeout))}",
            "-o",
            "ControlMaster=auto",
            "-o",
            f"ControlPath={self._control_path()}",
            "-o",
            f"ControlPersist={max(1, round(self.persist))}",
            "-o",
            "ServerAliveInterval=15",
            *self.args,
            "--",
            self.destination,
            *remote,
        ]

    async def _spawn(self, remote: Sequence[str], stdin: int) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *self.argv(*remote),
                stdin=stdin,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a Ctrl+C in the terminal is the app's, not ssh's
            )
        except FileNotFoundError:
            raise RemoteShellFailed(
                f"no `{self.program}` command on this machine",
                "install the OpenSSH client (sudo apt install openssh-client)",
            ) from None
        except OSError as exc:
            raise RemoteShellFailed(f"cannot run {self.program}: {exc.strerror or exc}") from None

    async def run(
        self, *remote: str, input: bytes | None = None, timeout: float = 15.0
    ) -> tuple[int, bytes]:
        """(exit status, stdout) of one remote command. Raises `RemoteShellFailed` when ssh
        itself fails or the command does not finish within `timeout` seconds."""
        stdin = asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL
        proc = await self._spawn(remote, stdin)
        try:
            out, err = await asyncio.wait_for(proc.communicate(input), timeout)
        except TimeoutError:
            await _end(proc)
            raise RemoteShellFailed(
                f"ssh {self.destination}: no answer within {timeout:g} s",
                "is the machine overloaded or the network slow?",
            ) from None
        except asyncio.CancelledError:
            await _end(proc)
            raise
        status = proc.returncode or 0
        if status == SSH_FAILED:
            raise explain(self.destination, status, err.decode("utf-8", "replace"))
        return status, out

    async def lines(self, *remote: str) -> AsyncIterator[str]:
        """Each stdout line of a long-running remote command; raises `RemoteShellFailed` when
        it ends with ssh's failure. Stop it by stopping the iteration (the child is killed)."""
        proc = await self._spawn(remote, asyncio.subprocess.DEVNULL)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            while line := await proc.stdout.readline():
                yield line.decode("utf-8", "replace")
            err = await proc.stderr.read()
            status = await proc.wait()
        finally:
            await _end(proc)
        if status == SSH_FAILED:
            raise explain(self.destination, status, err.decode("utf-8", "replace"))
        if status != 0:
            detail = err.decode("utf-8", "replace").strip().splitlines()
            raise RemoteShellFailed(
                f"{' '.join(remote)} on {self.destination} stopped (exit {status})"
                + (f": {detail[-1][:160]}" if detail else "")
            )

    async def session(self, *remote: str) -> SshSession:
        """A long-running remote command spoken to line by line (`SshSession.ask`): one ssh
        session for many readings, instead of a new session (a fork of sshd and a login
        shell there) each time."""
        return SshSession(await self._spawn(remote, asyncio.subprocess.PIPE), self.destination)

    async def aclose(self) -> None:
        """End the shared connection and remove its directory."""
        directory, self._control_dir = self._control_dir, None
        if directory is None:
            return
        path = os.path.join(directory, "%C")
        with contextlib.suppress(OSError):
            proc = await asyncio.create_subprocess_exec(
                self.program,
                "-o",
                f"ControlPath={path}",
                *self.args,
                "-O",
                "exit",
                "--",
                self.destination,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 5)
            if proc.returncode is None:
                await _end(proc)
        shutil.rmtree(directory, ignore_errors=True)


class SshSession:
    """A remote command that answers requests: a line in, lines out up to an end line. One
    request at a time (a lock); a timeout, a cancel or a broken pipe ends the session (its
    answers could no longer be told apart), and `closed` says so."""

    def __init__(self, proc: asyncio.subprocess.Process, destination: str) -> None:
        self._proc = proc
        self.destination = destination
        self._lock = asyncio.Lock()
        self.closed = False

    async def ask(self, request: str, end: str, *, timeout: float = 15.0) -> list[str]:
        """The answer's lines, the end line included. Raises `RemoteShellFailed`."""
        async with self._lock:
            if self.closed:
                raise RemoteShellFailed(f"the session with {self.destination} has ended")
            stdin = self._proc.stdin
            assert stdin is not None
            try:
                stdin.write(request.encode("utf-8") + b"\n")
                await stdin.drain()
                return await asyncio.wait_for(self._until(end), timeout)
            except (BrokenPipeError, ConnectionResetError):
                raise await self._failure() from None
            except TimeoutError:
                await self.aclose()
                raise RemoteShellFailed(
                    f"ssh {self.destination}: no answer within {timeout:g} s",
                    "is the machine overloaded or the network slow?",
                ) from None
            except asyncio.CancelledError:
                await self.aclose()
                raise

    async def _until(self, end: str) -> list[str]:
        stdout = self._proc.stdout
        assert stdout is not None
        lines: list[str] = []
        while True:
            raw = await stdout.readline()
            if not raw:
                raise await self._failure()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            lines.append(line)
            if line == end:
                return lines

    async def _failure(self) -> RemoteShellFailed:
        """Why the remote command ended (ssh's own failure, or the command's)."""
        self.closed = True
        stderr = self._proc.stderr
        err = (await stderr.read()).decode("utf-8", "replace") if stderr is not None else ""
        status = await self._proc.wait()
        if status == SSH_FAILED:
            return explain(self.destination, status, err)
        detail = err.strip().splitlines()
        return RemoteShellFailed(
            f"the reader on {self.destination} stopped (exit {status})"
            + (f": {detail[-1][:160]}" if detail else ""),
            "its login shell must be a POSIX shell (sh, bash, dash)",
        )

    async def aclose(self) -> None:
        self.closed = True
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        await _end(self._proc)


async def _end(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    await proc.wait()
