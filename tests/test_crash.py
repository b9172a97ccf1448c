"""Unhandled errors (crash.py): an error in a message handler, a key binding's action, a worker
or an app callback leaves the app running, shows a notification that names the crash log, and
writes the log (time, versions, where, traceback). Without the guard (an unverified Textual)
the app ends as stock Textual ends it, but the log is written and the exit says where it is.

Textual's test harness raises the app's first unhandled error when `run_test` ends (a survived
error must still fail the test that met it), hence the `pytest.raises` around the runs here.

The private parts of Textual this needs are in textual_compat/errors.py, behind the guard of
textual_compat (tests/test_textual_compat.py checks them against the installed Textual)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widget import Widget
from textual.widgets import Static

from pislm_tui.app import PislmApp
from pislm_tui.backend.errors import ServerError
from pislm_tui.crash import CRASH_LOG, STORM_ERRORS, CrashLog, ErrorGuard
from pislm_tui.textual_compat import guard
from pislm_tui.textual_compat.errors import survival_note
from pislm_tui.textual_compat.fast_output import LOG_NAME
from tests.chat_helpers import notes
from tests.helpers import wait_for

MakeApp = Callable[..., PislmApp]


class Boom(Static, can_focus=True):
    """A widget whose handlers fail on demand."""

    BINDINGS = [Binding("b", "explode", "Explode")]

    class Go(Message):
        pass

    class Ping(Message):
        pass

    def __init__(self) -> None:
        super().__init__("boom widget", id="boom")
        self.pings = 0

    def on_boom_go(self, message: Go) -> None:
        raise RuntimeError("boom in a message handler")

    def on_boom_ping(self, message: Ping) -> None:
        self.pings += 1

    def action_explode(self) -> None:
        raise ValueError("boom in a key binding")


def crash_log(app: PislmApp) -> Path:
    return app.paths.data_dir / CRASH_LOG


async def with_boom(app: PislmApp, pilot: Any) -> Boom:
    boom = Boom()
    await app.screen.mount(boom)
    await pilot.pause()
    return boom


# -- the guard ------------------------------------------------------------------------------------


@pytest.fixture
def fresh_guard() -> Iterator[None]:
    """The guard reads the versions once per process: again for the test, and after it."""
    guard.forget()
    yield
    guard.forget()


def installed_textual(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """The installed metadata says Textual `version` (the environment, not pislm, is changed)."""
    real = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: version if name.lower() == "textual" else real(name)
    )
    guard.forget()


@pytest.mark.usefixtures("fresh_guard")
def test_the_guard_is_on_only_for_the_textual_it_was_written_against(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard of textual_compat decides (`guard.VERIFIED_TEXTUAL`, the pin), for the error
    survival as for every other private reach."""
    # The Textual installed here is the verified one: the guard is on in the app.
    assert survival_note() is None
    for version in ("8.2.0", "8.3.0", "9.0.1", "7.5.0", "dev"):
        installed_textual(monkeypatch, version)
        assert survival_note() == f"error survival: off (textual {version} not verified)"
    monkeypatch.undo()

    # A verified version whose hooks are not what errors.py was written against.
    monkeypatch.delattr(App, "_handle_exception")
    guard.forget()
    assert (note := survival_note()) and note.endswith("has no App._handle_exception)")
    monkeypatch.undo()

    def sync_dispatch(self: MessagePump, message: Message) -> None:
        pass

    monkeypatch.setattr(MessagePump, "_dispatch_message", sync_dispatch)
    guard.forget()
    assert (note := survival_note()) and note.endswith("dispatches messages differently)")


# -- surviving ------------------------------------------------------------------------------------


