"""The guard in front of Textual's private parts (pislm_tui/textual_compat): every reach in its
table exists in the Textual we pin, the pin is what the guard knows, and on a Textual it does not
know (its version as the installed metadata reports it) the app runs Textual's own way, says so
once, and works. The same in real processes: tests/test_fast_output.py."""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from types import CodeType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual._compositor import ChopsUpdate, Compositor, LayoutUpdate
from textual.app import App
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Region
from textual.message_pump import MessagePump
from textual.widgets._footer import FooterKey

from pislm_tui.app import PislmApp
from pislm_tui.textual_compat import compositor, errors, guard
from pislm_tui.textual_compat.drivers import drop_writes_when_gone
from pislm_tui.textual_compat.fast_output import LOG_NAME
from pislm_tui.widgets.prompt_input import ALT_ENTER_SEQUENCE, teach_alt_enter
from tests.chat_helpers import chat_ready, reply_ended, send
from tests.fake_ollama import FakeOllama, Reply
from tests.helpers import screen_text
from tests.private_names import PACKAGE, module_of, private_uses

ROOT = Path(__file__).parent.parent
UNKNOWN = "8.3.0"


@pytest.fixture(autouse=True)
def fresh_guard() -> Iterator[None]:
    """The guard reads the versions once per process: again for each test here."""
    guard.forget()
    yield
    guard.forget()
    compositor.enable(False)


