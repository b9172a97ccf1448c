"""An internal error in the real app in a real pty (`pislm`, through cli/app.py's run_app): on
the Textual the guard knows it is survived; on one it does not know, Textual's own handling ends
the app, and pislm still says on the terminal that it stopped and where crash.log is, with exit
code 1. The error is a bug planted in the child (a `sitecustomize` makes Ctrl+L raise): pislm
has no such bug to trigger from outside."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.faults.env_helpers import ROOT, FakeServer, PtyApp, child_env
from tests.test_fast_output import fake_textual

pytestmark = pytest.mark.slow

CTRL_L, CTRL_Q = "\x0c", "\x11"
BUG = "a bug planted behind Ctrl+L"
PLANT = f'''
import pislm_tui.app


def action_redraw(self):
    raise RuntimeError("{BUG}")


pislm_tui.app.PislmApp.action_redraw = action_redraw
'''


def with_planted_bug(env: dict[str, str], where: Path) -> dict[str, str]:
    where.mkdir(parents=True, exist_ok=True)
    (where / "sitecustomize.py").write_text(PLANT)
    path = env.get("PYTHONPATH") or os.environ.get("PYTHONPATH") or str(ROOT)
    return {**env, "PYTHONPATH": os.pathsep.join([str(where), path])}


@pytest.mark.parametrize("textual", ["pinned", "unknown"])
def test_an_internal_error_is_survived_or_ends_the_app_saying_where_the_log_is(
    tmp_path: Path, textual: str
) -> None:
    env = fake_textual("8.3.0", tmp_path / "site") if textual == "unknown" else {}
    env = with_planted_bug(env, tmp_path / "plant")
    crash_log = Path(child_env()["XDG_DATA_HOME"]) / "pislm" / "crash.log"
    server = FakeServer()
    app = PtyApp(
        [sys.executable, "-m", "pislm_tui", "--host", server.url],
        env=child_env(PISLM_MONITOR__SHOW_STRIP="false", **env),
        cols=100,
        rows=30,
    )
    try:
        app.wait_for_text("7 models", timeout=60)
        app.send(CTRL_L)
        if textual == "pinned":
            app.wait_for(  # the notification
                lambda screen: f"RuntimeError: {BUG}" in screen and "keeps running" in screen,
                what="the error shown",
            )
            assert app.proc.poll() is None
            app.send(CTRL_Q)
            assert app.wait_exit(30) == 0
            assert b"pislm stopped" not in app.output()
            assert "outcome: the app kept running" in crash_log.read_text()
        else:
            assert app.wait_exit(30) == 1
            app.reader.join(5)
            text = app.output().decode(errors="replace")
            assert BUG in text  # Textual's own traceback
            assert f"pislm stopped unexpectedly; details in {crash_log}" in text
            assert "the app ended although nobody asked it to quit" in crash_log.read_text()
    finally:
        app.kill()
        server.stop()
