"""The output layers switched off, and off by themselves where they were not proven, in real
processes: the app in a pseudo-terminal (and under textual-serve's web driver), the bytes it
writes read by a terminal emulator.

How to tell which output path wrote a frame: the terminal shadow sets every new look as
"reset, then set" (`ESC[0;...m`); Textual's own output never writes an SGR that starts with 0.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pislm_tui.repeat_probe import PROBE
from pislm_tui.textual_compat.fast_output import LOG_NAME
from tests import vt
from tests.fake_ollama import FakeOllama, Reply
from tests.faults.env_helpers import ROOT, PtyApp, child_env
from tests.output_equivalence import shown_fg

pytestmark = pytest.mark.slow

SHADOW_LOOK = b"\x1b[0;"  # only the terminal shadow writes this
COLS, ROWS = 100, 30
REPLY = (
    "The fan spins up when the model loads. Memory bandwidth sets the pace of every token, "
    "so a small model answers at a steady trickle.\n\n| fan | temperature |\n|---|---|\n"
    "| off | 80 °C |\n| on | 60 °C |\n\nLast line: the reply has ended."
)
REP = re.compile(rb"\x1b\[\d+b")  # a character repeated by the terminal
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"  # what textual-serve sets


def fake_textual(version: str, where: Path) -> dict[str, str]:
    """An environment whose `textual` says it is `version` (its metadata, found first on the
    path), the installed Textual underneath: what a newer pip install looks like to the guard."""
    dist = where / f"textual-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: textual\nVersion: {version}\n")
    path = [str(where), os.environ.get("PYTHONPATH", str(ROOT))]
    return {"PYTHONPATH": os.pathsep.join(p for p in path if p)}


def settled(app: PtyApp, at_least: int, quiet: float = 0.5, timeout: float = 30) -> bytes:
    """The output once at least `at_least` more bytes came and then nothing for `quiet` s."""
    start = len(app.output())
    deadline = time.monotonic() + timeout
    last, since = start, time.monotonic()
    while time.monotonic() < deadline:
        size = len(app.output())
        if size != last:
            last, since = size, time.monotonic()
        elif size - start >= at_least and time.monotonic() - since >= quiet:
            return app.output()
        time.sleep(0.05)
    raise AssertionError(f"the output did not settle; screen:\n{app.text()}")


def screen_of(data: bytes) -> list[list[tuple]]:
    screen = vt.Screen(COLS, ROWS)
    vt.ByteStream(screen).feed(data)
    return [
        [
            (c.data, shown_fg(c), c.bg, c.bold, c.reverse)  # (a space's fg may not show)
            for c in map(screen.buffer[y].__getitem__, range(COLS))
        ]
        for y in range(ROWS)
    ]


@pytest.mark.parametrize(
    ("case", "shadow"),
    [
        ("on", True),
        ("on, a terminal that repeats", True),
        ("on, repeat_characters off", True),
        ("off", False),
        ("old key off", False),
        ("unknown textual", False),
    ],
)
def test_a_chat_streams_and_the_screen_is_right(
    fake_ollama: FakeOllama, tmp_path: Path, case: str, shadow: bool
) -> None:
    """A reply streams in; then Ctrl+L repaints the whole screen from scratch, and what the
    terminal showed before (every frame written so far, incrementally) is exactly that. Runs of
    one character are repeated by the terminal (REP) only where it answered the probe
    (`repeat_probe`) saying it can, and not with display.repeat_characters off."""
    env = {
        "on": {},
        "on, a terminal that repeats": {},
        "on, repeat_characters off": {"PISLM_DISPLAY__REPEAT_CHARACTERS": "false"},
        "off": {"PISLM_DISPLAY__FAST_OUTPUT": "false"},
        "old key off": {"PISLM_DIFF_OUTPUT": "false"},  # before display.fast_output
        "unknown textual": fake_textual("8.3.0", tmp_path / "site"),
    }[case]
    fake_ollama.script(Reply(text=REPLY, rate=40))
    app = PtyApp(
        [sys.executable, "-m", "pislm_tui"],
        # SSH mode: no cursor blink, so the screen goes quiet once the reply is in.
        env=child_env(
            OLLAMA_HOST=fake_ollama.url, PISLM_MONITOR__SHOW_STRIP="false", PISLM_SSH="true", **env
        ),
        cols=COLS,
        rows=ROWS,
        answer_queries=case != "on",  # (the terminal answers where its cursor is)
    )
    try:
        app.wait_for_text("7 models", timeout=60)
        app.wait_for_text("llama3.2:1b", timeout=30)
        app.send("Tell me about the fan")
        app.wait_for_text("Tell me about the fan", timeout=20)  # typed into the prompt box
        app.send(b"\r")
        app.wait_for_text("Last line: the reply has ended.", timeout=60)
        app.wait_for(lambda s: "tok/s" in s, what="the reply's figures")
        before = settled(app, at_least=0)
        app.send("\x0c")  # Ctrl+L: everything again, from scratch
        after = settled(app, at_least=COLS * ROWS // 2)
    finally:
        app.kill()
    assert screen_of(before) == screen_of(after)
    assert "│ on " in "\n".join(app.screen.display)  # the table, drawn
    assert (SHADOW_LOOK in before) is shadow
    frames = before.replace(PROBE.encode(), b"")  # (the probe's own REP)
    assert (REP.search(frames) is not None) is (case == "on, a terminal that repeats")
    assert (PROBE.encode() in before) is (shadow and case != "on, repeat_characters off")
    log = tmp_path / "home" / ".local" / "share" / "pislm" / LOG_NAME
    if case == "unknown textual":
        assert "fast output: off (textual 8.3.0 not verified)" in log.read_text()
    else:
        assert not log.exists()


def test_a_slow_reply_shows_each_flush_as_it_comes(fake_ollama: FakeOllama) -> None:
    """Nothing else wakes the screen here (no live strip, no blinking cursor over SSH): each
    flush's own frame must reach the terminal while the reply is still streaming. A flush runs
    in a batch and its append yields within it, so the screen is prompted once the batch is
    over (tried without: the reply stood still until its end)."""
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima omega"
    fake_ollama.script(Reply(text=words, rate=2))  # slower than the flushes: a word each
    app = PtyApp(
        [sys.executable, "-m", "pislm_tui"],
        env=child_env(
            OLLAMA_HOST=fake_ollama.url, PISLM_MONITOR__SHOW_STRIP="false", PISLM_SSH="true"
        ),
        cols=COLS,
        rows=ROWS,
    )
    seen: set[int] = set()  # how many of the words the screen has shown, each time it changed

    def shown(screen: str) -> bool:
        count = next((n for n in range(13, 0, -1) if " ".join(words.split()[:n]) in screen), 0)
        seen.add(count)
        return count == 13

    try:
        app.wait_for_text("7 models", timeout=60)
        app.wait_for_text("llama3.2:1b", timeout=30)
        app.send("Spell it")
        app.wait_for_text("Spell it", timeout=20)
        app.send(b"\r")
        app.wait_for(shown, what="the whole reply", timeout=60)
    finally:
        app.kill()
    # Word by word, not in jumps when something else happened to wake the screen.
    assert len(seen - {0}) >= 7, sorted(seen)


def test_pislm_version_says_when_textual_is_not_one_it_knows(tmp_path: Path) -> None:
    def version(**env: str) -> list[str]:
        out = subprocess.run(
            [sys.executable, "-m", "pislm_tui", "--version"],
            cwd=ROOT,
            env=child_env(**env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()

    known = version()
    assert len(known) == 1 and known[0].startswith("pislm ")
    unknown = version(**fake_textual("8.3.0", tmp_path / "site"))
    assert unknown == [
        known[0],
        "fast output: off (textual 8.3.0 not verified)",
        "error survival: off (textual 8.3.0 not verified)",
    ]


def _web_frames(data: bytes) -> bytes:
    """The terminal data in textual-serve's packets ("D" + 4-byte length + data; "M" meta)."""
    _, _, packets = data.partition(b"__GANGLION__\n")
    out = b""
    while len(packets) >= 5:
        kind, size = packets[:1], int.from_bytes(packets[1:5], "big")
        if len(packets) < 5 + size:
            break
        if kind == b"D":
            out += packets[5 : 5 + size]
        packets = packets[5 + size :]
    return out


