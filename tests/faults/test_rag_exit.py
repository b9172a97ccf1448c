"""Issue #12, the silent exit at the end of RAG answers, the way the user met it: the real app in
a real pty, a collection built by `pislm rag add` from a folder with garden.md, meeting.txt,
recipes.csv and a binary file (skipped), a second collection, then F4, Tab, Tab, `/`, the
question, Enter — 30 times in a row. After each answer the app must still run and still hold
the question.

The answers are what a small model writes: a long list with a blank line between the items
(every flush lays the list out again). Their lengths sweep one flush period, so that some end
while a flush is re-laying out the list: before the fix the app then ended with exit code 0 and
nothing on the screen, within the first questions."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.faults.env_helpers import FakeServer, PtyApp, child_env, run_cli

F4 = b"\x1bOS"
TAB, ENTER, BACKSPACE = b"\t", b"\r", b"\x7f"
QUESTION = "When is the next meeting?"
QUESTIONS = 30
ITEMS = 100


def make_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "garden.md").write_text(
        "# Garden notes\n\nTomatoes need full sun.\n\n## Roses\n\nPrune the roses in spring.\n"
    )
    (folder / "meeting.txt").write_text(
        "Team meeting minutes\n\nThe next meeting is on Thursday 14 March at 10:00 in room B2.\n"
    )
    (folder / "recipes.csv").write_text(
        'name,ingredients,minutes\npancakes,"flour, eggs, milk",20\nlemonade,"lemons, water",10\n'
    )
    (folder / "photo.bin").write_bytes(bytes(range(256)) * 16)


def list_answer(question: int) -> dict[str, object]:
    """A reply in 11 pieces (an intro, then 10 list items a piece) lasting 0.40 to 0.525 s:
    one 8 Hz flush period swept over the 30 questions."""
    items = [f"*   **Point {n}:** the next meeting is on Thursday [1].\n\n" for n in range(ITEMS)]
    tokens = ["Here is what the documents say:\n\n"] + [
        "".join(items[i : i + 10]) for i in range(0, ITEMS, 10)
    ]
    seconds = 0.40 + question * 0.125 / QUESTIONS
    return {"tokens": tokens, "rate": len(tokens) / seconds}


def show_rag_tab(app: PtyApp) -> None:
    """F4, again each second if the Chat tab took the screen back while it started."""
    sent = 0.0

    def shown(screen: str) -> bool:
        nonlocal sent
        if "Collections" in screen:
            return True
        if time.monotonic() - sent > 1.0:
            app.send(F4)
            sent = time.monotonic()
        return False

    app.wait_for(shown, 60, what="the RAG tab")


def chat_requests(server: FakeServer) -> int:
    return sum(1 for r in server.control("requests") if r["path"] == "/api/chat")


@pytest.mark.slow
def test_thirty_rag_answers_in_a_row_and_the_app_is_still_running_after_each(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    make_folder(folder)
    server = FakeServer()
    app: PtyApp | None = None
    try:
        added = run_cli("rag", "add", "docs", str(folder), "--host", server.url)
        assert added.returncode == 0, added.stderr
        assert "skipped" in added.stdout and "photo.bin" in added.stdout
        notes = run_cli("rag", "add", "notes", str(folder / "meeting.txt"), "--host", server.url)
        assert notes.returncode == 0, notes.stderr

        app = PtyApp(
            [sys.executable, "-m", "pislm_tui", "--host", server.url],
            env=child_env(),
            cols=80,
            rows=24,
        )
        app.wait_for_text("7 models", timeout=60)
        show_rag_tab(app)
        app.wait_for_text("answers from the top", timeout=60)
        assert "docs · 3" in app.text() and "notes · 1" in app.text()
        for key in (TAB, TAB, b"/"):
            app.send(key)
        # The footer offers Esc (back to the list) once the question box has the focus.
        app.wait_for(lambda screen: "esc Stop" in screen, what="the question box focused")
        app.send(QUESTION)
        app.wait_for_text(QUESTION)

        for n in range(QUESTIONS):
            server.control("script", list_answer(n))
            asked, done = chat_requests(server), len(server.control("stats"))
            app.send(ENTER)
            app.wait_for(
                lambda _, a=asked: chat_requests(server) > a, what=f"question {n + 1} asked"
            )
            app.wait_for(lambda _, d=done: len(server.control("stats")) > d, what=f"answer {n + 1}")
            # The app takes keys after the answer's end, and the question is still there.
            app.send("?")
            app.wait_for_text(QUESTION + "?")
            app.send(BACKSPACE)
            app.wait_for(lambda screen: QUESTION + "?" not in screen, what="the question back")
            assert app.proc.poll() is None, f"the app ended after answer {n + 1}"

        assert QUESTION in app.text() and "• Point " in app.text()  # the question, the answer
        crash_log = Path(child_env()["XDG_DATA_HOME"]) / "pislm" / "crash.log"
        assert not crash_log.exists(), crash_log.read_text()
    finally:
        if app is not None:
            app.kill()
        server.stop()