async def test_an_error_in_a_message_handler_is_shown_logged_and_survived(
    make_app: MakeApp,
) -> None:
    app = make_app(monitor={"show_strip": False})
    with pytest.raises(RuntimeError, match="boom in a message handler"):
        async with app.run_test(size=(80, 24)) as pilot:
            boom = await with_boom(app, pilot)
            boom.post_message(Boom.Go())
            await wait_for(lambda: crash_log(app).exists(), pilot=pilot, what="the crash log")
            note = await wait_for(
                lambda: next((n for n in notes(app) if "boom in a" in n), None), pilot=pilot
            )
            assert note.startswith("RuntimeError: boom in a message handler")
            assert f"details in {crash_log(app)}" in note
            # Still running, and the widget that raised still handles its messages.
            assert app.is_running and boom.is_attached
            boom.post_message(Boom.Ping())
            await wait_for(lambda: boom.pings == 1, pilot=pilot, what="the widget alive")
            text = crash_log(app).read_text()
            assert "pislm 0.1.0 · Textual 8.2." in text
            assert "where: the Go handler of Boom#boom" in text
            assert "outcome: the app kept running" in text
            assert 'raise RuntimeError("boom in a message handler")' in text
            assert app.error_guard.exit_message() is None  # nothing to say at exit yet


async def test_an_error_in_a_key_binding_action_keeps_the_app_and_the_typed_text(
    make_app: MakeApp,
) -> None:
    """A binding's action runs in the app's own message loop: stock Textual ends the app."""
    app = make_app(monitor={"show_strip": False})
    with pytest.raises(ValueError, match="boom in a key binding"):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.query("PromptInput"), pilot=pilot)
            prompt = app.query_one("PromptInput")
            prompt.focus()
            await pilot.press(*"kept")
            boom = await with_boom(app, pilot)
            boom.focus()
            await pilot.press("b")
            await wait_for(
                lambda: any("boom in a key binding" in n for n in notes(app)), pilot=pilot
            )
            assert app.is_running
            prompt.focus()
            await pilot.press("s")
            assert prompt.text == "kepts"  # type: ignore[attr-defined]
            assert "where: the Key handler of PislmApp" in crash_log(app).read_text()


async def test_failed_workers_are_shown_our_errors_as_errors_others_as_crashes(
    make_app: MakeApp,
) -> None:
    app = make_app(monitor={"show_strip": False})

    async def server_says_no() -> None:
        raise ServerError(500, "model runner crashed")

    async def a_bug() -> None:
        raise KeyError("done_reason")

    async def another_bug() -> None:
        raise IndexError("no such chunk")

    with pytest.raises(KeyError):
        async with app.run_test(size=(80, 24)) as pilot:
            boom = await with_boom(app, pilot)
            # A widget's worker that ends the app on error (Textual's default): a PislmError
            # is shown as the error it is, not logged as a crash.
            boom.run_worker(server_says_no())
            await wait_for(
                lambda: any("model runner crashed" in n for n in notes(app)), pilot=pilot
            )
            assert not crash_log(app).exists()
            # The app's own worker that does not end it (Textual would stay silent).
            app.run_worker(a_bug(), name="buggy", exit_on_error=False)
            await wait_for(
                lambda: any("KeyError: 'done_reason'" in n for n in notes(app)), pilot=pilot
            )
            assert "where: worker 'buggy'" in crash_log(app).read_text()
            # A widget's worker with a bug.
            boom.run_worker(another_bug())
            await wait_for(lambda: any("no such chunk" in n for n in notes(app)), pilot=pilot)
            assert "where: a worker" in crash_log(app).read_text()
            assert app.is_running and boom.is_attached


def look_for_a_gone_widget(boom: Widget) -> None:
    boom.query_one("#already-gone")  # NoMatches


def mount_into_a_gone_widget(boom: Widget) -> None:
    Static("never mounted").mount(Static("child"))  # MountError


