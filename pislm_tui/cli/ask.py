"""`pislm ask`: one question, the reply streamed to stdout as it arrives.

Thinking (for models that think) goes to stderr, so stdout carries only the answer and pipes
well. `--verbose` adds the `ollama run --verbose` figures on stderr; `--json` prints one object
instead. An interrupted stream keeps what arrived on stdout, then the error, exit code 5."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from pislm_tui.backend.errors import EXIT_SERVER, UsageError
from pislm_tui.cli.common import print_error, print_json

if TYPE_CHECKING:
    from pislm_tui.backend.base import Backend
    from pislm_tui.chat.turn import LiveReply
    from pislm_tui.cli.common import CliContext
    from pislm_tui.models.details import ModelDetailsCache
    from pislm_tui.monitor.conditions import RunConditions


def register(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ask",
        parents=parents,
        help="ask a model one question; the reply streams to stdout",
        description="Ask a model one question. The reply streams to stdout as it arrives; "
        "exit codes: 0 ok, 2 bad input, 3 server unreachable, 4 model not installed, "
        "5 server error or reply cut off.",
    )
    p.add_argument(
        "prompt", nargs="+", metavar="PROMPT", help="the question; '-' reads it from stdin"
    )
    p.add_argument("--system", metavar="TEXT", help="system prompt (default: chat.system_prompt)")
    p.add_argument(
        "--image",
        metavar="PATH",
        action="append",
        default=[],
        help="attach an image (repeatable); needs a vision model such as llava-phi3",
    )
    p.add_argument(
        "--option",
        "-o",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="model option, typed by name: temperature=0.2, num_ctx=4096, seed=42, stop=END… "
        "(repeatable)",
    )
    p.add_argument(
        "--keep-alive", metavar="DURATION", help="how long the model stays loaded: 5m, 1h, -1, 0"
    )
    p.add_argument(
        "--think",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="turn thinking on/off for models that think (printed to stderr)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"model", "reply", "stats", "conditions"} as JSON (conditions: temperature, '
        "clock, throttling, energy and J/token while the reply was made, when the server runs here)",
    )
    p.add_argument(
        "--verbose",
        action="store_true",
        help="print the `ollama run --verbose` figures and the machine's conditions on stderr",
    )
    p.set_defaults(handler=ask)


def read_prompt(words: list[str], stdin: TextIO) -> str:
    if words == ["-"]:
        text = stdin.read()
        if not text.strip():
            raise UsageError("no prompt on stdin")
        return text
    text = " ".join(words)
    if not text.strip():
        raise UsageError("the prompt is empty")
    return text


async def pick_model(
    backend: Backend,
    wanted: str | None,
    last_used: str | None = None,
    details: ModelDetailsCache | None = None,
) -> str:
    """`wanted` (--model or the config) as given; else the app's default (`models.choice`):
    the model last used with this server, else the first that runs here and can chat."""
    if wanted:
        return wanted
    from pislm_tui.models.choice import default_chat_model

    return await default_chat_model(backend, preferred=[last_used], details=details)


async def check_vision(details: ModelDetailsCache, model: str) -> None:
    """Refuse images for a model that cannot see, before anything is sent (asked through the
    cache that picked the default model: not asked twice)."""
    said = await details.get(model)
    if said is None:
        return  # an OpenAI-compatible server does not say; let it answer
    if said.capabilities and not said.supports_vision:
        raise UsageError(
            f"{model} cannot read images",
            "choose a vision model, e.g. --model llava-phi3:3.8b",
        )


class _Printer:
    """Writes chunks as they arrive: the answer to stdout, thinking to stderr."""

    def __init__(self, out: TextIO, err: TextIO, quiet: bool) -> None:
        self.out, self.err, self.quiet = out, err, quiet
        self.thinking = False
        self.last = "\n"

    def __call__(self, text: str, thinking: str) -> None:
        if self.quiet:
            return
        if thinking:
            if not self.thinking:
                self.err.write("Thinking…\n")
                self.thinking = True
            self.err.write(thinking)
            self.err.flush()
        if text:
            self._end_thinking()
            self.out.write(text)
            self.out.flush()
            self.last = text[-1]

    def _end_thinking(self) -> None:
        if self.thinking:
            self.err.write("\n…done thinking.\n\n")
            self.err.flush()
            self.thinking = False

    def close(self) -> None:
        if self.quiet:
            return
        self._end_thinking()
        if self.last != "\n":
            self.out.write("\n")
            self.out.flush()


async def ask(args: argparse.Namespace, ctx: CliContext) -> int:
    from pislm_tui.chat.conversation import ChatMessage, Conversation, SessionSettings, StoredImage
    from pislm_tui.chat.images import load_image
    from pislm_tui.chat.options import parse_options
    from pislm_tui.chat.turn import LiveReply, stream_reply

    chat = ctx.settings.chat
    prompt = read_prompt(args.prompt, sys.stdin)
    options = {**chat.options.to_request(), **parse_options(args.option)}
    images = [load_image(path) for path in args.image]
    from pislm_tui.models.choice import LastUsedModels
    from pislm_tui.models.details import ModelDetailsCache

    backend = ctx.backend
    last_models = LastUsedModels(ctx.paths.last_models)
    details = ModelDetailsCache(backend)  # /api/show once per model for this command
    model = await pick_model(backend, ctx.settings.model, last_models.get(backend.url), details)
    if images:
        await check_vision(details, model)
    settings = SessionSettings(
        model=model,
        system_prompt=chat.system_prompt if args.system is None else args.system,
        options=options,
        keep_alive=args.keep_alive if args.keep_alive is not None else chat.keep_alive,
        think=args.think if args.think is not None else chat.think,
    )
    user = ChatMessage("user", prompt, images=[StoredImage(i.name, i.data) for i in images])
    conversation = Conversation(settings=settings, messages=[user])

    printer = _Printer(sys.stdout, sys.stderr, quiet=args.json)
    reply = LiveReply(ChatMessage("assistant"))
    recording, run = None, None
    sampler = ctx.conditions_sampler() if (args.json or args.verbose) else None
    if sampler is not None:
        from pislm_tui.monitor.conditions import Recording

        recording = Recording(sampler, drive=1.0)  # no app timer here: read once a second
        await recording.start()
    try:
        await stream_reply(backend, conversation.request(), reply, on_chunk=printer)
    finally:
        printer.close()
        if recording is not None and sampler is not None:
            run = await recording.stop()
            await sampler.aclose()
    if reply.message.status == "complete":
        last_models.remember(backend.url, model)  # the default next time, here and in the app
    return _finish(args, reply, run)


def _finish(args: argparse.Namespace, reply: LiveReply, run: RunConditions | None = None) -> int:
    from pislm_tui.cli.common import REMOTE_CONDITIONS

    message = reply.message
    tokens = message.stats.eval_count if message.stats else None
    if args.json:
        document: dict[str, Any] = {
            "model": message.model,
            "reply": message.content,
            "stats": message.stats.to_json() if message.stats else None,
            "done_reason": message.done_reason,
            "conditions": run.to_json(tokens) if run else None,
        }
        if run is None:
            document["conditions_unavailable"] = REMOTE_CONDITIONS
        if message.thinking:
            document["thinking"] = message.thinking
        if message.status == "error":
            document["error"] = message.error
        print_json(document)
        sys.stdout.flush()
    if args.verbose and message.stats is not None:
        lines = message.stats.verbose_lines()
        lines += run.lines(tokens) if run else [f"conditions:           n/a ({REMOTE_CONDITIONS})"]
        sys.stderr.write("\n" + "\n".join(lines) + "\n")
        sys.stderr.flush()
    if message.status == "error":
        print_error(message.error or "the reply was cut off")
        return EXIT_SERVER
    return 0
