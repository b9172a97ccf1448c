"""Helpers for the browser tests of `pislm web`: the real server in its own process, and Debian's
Chromium driven by selenium through Debian's chromedriver. What the page's terminal shows is read
from the websocket frames the browser received (Chromium's performance log), played into a
terminal emulator (pyte): the same bytes xterm.js drew."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import pyte

from tests import vt
from tests.helpers import wait_for_sync

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN = "test-token-0123456789abcdef"
PHONE = (390, 844)  # CSS pixels
LAPTOP = (1280, 800)
# What the probe and our own runs found Chromium needs here (no sandbox as root, no GPU, and no
# background traffic: it would try to reach Google's hosts).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        return (
            f"{' and '.join(missing)} not installed: .ci/run installs them, or "
            "apt-get install chromium chromium-driver"
        )
    return None


class WebServer:
    """`python -m pislm_tui web --port 0 ...` with the test's environment."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, log: Path) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pislm_tui", "web", "--port", "0", *args],
            cwd=ROOT,
            env=env or dict(os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        found = re.search(r"serving on (http://\S+/)", first)
        if not found:
            self.stop()
            raise AssertionError(f"pislm web did not start: {first!r}\n{self.logs()}")
        self.base = found.group(1)
        self.port = int(self.base.rsplit(":", 1)[1].rstrip("/"))
        self.pid = self.proc.pid

    def url(self, token: str | None = TOKEN, path: str = "") -> str:
        return self.base + path + (f"?token={token}" if token is not None else "")

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def app_pids(self) -> set[int]:
        """Every process below the server (the tabs' apps, and what they started)."""
        try:
            return {p.pid for p in psutil.Process(self.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def get(self, path: str = "", headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
        """Status, body and headers of a GET (redirects not followed)."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.headers

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            return None
        finally:
            if self.proc.stdout:
                self.proc.stdout.close()
            self._log.close()


def end_processes(pids: Sequence[int] | set[int]) -> None:
    """A test's last resort: whatever it started and is still there."""
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()


class Browser:
    """Chromium at a phone's or a laptop's size, with its performance log on."""

    def __init__(self, size: tuple[int, int] = PHONE) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        self.profile = tempfile.mkdtemp(prefix="pislm-chromium-")
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        width, height = size
        if width < 700:  # a phone: its viewport, touch, a mobile browser's layout
            metrics = {"width": width, "height": height, "pixelRatio": 1.0}
            options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
        else:
            options.add_argument(f"--window-size={width},{height}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        if width >= 700:  # the window's inside, not its outside, at the laptop's size
            self.driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            )
        self.events: list[dict[str, Any]] = []
        self.screen: pyte.Screen | None = None
        self._stream: pyte.ByteStream | None = None

    def open(self, url: str) -> None:
        self.driver.get(url)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- what the browser did --------------------------------------------------------------------

    def _read_log(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            self.events.append(message)
            self._play(message)

    def requested_urls(self) -> list[str]:
        """Every request and websocket the page made (not Chromium's own chrome:// pages)."""
        self._read_log()
        urls = []
        for event in self.events:
            if event["method"] == "Network.requestWillBeSent":
                urls.append(event["params"]["request"]["url"])
            elif event["method"] == "Network.webSocketCreated":
                urls.append(event["params"]["url"])
        return [u for u in urls if not u.startswith(("chrome://", "chrome-untrusted://", "data:"))]

    def responses(self) -> list[tuple[str, int]]:
        self._read_log()
        return [
            (e["params"]["response"]["url"], e["params"]["response"]["status"])
            for e in self.events
            if e["method"] == "Network.responseReceived"
        ]

    def console(self) -> list[dict[str, Any]]:
        return list(self.driver.get_log("browser"))

    # -- the terminal in the page -----------------------------------------------------------------

    def _play(self, message: dict[str, Any]) -> None:
        method = message["method"]
        if method == "Network.webSocketCreated":
            size = re.search(r"width=(\d+)&height=(\d+)", message["params"]["url"])
            if size:
                self.screen = vt.Screen(int(size.group(1)), int(size.group(2)))
                self._stream = vt.ByteStream(self.screen)
        elif method == "Network.webSocketFrameSent" and self.screen is not None:
            payload = message["params"]["response"]["payloadData"]
            with contextlib.suppress(ValueError, TypeError, KeyError, IndexError):
                kind, data = json.loads(payload)[:2]
                if kind == "resize":
                    self.screen.resize(data["height"], data["width"])
        elif method == "Network.webSocketFrameReceived" and self._stream is not None:
            frame = message["params"]["response"]
            if frame["opcode"] == 2:
                self._stream.feed(base64.b64decode(frame["payloadData"]))

    def text(self) -> str:
        """The page's terminal as text (what xterm.js was given to draw)."""
        self._read_log()
        return "\n".join(self.screen.display) if self.screen is not None else ""

    def wait_text(self, needle: str, timeout: float = 60) -> str:
        try:
            wait_for_sync(lambda: needle in self.text(), timeout=timeout, what=repr(needle))
        except AssertionError as error:
            raise AssertionError(f"{error} in the page's screen:\n{self.text()}") from None
        return self.text()

    def wait_still(self, seconds: float = 0.5, timeout: float = 30) -> None:
        """Until the screen below the status line (whose meters move every second) has not
        changed for `seconds`: Textual has finished rebuilding what a switch changed (a tap on
        a footer key that is being replaced is lost, in a terminal as in a browser)."""
        last = ""
        since = time.monotonic()

        def still() -> bool:
            nonlocal last, since
            now_text = "\n".join(self.text().splitlines()[1:])
            if now_text != last:
                last, since = now_text, time.monotonic()
            return time.monotonic() - since >= seconds

        wait_for_sync(still, timeout=timeout, what=f"the screen still for {seconds} s")

    def cell_size(self) -> tuple[float, float, float, float]:
        """Left, top, width and height of one cell, in CSS pixels."""
        rect = self.driver.execute_script(
            "const r = document.querySelector('.xterm-screen').getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height];"
        )
        assert self.screen is not None
        left, top, width, height = rect
        return left, top, width / self.screen.columns, height / self.screen.lines

    def click_cell(self, column: int, row: int) -> None:
        """A click (a tap on a phone) in the middle of a cell."""
        left, top, cell_w, cell_h = self.cell_size()
        x, y = left + (column + 0.5) * cell_w, top + (row + 0.5) * cell_h
        # A finger lands where it taps: the pointer moves there first, as on a phone.
        self.driver.execute_cdp_cmd(
            "Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y, "button": "none"}
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.driver.execute_cdp_cmd(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    def click_text(self, text: str, row_from: int = 0) -> None:
        """Click the first place on screen (from `row_from` down) where `text` is shown."""
        assert self.screen is not None
        for row, line in enumerate(self.text().splitlines()):
            if row >= row_from and text in line:
                self.click_cell(line.index(text) + len(text) // 2, row)
                return
        raise AssertionError(f"{text!r} not on the page's screen:\n{self.text()}")

    def type(self, text: str) -> None:
        """Keys to the terminal: into xterm.js's input element, as a person's typing goes once
        they have tapped the terminal."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(text)

    def screenshot(self, path: Path) -> Path:
        self.driver.save_screenshot(str(path))
        return path


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def wait_gone(pids: set[int], timeout: float = 30) -> None:
    def gone() -> bool:
        return not any(psutil.pid_exists(p) and _alive(p) for p in pids)

    wait_for_sync(gone, timeout=timeout, what=f"processes {sorted(pids)} to end")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def now() -> float:
    return time.monotonic()