@pytest.mark.parametrize("meets_gone", [look_for_a_gone_widget, mount_into_a_gone_widget])
async def test_a_worker_that_meets_a_widget_gone_with_the_closing_app_is_not_a_crash(
    make_app: MakeApp, meets_gone: Callable[[Widget], None]
) -> None:
    """Quitting while a reply streams: the cancelled worker tidies its widgets up, and finds
    them already gone. That is the quit going as asked, not an error to print on the way out."""
    app = make_app(monitor={"show_strip": False})
    started = asyncio.Event()

    async def tidies_up_on_cancel() -> None:
        try:
            started.set()
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            meets_gone(boom)  # raises while the app closes
            raise

    async with app.run_test(size=(80, 24)) as pilot:
        boom = await with_boom(app, pilot)
        boom.run_worker(tidies_up_on_cancel())
        await wait_for(started.is_set, pilot=pilot)
    assert not crash_log(app).exists()
    # The same error while the app runs is a bug, and is reported as one.
    app = make_app(monitor={"show_strip": False})
    with pytest.raises(Exception, match=r"already-gone|mount"):
        async with app.run_test(size=(80, 24)) as pilot:
            boom = await with_boom(app, pilot)

            async def looks_now() -> None:
                meets_gone(boom)

            boom.run_worker(looks_now())
            await wait_for(lambda: crash_log(app).exists(), pilot=pilot)


async def test_a_stray_cancel_in_an_app_callback_does_not_end_the_app(make_app: MakeApp) -> None:
    """What ended the app in issue #12: a CancelledError nobody asked for, in the app's loop."""
    app = make_app(monitor={"show_strip": False})

    async def cancelled_elsewhere() -> None:
        victim = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        victim.cancel()
        await victim  # raises CancelledError into the app's own loop

    with pytest.raises(RuntimeError, match="CancelledError: a change of the screen"):
        async with app.run_test(size=(80, 24)) as pilot:
            app.call_next(cancelled_elsewhere)
            await wait_for(lambda: crash_log(app).exists(), pilot=pilot)
            assert app.is_running
            assert any("CancelledError" in n for n in notes(app))
            assert "where: a callback of the app" in crash_log(app).read_text()


