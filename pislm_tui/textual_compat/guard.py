"""The guard in front of every private reach: the Textual it was verified with, the reaches
themselves (a table), and whether the running Textual is one of those.

A reach is used only when the installed Textual is inside `VERIFIED_TEXTUAL` (the pin in
pyproject.toml says the same: a test checks) and every attribute it needs exists. Otherwise the
code that would use it runs Textual's own way instead, and the fast output and the error survival
each say why in one line (`Verdict.note()`, `Verdict.survival_note()`: `pislm --version`, the
Textual log and `pislm.log` in the data dir).

To add a reach: a `Reach` row in `REACHES` (what, why, what happens without it), then
`if usable("your.key"):` before you touch it, with Textual's public behaviour in the `else`.
`tests/test_textual_compat.py` checks every row against the installed Textual."""

from __future__ import annotations

import contextlib
import functools
import importlib
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# The Textual every reach was checked with (equivalence and snapshot tests), as in pyproject.toml.
VERIFIED_TEXTUAL = ">=8.2.8,<8.3"
_VERIFIED_FROM = (8, 2, 8)
_VERIFIED_BELOW = (8, 3)

LOG_NAME = "pislm.log"  # in the data dir: what pislm could not do on this machine, and why
_LOG_LIMIT = 64 * 1024  # past this the log starts over


@dataclass(frozen=True)
class Reach:
    """One use of something Textual does not promise to keep."""

    key: str
    owner: str  # "module:Class", or "module" for names at a module's top
    # On the owner itself (methods, properties, module names); a name written "module:Class.name"
    # is looked up there instead (a reach whose names are spread over several classes).
    names: tuple[str, ...]
    live_names: tuple[str, ...] = ()  # set by the owner's __init__: checked on a live object
    use: str = ""  # what pislm does with it, and where
    without: str = ""  # what the user gets when the guard keeps Textual's own way
    fast_output: bool = False  # one of the output layers (display.fast_output)
    error_survival: bool = False  # part of the unhandled errors' survival (crash.py)


REACHES: tuple[Reach, ...] = (
    Reach(
        "compositor.partial_update",
        "textual._compositor:Compositor",
        ("render_partial_update", "_regions_to_spans", "cuts", "visible_widgets"),
        ("_dirty_regions", "size"),
        use="textual_compat/compositor.py replaces the method while a pislm app with fast "
        "output runs: partial updates render only the rows and widgets that changed",
        without="Textual renders every widget under the changed box: the same screen, more "
        "CPU while a reply streams",
        fast_output=True,
    ),
    Reach(
        "compositor.updates",
        "textual._compositor",
        ("ChopsUpdate", "LayoutUpdate", "CompositorUpdate"),
        (
            "ChopsUpdate.chops",
            "ChopsUpdate.spans",
            "ChopsUpdate.chop_ends",
            "LayoutUpdate.strips",
            "LayoutUpdate.region",
        ),
        use="the compositor patch builds ChopsUpdates; display.TerminalShadow reads both kinds "
        "(textual_compat/updates.py: update_pieces)",
        without="see the two rows around it",
        fast_output=True,
    ),
    Reach(
        "app.display",
        "textual.app:App",
        ("_display", "_handle_exception", "post_display_hook"),
        (
            "_driver",
            "_running",
            "_closed",
            "_batch_count",
            "_sync_available",
            "_previous_cursor_position",
        ),
        use="textual_compat/output.py puts the terminal shadow in the app's _display "
        "(that app only): only the cells that changed go to the terminal, in one write",
        without="Textual writes every repainted cell: the same screen, more bytes (over SSH)",
        fast_output=True,
    ),
    Reach(
        "app.errors",
        "textual.app:App",
        ("_handle_exception", "_exception_event"),
        ("_exception",),
        use="textual_compat/errors.py puts the app's error_guard (crash.py) in front of that "
        "app's _handle_exception: the error is logged to crash.log, shown, and the app goes on; "
        "a survived error is kept in _exception, which run_test raises when a test ends",
        without="Textual's own: the first unhandled error ends the app (its traceback printed); "
        "pislm then says it stopped and where crash.log is, and exits with 1",
        error_survival=True,
    ),
    Reach(
        "message_pump.dispatch",
        "textual.message_pump:MessagePump",
        ("_dispatch_message",),
        use="textual_compat/errors.py wraps it (once per process): an error in a message handler "
        "or a key binding's action is logged and shown, and that widget's message loop goes on",
        without="an error in a handler ends the app (see app.errors)",
        error_survival=True,
    ),
    Reach(
        "errors.callers",
        "textual",
        (
            "textual.timer:Timer._tick",
            "textual.worker:Worker._run",
            "textual.message_pump:MessagePump._flush_next_callbacks",
            "textual.message_pump:MessagePump._process_messages_loop",
            "textual.message_pump:MessagePump._pre_process",
            "textual.app:App._display",
            "textual.app:App._log",
            "textual.app:App._process_messages",
            "textual.screen:Screen._refresh_layout",
            "textual.widget:Widget._compose",
        ),
        use="textual_compat/errors.py names an error's origin in crash.log by the Textual function "
        "that called _handle_exception (CALLERS), and keeps errors while a widget is composed or "
        "the app starts fatal (STARTUP_CALLERS)",
        without="no error survival (see app.errors): an unknown caller could be a widget that "
        "never started",
        error_survival=True,
    ),
    Reach(
        "keys.sequences",
        "textual._ansi_sequences",
        ("ANSI_SEQUENCES_KEYS",),
        use="textual_compat/keys.py adds ESC CR as alt+enter to the key parser's table "
        "(widgets/prompt_input.py)",
        without="Alt+Enter from a terminal without the kitty keyboard protocol (most, and over "
        "SSH) sends the prompt like Enter; Ctrl+J still starts a new line",
    ),
    Reach(
        "markdown.blocks",
        "textual.widgets._markdown:Markdown",
        ("_parse_markdown",),
        use="textual_compat/markdown.py builds Textual's block widgets from tokens already "
        "parsed: a streaming reply (widgets/reply_markdown.py) parses only the blocks that "
        "have ended, and a flush costs the same however long the block being written",
        without="replies stream through Textual's own Markdown.append: the same final frame, "
        "but each flush parses the open block again (more CPU the longer it is)",
    ),
    Reach(
        "linux_driver.file",
        "textual.drivers.linux_driver:LinuxDriver",
        (),
        ("_file",),
        use="textual_compat/drivers.py wraps the terminal driver's output file "
        "(hangup.SafeLinuxDriver): a write to a terminal that has gone is dropped",
        without="after a hang-up the first write kills Textual's output thread; the app still "
        "ends (hangup.watch), but its last frames may stall the exit",
    ),
)

