"""One browser tab's app: `python -m pislm_tui.web.child [pislm's global flags]`, started by
`pislm web` through textual-serve (TEXTUAL_DRIVER names the web driver; stdin and stdout are
pipes to the server).

Before the app starts, the process
- leads a process group (and session) of its own: the server ends the app and whatever the app
  starts (MCP servers of the Tools tab) with one signal to the group, and a Ctrl+C typed at the
  server's terminal does not reach the apps (the server asks each one to quit instead);
- gets SIGTERM when the server dies, even by SIGKILL (Linux's parent-death signal). Once the app
  runs, `hangup.watch` also ends it when the server's end of its stdin closes; SIGTERM ends it as
  Ctrl+Q does, so a reply arriving is saved.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Set by the server: the parent this process must not outlive (not PISLM_…: those are settings).
SERVER_PID = "PISLMWEB_SERVER_PID"


def lead_own_group() -> None:
    with contextlib.suppress(OSError):  # already a group leader (started by hand)
        os.setsid()


def end_with_parent(parent: int | None) -> None:
    """SIGTERM when the server that started this one ends. If it has already ended (the signal
    would never come), end now."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        raise SystemExit(128 + signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    lead_own_group()
    server = os.environ.get(SERVER_PID, "")
    end_with_parent(int(server) if server.isdigit() else None)
    # textual-serve asks every app for 60 frames/s; pislm decides (15 in SSH mode, which
    # `pislm web` asks for: a browser on a phone is a remote screen too).
    os.environ.pop("TEXTUAL_FPS", None)
    from pislm_tui.cli import main as pislm

    return pislm(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
