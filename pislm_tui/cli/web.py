"""`pislm web`: the app in a browser (a phone's or a laptop's), one app process per tab, served by
textual-serve. Everything heavy (aiohttp, textual-serve, segno) is imported by the handler, not
here: this module is loaded at every start to build the parser."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from pislm_tui.backend.errors import UsageError
from pislm_tui.cli.common import CliContext

DEFAULT_PORT = 8765  # not 8000: a Chroma server (rag.chroma_url) listens there by default
DEFAULT_SESSIONS = 2  # app processes at once: a Pi's memory is for the model

EPILOG = """\
Listens on 127.0.0.1 unless --bind says otherwise (--bind 0.0.0.0: every network of this
machine, e.g. for a phone on the same Wi-Fi). Plain HTTP: on a network you do not trust, use an
SSH tunnel or a reverse proxy with TLS (README, "From a phone").
The token is kept in the data dir (web-token, mode 0600). The page, its files and the
websocket need it: ?token=... once, then a cookie. Failures are rate-limited per address.
Each tab runs its own app process (at most --max-sessions); closing the tab ends it, and
stopping the server (Ctrl+C, SIGTERM) ends them all."""


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "web",
        parents=parents,
        help="the app in a browser (phone or laptop), protected by a token",
        description="Serve the app to browsers through textual-serve: one app process per "
        "browser tab, sharing this machine's saved chats and settings.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--bind",
        metavar="ADDR",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )
    p.add_argument(
        "--port", type=int, metavar="N", default=DEFAULT_PORT, help="port (default: %(default)s)"
    )
    p.add_argument("--token", metavar="T", help="use this token instead of the saved one")
    p.add_argument("--new-token", action="store_true", help="make and save a new token first")
    p.add_argument(
        "--max-sessions",
        type=int,
        metavar="N",
        default=DEFAULT_SESSIONS,
        help="app processes at once, one per tab (default: %(default)s)",
    )
    p.add_argument(
        "--print-url", action="store_true", help="print the address with its token and exit"
    )
    p.add_argument(
        "--print-systemd-unit",
        action="store_true",
        help="print a systemd user unit that starts this at boot, and exit",
    )
    p.set_defaults(handler=run)


def _check(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: give a port from 1 to 65535")
    if not 1 <= args.max_sessions <= 64:
        raise UsageError(f"--max-sessions {args.max_sessions}: give 1 to 64")
    if args.token is not None and args.new_token:
        raise UsageError("--token and --new-token together: give one of them")


def app_flags(args: argparse.Namespace) -> list[str]:
    """pislm's global flags given to `pislm web`, for each app it starts (the environment and
    the config file they inherit as they are). SSH mode unless --no-ssh: the browser is a
    remote screen (15 frames/s, no animation)."""
    flags: list[str] = []
    for name in ("host", "api", "model", "theme"):
        value = getattr(args, name, None)
        if value is not None:
            flags += [f"--{name}", value]
    config = getattr(args, "config", None)
    if config is not None:
        flags += ["--config", os.path.abspath(os.path.expanduser(config))]
    flags.append("--no-ssh" if getattr(args, "ssh", None) is False else "--ssh")
    return flags


def child_command(args: argparse.Namespace) -> str:
    """The shell line textual-serve runs for each tab (`exec`: the app is the shell's process)."""
    argv = [sys.executable, "-m", "pislm_tui.web.child", *app_flags(args)]
    return "exec " + shlex.join(argv)


def unit_args(args: argparse.Namespace) -> list[str]:
    """`pislm web`'s arguments for the systemd unit: the server's address, port and sessions,
    and the global flags (not the one-off flags, the token or an API key)."""
    own = ["--bind", args.bind, "--port", str(args.port), "--max-sessions", str(args.max_sessions)]
    globals_ = [f for f in app_flags(args) if f not in ("--ssh",)]
    return globals_ + own


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    _check(args)
    if args.print_systemd_unit:
        from pislm_tui.web.announce import systemd_unit

        print(systemd_unit(unit_args(args)), end="")
        return 0

    from pislm_tui.web import token as access

    path = access.token_path(ctx.paths.data_dir)
    if args.token is not None:
        token = access.check(args.token)
    elif args.new_token:
        token = access.new(path)
    else:
        token = access.load(path)
    if args.print_url:
        from pislm_tui.web.announce import print_url

        print_url(args.bind, args.port, token)
        return 0
    if getattr(args, "api_key", None):
        os.environ["PISLM_API_KEY"] = args.api_key  # to the apps, not on their command line
    return _serve(args, token)


def _serve(args: argparse.Namespace, token: str) -> int:
    import asyncio
    import logging

    from pislm_tui.web.announce import announce
    from pislm_tui.web.server import PislmWebServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    server = PislmWebServer(
        child_command(args),
        host=args.bind,
        port=args.port,
        token=token,
        max_sessions=args.max_sessions,
    )
    return asyncio.run(server.run(lambda port: announce(args.bind, port, token, args.max_sessions)))
