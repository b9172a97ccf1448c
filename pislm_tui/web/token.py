"""The access token of `pislm web`: random, kept in the data dir in a file only its owner can
read (mode 0600), made on the first start and changed by `--new-token`."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from pathlib import Path

from pislm_tui.backend.errors import UsageError

FILE_NAME = "web-token"
# Letters, digits, '-' and '_': safe in a URL, a cookie and a shell line as they are.
_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_NEW_BYTES = 18  # 24 characters, 144 random bits


def token_path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def check(token: str, where: str = "--token") -> str:
    """`token` if it has the shape of a token, else a UsageError that says what is needed."""
    token = token.strip()
    if not _SHAPE.fullmatch(token):
        raise UsageError(
            f"{where}: a token is 16 to 128 letters, digits, '-' or '_'",
            hint="leave --token out to use the saved one, or make a new one with --new-token",
        )
    return token


def new(path: Path) -> str:
    """A new random token, written to `path` (mode 0600) in place of any old one."""
    token = secrets.token_urlsafe(_NEW_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    # Created 0600 from the start: there is no moment where another user could read it.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(token + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return token


def load(path: Path) -> str:
    """The saved token, made on first use. A file others could read is made private again
    (mode 0600) before the token in it is used."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return new(path)
    if mode & 0o077:
        os.chmod(path, 0o600)
    text = path.read_text(encoding="ascii", errors="replace")
    if not text.strip():
        return new(path)
    try:
        return check(text, where=str(path))
    except UsageError as error:
        raise UsageError(
            f"{path} does not hold a valid token", hint="make a new one: pislm web --new-token"
        ) from error
