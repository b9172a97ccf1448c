"""`pislm web`: memory of the server plus one browser tab's app, and the time from the page's
request to the app's first full frame, with pislm in a terminal measured in the same run as the
reference (the same app, without the web server in front).

The "browser" here is an aiohttp client doing what the page does (GET the page with the token,
follow the redirect with the cookie, open the websocket textual.js opens) and a terminal
emulator (pyte) reading the app's output from the websocket: what is timed is the server and
the app, not Chromium's drawing.

    .venv/bin/python bench/web.py [--runs 3] [--size 120x40]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil
import pyte
from harness import ROOT, FakeServer, PtyProcess, isolated_env, pislm_argv, table

from tests import vt

TOKEN = "bench-token-0123456789abcdef"
# Open WebUI's own issue tracker, on Raspberry Pis and small boards (issue #14 cites them).
OPEN_WEBUI = "about 500 MB at a cold start, often over 1 GB (open-webui #2582, #4188, #10241)"


def first_frame(screen: pyte.Screen) -> bool:
    text = "\n".join(screen.display)
    return "pislm" in text and "Chat" in text and "palette" in text


def tree_rss(pid: int) -> tuple[float, float]:
    """RSS (MiB) of the server process alone, and of everything below it (the tab's app)."""
    server = psutil.Process(pid)
    below = sum(p.memory_info().rss for p in server.children(recursive=True))
    return server.memory_info().rss / 2**20, below / 2**20


async def one_tab(base: str, cols: int, rows: int) -> float:
    """Seconds from the page's request to the first full frame of the app in its websocket; the
    websocket stays open (the app running) while memory is read, then closes."""
    screen = vt.Screen(cols, rows)
    stream = vt.ByteStream(screen)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 too
    async with aiohttp.ClientSession(cookie_jar=jar) as client:
        started = time.monotonic()
        async with client.get(f"{base}?token={TOKEN}") as page:  # the redirect keeps the cookie
            assert page.status == 200, page.status
            await page.read()
        websocket = await client.ws_connect(f"{base}ws?width={cols}&height={rows}")
        try:
            while not first_frame(screen):
                message = await asyncio.wait_for(websocket.receive(), 60)
                if message.type == aiohttp.WSMsgType.BINARY:
                    stream.feed(message.data)
                elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    raise RuntimeError("the websocket closed before the first frame")
            elapsed = time.monotonic() - started
            await asyncio.sleep(1.0)  # settle, then read memory (as bench/startup.py does)
            return elapsed
        finally:
            await websocket.close()


def measure_web(url: str, cols: int, rows: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as home:
        env = isolated_env(Path(home), OLLAMA_HOST=url)
        server = subprocess.Popen(
            [*pislm_argv("web", "--port", "0", "--token", TOKEN)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            found = re.search(r"serving on (http://\S+/)", server.stdout.readline())
            assert found, "pislm web did not start"
            base = found.group(1)
            memory: list[tuple[float, float]] = []

            async def with_memory() -> float:
                screen_task = asyncio.create_task(one_tab(base, cols, rows))
                # read memory once the frame is there and the app settled (inside one_tab's sleep)
                while not screen_task.done():
                    await asyncio.sleep(0.1)
                    children = psutil.Process(server.pid).children(recursive=True)
                    if children:
                        memory.append(tree_rss(server.pid))
                return await screen_task

            elapsed = asyncio.run(with_memory())
            server_mib, app_mib = memory[-1]  # the last reading: settled, the tab still open
            return elapsed, server_mib, app_mib
        finally:
            server.terminate()
            server.wait(30)


def measure_terminal(url: str, cols: int, rows: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home:
        app = PtyProcess(
            pislm_argv("--host", url), cols=cols, rows=rows, env=isolated_env(Path(home))
        )
        try:
            t_frame = app.wait_for(first_frame_text, what="first frame")
            time.sleep(1.0)
            return t_frame - app.started, app.rss()
        finally:
            app.close()


def first_frame_text(text: str) -> bool:
    return "pislm" in text and "Chat" in text and "palette" in text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))
    fake = FakeServer()
    try:
        web = [measure_web(fake.url, cols, rows) for _ in range(args.runs)]
        terminal = [measure_terminal(fake.url, cols, rows) for _ in range(args.runs)]
    finally:
        fake.stop()
    frame, server_mib, app_mib = (statistics.median(r[i] for r in web) for i in range(3))
    t_frame, t_rss = (statistics.median(r[i] for r in terminal) for i in range(2))
    print(f"pislm web at {cols}x{rows}, median of {args.runs} runs (one tab open)")
    print(
        table(
            [
                ["page request -> first app frame (s)", frame, t_frame],
                ["server RSS (MiB)", server_mib, "-"],
                ["the tab's app RSS (MiB)", app_mib, t_rss],
                ["server + one tab (MiB)", server_mib + app_mib, t_rss],
            ],
            ["figure", "pislm web", "pislm in a terminal (exec -> frame)"],
        )
    )
    print(f"Open WebUI, as its users report it: {OPEN_WEBUI}")


if __name__ == "__main__":
    main()
