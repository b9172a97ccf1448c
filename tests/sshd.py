"""A real OpenSSH server (Debian's sshd) on a loopback port, for the tests of the remote monitor.

Everything lives in the test's tmp dir: a host key, a client key and its authorized_keys, the
sshd_config, the known_hosts the client checks. The client is told to use only those
(`client_args`): the real ~/.ssh is never read or written. sshd runs as the test's user (root in
CI, where `.ci/run` installs openssh-server when it is missing)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
ROOT = Path(__file__).resolve().parent.parent


def sshd_missing() -> str | None:
    if not Path(SSHD).exists():
        return "no sshd (apt-get install openssh-server; .ci/run installs it)"
    if not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        return "no ssh client"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Sshd:
    dir: Path
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def destination(self) -> str:
        return f"{self.user}@127.0.0.1"

    def client_args(self, *, port: int | None = None, key: Path | None = None) -> list[str]:
        """ssh arguments that use only this test's files."""
        return [
            "-F",
            "/dev/null",
            "-p",
            str(port or self.port),
            "-i",
            str(key or self.client_key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
        ]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def pislm_shim(directory: Path) -> Path:
    """A `pislm` command for the sshd's sessions: this checkout, run by this Python."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "pislm"
    shim.write_text(
        f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m pislm_tui "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return shim


@contextlib.contextmanager
def run_sshd(
    tmp: Path, *, path: list[str] | None = None, env: dict[str, str] | None = None
) -> Iterator[Sshd]:
    """sshd on 127.0.0.1 with its sessions' PATH set to `path` (+ the system's) and `env`."""
    d = tmp / "sshd"
    d.mkdir()
    host_key, client_key = d / "host_key", d / "client_key"
    _keygen(host_key)
    _keygen(client_key)
    authorized = d / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text(), encoding="utf-8")
    port = free_port()
    known = d / "known_hosts"
    known.write_text(
        f"[127.0.0.1]:{port} {host_key.with_suffix('.pub').read_text().split(' ', 2)[0]} "
        f"{host_key.with_suffix('.pub').read_text().split(' ', 2)[1]}\n",
        encoding="utf-8",
    )
    session_path = ":".join([*(path or []), "/usr/local/bin", "/usr/bin", "/bin"])
    setenv = " ".join(f"{k}={v}" for k, v in {"PATH": session_path, **(env or {})}.items())
    config = d / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress 127.0.0.1:{port}",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                "PidFile none",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "MaxSessions 50",
                "MaxStartups 50",
                "LogLevel ERROR",
                f"SetEnv {setenv}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    with contextlib.suppress(OSError):  # the privilege separation directory (as root)
        Path("/run/sshd").mkdir(exist_ok=True)
    log = open(d / "sshd.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    server = Sshd(d, port, os.environ.get("USER") or _user(), client_key, known, process)
    try:
        deadline = time.monotonic() + 20
        while True:  # ready when it accepts connections
            if process.poll() is not None:
                raise RuntimeError(f"sshd ended: {(d / 'sshd.log').read_text()[-500:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("sshd did not start listening")
            time.sleep(0.05)  # waiting for an external daemon's port, not for our own code
        yield server
    finally:
        server.stop()
        log.close()


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name