_BY_KEY = {reach.key: reach for reach in REACHES}


def installed_textual() -> str:
    try:
        return metadata.version("textual")
    except metadata.PackageNotFoundError:  # run from a source tree without its metadata
        return "unknown"


def _release(version: str) -> tuple[int, ...] | None:
    """(8, 2, 8) for "8.2.8"; None for anything else (a pre-release, a local build)."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return None


def is_verified(version: str) -> bool:
    release = _release(version)
    return release is not None and _VERIFIED_FROM <= release < _VERIFIED_BELOW


def _resolve(path: str) -> object:
    """The object at "module:Qual.name" (or "module")."""
    module, _, qualname = path.partition(":")
    found: object = importlib.import_module(module)
    for part in filter(None, qualname.split(".")):
        found = getattr(found, part)
    return found


def missing_names(reach: Reach) -> list[str]:
    """The names of `reach.names` that the running Textual lacks (owner.name)."""
    try:
        owner = _resolve(reach.owner)
    except (ImportError, AttributeError):
        return [reach.owner]
    short = reach.owner.rpartition(":")[2] or reach.owner
    missing = []
    for name in reach.names:
        if ":" in name:  # elsewhere: "module:Class.name"
            try:
                _resolve(name)
            except (ImportError, AttributeError):
                missing.append(name.partition(":")[2])
        elif not hasattr(owner, name):
            missing.append(f"{short}.{name}")
    return missing


def missing_live(obj: object, key: str) -> list[str]:
    """The `live_names` of reach `key` that `obj` (an instance of its owner) lacks. A name
    written "Class.name" is asked only of instances of that class."""
    classes = {cls.__name__ for cls in type(obj).__mro__}
    missing = []
    for name in _BY_KEY[key].live_names:
        kind, _, attribute = name.rpartition(".")
        if (not kind or kind in classes) and not hasattr(obj, attribute):
            missing.append(name)
    return missing


@dataclass(frozen=True)
class Verdict:
    textual: str  # the installed version
    verified: bool
    missing: tuple[str, ...]  # names the fast output needs that this Textual lacks
    survival_missing: tuple[str, ...] = ()  # names the error survival needs that it lacks

    @property
    def fast_output(self) -> bool:
        return self.verified and not self.missing

    @property
    def error_survival(self) -> bool:
        return self.verified and not self.survival_missing

    def _off(self, what: str, missing: tuple[str, ...]) -> str | None:
        if not self.verified:
            return f"{what}: off (textual {self.textual} not verified)"
        if missing:
            return f"{what}: off (textual {self.textual} has no {', '.join(missing)})"
        return None

    def note(self) -> str | None:
        """One line when the fast output cannot run here; None when it can."""
        return self._off("fast output", self.missing)

    def survival_note(self) -> str | None:
        """One line when unhandled errors cannot be survived here (crash.py); None when they
        can."""
        return self._off("error survival", self.survival_missing)


@functools.cache
def verdict() -> Verdict:
    """What the running Textual allows (read once; `verdict.cache_clear()` to read again)."""
    version = installed_textual()
    verified = is_verified(version)
    missing: list[str] = []
    survival_missing: list[str] = []
    if verified:
        for reach in REACHES:
            if reach.fast_output:
                missing.extend(missing_names(reach))
            if reach.error_survival:
                survival_missing.extend(missing_names(reach))
    return Verdict(version, verified, tuple(missing), tuple(survival_missing))


@functools.cache
def usable(key: str) -> bool:
    """Whether reach `key` may be used: a verified Textual that has the names it needs. Its
    `live_names` are checked by the code that holds the live object (`missing_live`)."""
    return verdict().verified and not missing_names(_BY_KEY[key])


def log_note(note: str | None, log: Any, data_dir: Path) -> None:
    """A note (`Verdict.note()`...), if any: one line in the Textual log and in `pislm.log` in
    the data dir."""
    if note is None:
        return
    log.warning(note)
    path = data_dir / LOG_NAME
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {note}\n"
    with contextlib.suppress(OSError):
        data_dir.mkdir(parents=True, exist_ok=True)
        too_big = path.exists() and path.stat().st_size > _LOG_LIMIT
        with path.open("w" if too_big else "a", encoding="utf-8") as file:
            file.write(line)


def forget() -> None:
    """Read the versions and names again (tests that change the environment)."""
    verdict.cache_clear()
    usable.cache_clear()