def test_under_the_web_driver_textual_writes_the_frames(fake_ollama: FakeOllama) -> None:
    """xterm.js in a browser was not proven with the shadow: under the web driver every frame
    is Textual's own, while the compositor patch (same cells, proven) stays in."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pislm_tui"],
        cwd=ROOT,
        env=child_env(
            OLLAMA_HOST=fake_ollama.url,
            TEXTUAL_DRIVER=WEB_DRIVER,
            COLUMNS=str(COLS),
            ROWS=str(ROWS),
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    data = b""
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        screen = vt.Screen(COLS, ROWS)
        while "7 models" not in "\n".join(screen.display):  # connected: several frames
            assert time.monotonic() < deadline, f"no connected frame; got {data[-300:]!r}"
            assert proc.poll() is None, proc.stderr.read()[-500:]  # type: ignore[union-attr]
            if select.select([proc.stdout], [], [], 0.2)[0]:
                data += os.read(proc.stdout.fileno(), 65536)
                screen = vt.Screen(COLS, ROWS)
                vt.ByteStream(screen).feed(_web_frames(data))
    finally:
        proc.kill()
        proc.wait(10)
    frames = _web_frames(data)
    assert "Chat" in "\n".join(screen.display)
    assert SHADOW_LOOK not in frames


def test_both_layers_off_under_the_web_driver(monkeypatch: pytest.MonkeyPatch, make_app) -> None:
    """`pislm web`: the app under textual-serve's web driver gets Textual's own output, both
    layers off (they were proven against a terminal, not xterm.js), and the note says why."""
    from textual._compositor import Compositor

    from pislm_tui.textual_compat import compositor

    monkeypatch.setenv("TEXTUAL_DRIVER", WEB_DRIVER)
    app = make_app()
    try:
        assert not app.fast_output.on
        assert app.fast_output.note is not None and "SafeWebDriver" in app.fast_output.note
        assert Compositor.render_partial_update is compositor.ORIGINAL_RENDER_PARTIAL_UPDATE
    finally:
        app.fast_output.close()
