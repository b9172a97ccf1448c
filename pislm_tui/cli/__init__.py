"""`pislm` command line: global flags, then either the app (no subcommand) or a subcommand.

Each subcommand lives in its own module listed in `COMMAND_MODULES`; a module exposes
`register(subparsers, parents)` which adds its parsers with `set_defaults(handler=...)`. A handler
is `handler(args, ctx) -> int`, sync or async. Errors are our exception types: printed as one line
on stderr, exit code from the error (0 ok, 2 usage, 3 unreachable, 4 model not found, 5 server)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from pislm_tui import __version__
from pislm_tui.backend.errors import EXIT_USAGE, PislmError
from pislm_tui.cli.common import CliContext, print_error

COMMAND_MODULES = ("ask", "models", "bench", "monitor", "rag", "tools", "where", "web")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the whole usage block."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def global_options(suppress: bool) -> argparse.ArgumentParser:
    """The global flags, accepted before or after the subcommand name."""
    default = argparse.SUPPRESS if suppress else None
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection and appearance")
    g.add_argument(
        "--host",
        metavar="URL|NAME",
        default=default,
        help="server address, or the name of a [hosts.NAME] in the config "
        "(default: $OLLAMA_HOST, else http://127.0.0.1:11434)",
    )
    g.add_argument(
        "--api",
        choices=("ollama", "openai"),
        default=default,
        help="server kind: native Ollama, or any OpenAI-compatible server (/v1)",
    )
    g.add_argument("--api-key", metavar="KEY", default=default, help="bearer token for the server")
    g.add_argument("--model", metavar="NAME", default=default, help="model to chat with")
    g.add_argument("--theme", metavar="NAME", default=default, help="colour theme")
    g.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="config file (default: $XDG_CONFIG_HOME/pislm/config.toml)",
    )
    g.add_argument(
        "--ssh",
        action=argparse.BooleanOptionalAction,
        default=default,
        help="SSH mode: lower frame rate, no animation or cursor blink "
        "(default: on when SSH_CONNECTION or SSH_TTY is set)",
    )
    return p


class _Version(argparse.Action):
    """`pislm --version`; a line more for each part that cannot run with this Textual (the fast
    output, the error survival)."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        from pislm_tui.textual_compat import notes

        print("\n".join([f"pislm {__version__}", *notes()]))
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pislm",
        description="A light terminal workstation for Ollama on a Raspberry Pi. "
        "Without a command, opens the app.",
        parents=[global_options(suppress=False)],
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="show program's version number and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parents = [global_options(suppress=True)]
    for name in COMMAND_MODULES:
        importlib.import_module(f"pislm_tui.cli.{name}").register(sub, parents)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    mapping = {
        "host": "host",
        "api": "api",
        "api_key": "api_key",
        "model": "model",
        "theme": "theme",
        "ssh": "ssh",
    }
    return {
        key: getattr(args, attr)
        for attr, key in mapping.items()
        if getattr(args, attr, None) is not None
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    from pislm_tui.config import load_settings

    loaded = load_settings(config_file=getattr(args, "config", None), overrides=_overrides(args))
    ctx = CliContext(loaded)

    handler = getattr(args, "handler", None)
    if handler is None:
        refused = _refuse_without_terminal()
        if refused is not None:
            return refused
        from pislm_tui.cli.app import run_app

        return run_app(loaded)

    for warning in loaded.warnings:
        print_error(f"warning: {warning}")
    try:
        if inspect.iscoroutinefunction(handler):
            return asyncio.run(_run_async(handler, args, ctx))
        return int(handler(args, ctx) or 0)
    except PislmError as exc:
        print_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `pislm models | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _refuse_without_terminal() -> int | None:
    """The app (not the subcommands) needs a terminal: one line and exit 2 without one."""
    from pislm_tui.cli.terminal import terminal_problem

    problem = terminal_problem()
    if problem is None:
        return None
    print_error(problem)
    return EXIT_USAGE


async def _run_async(handler: Any, args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        return int(await handler(args, ctx) or 0)
    finally:
        await ctx.aclose()