@pytest.fixture
def unknown_textual(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed metadata says Textual 8.3.0 (the environment, not pislm, is changed)."""
    real = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: UNKNOWN if name.lower() == "textual" else real(name)
    )


# -- the table against the pinned Textual ------------------------------------------------------

# Live objects to ask for each reach's `live_names` (attributes set in __init__).
LIVE: dict[str, Callable[[], list[object]]] = {
    "compositor.partial_update": lambda: [Compositor()],
    "compositor.updates": lambda: [ChopsUpdate([], [], []), LayoutUpdate([], Region(0, 0, 1, 1))],
    "app.display": lambda: [App()],
    "app.errors": lambda: [App()],
    "linux_driver.file": lambda: [LinuxDriver(App())],
}


@pytest.mark.parametrize("reach", guard.REACHES, ids=lambda r: r.key)
async def test_every_reach_finds_what_it_needs(reach: guard.Reach) -> None:
    """Also run against the newest Textual by CI's newest-textual job (the pin ignored)."""
    assert guard.missing_names(reach) == []
    assert reach.use and reach.without  # the table says why, and what happens without it
    if reach.live_names:
        assert reach.key in LIVE, f"add a live object for {reach.key} to LIVE"
        for live in LIVE[reach.key]():
            assert guard.missing_live(live, reach.key) == []


def test_the_installed_textual_is_the_pinned_one_and_every_reach_is_usable() -> None:
    assert guard.verdict().fast_output, guard.verdict()
    assert guard.verdict().error_survival, guard.verdict()
    assert errors.survival_note() is None
    assert all(guard.usable(reach.key) for reach in guard.REACHES)


def test_the_callers_errors_py_knows_are_the_rows_and_still_call_handle_exception() -> None:
    """errors.CALLERS names where an error came from, and STARTUP_CALLERS keeps the start fatal,
    by the name of the Textual function that called `_handle_exception`: each must be one that
    still does."""
    row = next(reach for reach in guard.REACHES if reach.key == "errors.callers")
    in_row = {name.rpartition(".")[2]: name for name in row.names}
    known = (set(errors.CALLERS) | errors.STARTUP_CALLERS) - {"app_prelude"}
    assert set(in_row) == known
    for name, path in in_row.items():
        module, _, qualname = path.partition(":")
        owner, _, function = qualname.partition(".")
        code = getattr(getattr(importlib.import_module(module), owner), function).__code__
        calls = {name for c in [code, *nested_code(code)] for name in c.co_names}
        assert "_handle_exception" in calls, f"{path} no longer calls _handle_exception"
    # The app's start: a function inside App._process_messages.
    prelude = [c for c in nested_code(App._process_messages.__code__) if c.co_name == "app_prelude"]
    assert prelude and "_handle_exception" in prelude[0].co_names


def nested_code(code: CodeType) -> list[CodeType]:
    found = []
    for const in code.co_consts:
        if isinstance(const, CodeType):
            found += [const, *nested_code(const)]
    return found


def test_the_pin_in_pyproject_is_the_range_the_guard_knows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [Requirement(r) for r in project["dependencies"]]
    textual = next(r for r in pins if r.name == "textual")
    assert textual.specifier == SpecifierSet(guard.VERIFIED_TEXTUAL)
    for version in ("8.2.7", "8.2.8", "8.2.15", "8.3.0", "9.0.0", "7.9"):
        assert guard.is_verified(version) == textual.specifier.contains(version), version
    # Stricter than the pin: no pre-release or local build was verified.
    assert not any(map(guard.is_verified, ("8.2.9rc1", "8.2.9.dev0", "8.2.8+local")))


def test_a_name_missing_from_a_live_object_is_named() -> None:
    class Bare:
        pass

    assert guard.missing_live(Bare(), "app.display") == list(guard.REACHES[2].live_names)
    # "Class.name" entries are asked only of that class.
    assert guard.missing_live(ChopsUpdate([], [], []), "compositor.updates") == []


# -- the app on the pinned Textual ---------------------------------------------------------------


async def test_on_the_pinned_textual_both_layers_are_in_while_the_app_runs(
    make_app: Any, isolated_home: Path
) -> None:
    app = make_app()
    assert app.fast_output.on and app.fast_output.note is None
    assert vars(app)["_display"] == app.fast_output.output.display  # this app, not the class
    assert "_display" not in vars(PislmApp)
    assert app.error_guard.enabled and app.error_guard.note is None
    assert vars(app)["_handle_exception"].__self__.app is app  # the error guard: this app too
    assert "_handle_exception" not in vars(PislmApp)
    assert MessagePump._dispatch_message.__module__ == errors.__name__  # wrapped (the process)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert Compositor.render_partial_update is compositor.render_partial_update
        # Headless (tests): the shadow steps aside at the first frame; a terminal keeps it.
        assert not app.fast_output.output.active and "_display" not in vars(app)
    assert Compositor.render_partial_update is compositor.ORIGINAL_RENDER_PARTIAL_UPDATE
    assert not (isolated_home / ".local" / "share" / "pislm" / LOG_NAME).exists()


async def test_the_footer_shows_its_keys_on_the_first_frame(make_app: Any) -> None:
    app = make_app()
    keys_at_first_frame: list[int] = []

    def first_frame() -> None:
        if not keys_at_first_frame:
            keys_at_first_frame.append(len(app.query(FooterKey)))

    app.post_display_hook = first_frame  # Textual's hook for tests, after each frame
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
    assert keys_at_first_frame and keys_at_first_frame[0] > 0


# -- on a Textual the guard does not know -------------------------------------------------------


@pytest.mark.usefixtures("unknown_textual")
async def test_an_unknown_textual_runs_stock_says_so_once_and_chats(
    make_app: Any, fake_ollama: FakeOllama, isolated_home: Path
) -> None:
    note = f"fast output: off (textual {UNKNOWN} not verified)"
    assert guard.verdict().note() == note
    app = make_app()
    assert not app.fast_output.on and app.fast_output.note == note
    assert "_display" not in vars(app)
    survival = f"error survival: off (textual {UNKNOWN} not verified)"
    assert not app.error_guard.enabled and app.error_guard.note == survival
    assert "_handle_exception" not in vars(app)
    fake_ollama.script(Reply(text="A reply on a stock Textual, whole and readable."))
    async with app.run_test(size=(80, 24)) as pilot:
        assert Compositor.render_partial_update is compositor.ORIGINAL_RENDER_PARTIAL_UPDATE
        await chat_ready(app, pilot)
        await send(pilot, "hello")
        await reply_ended(app, pilot)
        assert "A reply on a stock Textual, whole and readable." in screen_text(app)
    log = isolated_home / ".local" / "share" / "pislm" / LOG_NAME
    assert log.read_text().count(note) == 1
    assert log.read_text().count(survival) == 1


@pytest.mark.usefixtures("unknown_textual")
async def test_an_unknown_textual_keeps_its_key_table_and_driver_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(ANSI_SEQUENCES_KEYS, ALT_ENTER_SEQUENCE, raising=False)  # type: ignore[arg-type]
    assert teach_alt_enter() is False
    assert ALT_ENTER_SEQUENCE not in ANSI_SEQUENCES_KEYS
    driver = LinuxDriver(App())
    file = driver._file
    assert drop_writes_when_gone(driver) is False
    assert driver._file is file


def test_on_the_pinned_textual_a_missing_attribute_turns_the_fast_output_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A verified version that lacks a name after all (a patched or vendored Textual)."""
    monkeypatch.delattr(Compositor, "_regions_to_spans")
    verdict = guard.verdict()
    assert verdict.verified and not verdict.fast_output
    assert verdict.note() == (
        f"fast output: off (textual {verdict.textual} has no Compositor._regions_to_spans)"
    )
    assert compositor.enable(True) is False
    assert Compositor.render_partial_update is compositor.ORIGINAL_RENDER_PARTIAL_UPDATE


# -- display.fast_output = false ----------------------------------------------------------------


async def test_fast_output_off_runs_textuals_own_output_and_chats(
    make_app: Any, fake_ollama: FakeOllama, isolated_home: Path
) -> None:
    app = make_app(display={"fast_output": False})
    assert not app.fast_output.on and app.fast_output.note is None  # the user's choice: no note
    assert "_display" not in vars(app)
    fake_ollama.script(Reply(text="Streamed with **the layers** off, every word shown.", rate=40))
    async with app.run_test(size=(80, 24)) as pilot:
        assert Compositor.render_partial_update is compositor.ORIGINAL_RENDER_PARTIAL_UPDATE
        await chat_ready(app, pilot)
        await send(pilot, "hello")
        await reply_ended(app, pilot)
        assert "Streamed with the layers off, every word shown." in screen_text(app)
    assert not (isolated_home / ".local" / "share" / "pislm" / LOG_NAME).exists()


# -- nothing private outside the package -----------------------------------------------------------


def _ui_modules() -> list[Path]:
    core = ("backend", "chat", "models", "rag", "tools", "monitor", "cli", "textual_compat")
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in core and path.name != "__main__.py"
    ]


@pytest.mark.parametrize("path", _ui_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_textual_or_rich_outside_textual_compat(path: Path) -> None:
    """No import from a private module, no `x._name` on anything but our own objects, no
    `self._name` that no pislm class of the module's own (its mixins included) defines (an
    attribute Textual's base class set), no override of a private method (tests/private_names.py).
    """
    assert private_uses(path.read_text(encoding="utf-8"), module_of(path)) == []


def _planted(path: str, after: str, line: str) -> list[str]:
    """The checker's findings for module `path` with `line` put in after the line `after`."""
    module = module_of(PACKAGE / path)
    source = (PACKAGE / path).read_text(encoding="utf-8")
    first, found, rest = source.partition(after + "\n")
    assert found, f"{after!r} is not in {path}"
    indent = after[: len(after) - len(after.lstrip())]
    return private_uses(f"{first}{found}{indent}{line}\n{rest}", module)


PLANTS = {  # where to plant a line: after this one (a method's first line)
    "tabs/chat_actions.py": "        text = self.session.start_edit()",
    "tabs/chat.py": "        wanted = {id(m) for m in messages}",
    "app.py": "        self._forget_terminal()",
}


def test_the_names_of_a_widgets_mixins_are_its_own() -> None:
    """ChatTab = ChatActions + ChatModels + Widget: each may use what the others define."""
    for line in ("self._worker", "self._model_for(None)", "self._show_context()"):
        assert _planted("tabs/chat_actions.py", PLANTS["tabs/chat_actions.py"], line) == []
    assert _planted("tabs/chat.py", PLANTS["tabs/chat.py"], "self._model_for(None)") == []
    # The app is no part of that widget.
    found = _planted("app.py", PLANTS["app.py"], "self._worker")
    assert len(found) == 1 and found[0].endswith(": self._worker"), found


@pytest.mark.parametrize("path", PLANTS)
def test_the_checker_still_finds_a_private_textual_name_on_self(path: str) -> None:
    """Textual's own names never count: `self._nodes` (DOMNode's children) in a mixin, in the
    class that combines the mixins, in the app."""
    found = _planted(path, PLANTS[path], "self._nodes")
    assert len(found) == 1 and found[0].endswith(": self._nodes"), found


def test_the_checker_finds_a_mixin_overriding_a_private_textual_method() -> None:
    """A mixin has no Textual base of its own: the class that combines it does."""
    from pislm_tui.tabs import chat_actions

    def _on_focus(self: Any, event: Any) -> None:  # Widget._on_focus, through ChatTab
        pass

    chat_actions.ChatActions._on_focus = _on_focus  # type: ignore[attr-defined]
    try:
        found = private_uses("", chat_actions)
    finally:
        del chat_actions.ChatActions._on_focus  # type: ignore[attr-defined]
    assert found == ["ChatActions._on_focus overrides Widget._on_focus"]