async def test_an_unwritable_data_dir_is_said_and_the_app_goes_on(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = make_app(monitor={"show_strip": False})
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir would be")
    app.error_guard.log.path = blocker / CRASH_LOG
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            boom = await with_boom(app, pilot)
            boom.post_message(Boom.Go())
            note = await wait_for(
                lambda: next((n for n in notes(app) if "boom" in n), None), pilot=pilot
            )
            assert "the crash log could not be written (" in note
            assert app.is_running


async def test_an_error_storm_ends_the_app_with_a_message(make_app: MakeApp) -> None:
    """An error on every frame must not run forever: past STORM_ERRORS in a few seconds the
    app stops, and the exit names the log."""
    app = make_app(monitor={"show_strip": False})
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            boom = await with_boom(app, pilot)
            for _ in range(STORM_ERRORS + 1):
                boom.post_message(Boom.Go())
            await wait_for(lambda: not app.is_running, pilot=None, what="the app to stop")
    assert app.error_guard.survived == STORM_ERRORS
    message = app.error_guard.exit_message()
    assert message is not None and f"details in {crash_log(app)}" in message
    assert app.error_guard.exit_code(app.return_code) == 1
    assert "outcome: the app stopped" in crash_log(app).read_text()


# -- without the guard: stock Textual, plus the log and a message at exit ----------------------------


async def test_without_the_guard_an_error_ends_the_app_with_the_log_and_a_non_zero_code(
    make_app: MakeApp,
) -> None:
    app = make_app(monitor={"show_strip": False})
    app.error_guard = ErrorGuard(app, crash_log(app), enabled=False)  # an unverified Textual
    with pytest.raises(RuntimeError, match="boom in a message handler"):
        async with app.run_test(size=(80, 24)) as pilot:
            boom = await with_boom(app, pilot)
            boom.post_message(Boom.Go())
            await wait_for(lambda: not app.is_running, what="the app to stop")
    assert app.return_code == 1
    text = crash_log(app).read_text()
    assert "outcome: the app stopped" in text and "boom in a message handler" in text
    message = app.error_guard.exit_message()
    assert message == (
        "pislm stopped after an internal error: RuntimeError: boom in a message handler; "
        f"details in {crash_log(app)}"
    )
    assert app.error_guard.exit_code(app.return_code) == 1


@pytest.mark.usefixtures("fresh_guard")
async def test_on_an_unknown_textual_an_error_ends_the_app_stock_and_the_exit_says_so(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing private is touched: Textual's own handling ends the app at the first error, and
    pislm's exit message still names the log (`cli/app.py` prints it)."""
    installed_textual(monkeypatch, "8.3.0")
    app = make_app(monitor={"show_strip": False})
    assert not app.error_guard.enabled
    assert app.error_guard.note == "error survival: off (textual 8.3.0 not verified)"
    assert "_handle_exception" not in vars(app)  # Textual's own, from the class
    with pytest.raises(RuntimeError, match="boom in a message handler"):
        async with app.run_test(size=(80, 24)) as pilot:
            boom = await with_boom(app, pilot)
            boom.post_message(Boom.Go())
            await wait_for(lambda: not app.is_running, what="the app to stop")
    assert app.return_code == 1
    assert app.error_guard.exit_message() == (
        f"pislm stopped unexpectedly; details in {crash_log(app)}"
    )
    assert app.error_guard.exit_code(app.return_code) == 1
    assert "the app ended although nobody asked it to quit" in crash_log(app).read_text()
    pislm_log = (app.paths.data_dir / LOG_NAME).read_text()
    assert pislm_log.count("error survival: off (textual 8.3.0 not verified)") == 1


def test_an_app_that_ends_without_being_asked_says_so(tmp_path: Path) -> None:
    class Quiet(App[None]):
        is_running = False

    guard = ErrorGuard(Quiet(), tmp_path / CRASH_LOG, enabled=False)
    message = guard.exit_message()
    assert message == f"pislm stopped unexpectedly; details in {tmp_path / CRASH_LOG}"
    assert guard.exit_code(None) == 1
    assert "the app ended although nobody asked it to quit" in (tmp_path / CRASH_LOG).read_text()
    guard.exit_requested = True  # Ctrl+Q, a signal, a closed terminal
    guard.fatal.clear()
    assert guard.exit_message() is None and guard.exit_code(None) == 0
    assert guard.exit_code(129) == 129


def test_the_crash_log_keeps_one_older_file(tmp_path: Path) -> None:
    log = CrashLog(tmp_path / CRASH_LOG, cap_bytes=2000)
    for n in range(30):
        assert log.write(ValueError(f"error {n}"), "a test", "the app kept running") is None
    current = (tmp_path / CRASH_LOG).read_text()
    older = (tmp_path / f"{CRASH_LOG}.1").read_text()
    assert "ValueError: error 29\n" in current
    assert "ValueError: error 0\n" not in current + older  # the oldest are gone
    assert (tmp_path / CRASH_LOG).stat().st_size <= 2000
    assert older.count("====") >= 1


class Unbuildable(Static):
    def compose(self) -> Any:
        raise RuntimeError("boom while composing")


async def test_a_widget_that_cannot_be_built_still_ends_the_app_but_says_where_the_log_is(
    make_app: MakeApp,
) -> None:
    """A widget that never started could neither be used nor removed: stock Textual's exit."""
    app = make_app(monitor={"show_strip": False})
    with pytest.raises(RuntimeError, match="boom while composing"):
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(lambda: app.query("PromptInput"), pilot=pilot)
            app.screen.mount(Unbuildable())
            await wait_for(lambda: not app.is_running, what="the app to stop")
    assert app.return_code == 1
    assert "outcome: the app stopped" in crash_log(app).read_text()
    assert "boom while composing" in (app.error_guard.exit_message() or "")
