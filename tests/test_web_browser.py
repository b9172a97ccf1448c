"""`pislm web` in Debian's Chromium (driven by selenium through chromium-driver), against the
real server in its own process and the test Ollama server. What the page's terminal shows is
the websocket's bytes played into a terminal emulator (tests/web_helpers.py).

.ci/run installs chromium and chromium-driver when they are missing: these tests do not skip
in CI. On a machine without them they fail and say what to install."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pislm_tui.chat.store import SessionStore
from pislm_tui.config import Paths
from tests.fake_ollama import FakeOllama, Reply
from tests.faults.env_helpers import child_env
from tests.helpers import wait_for_sync
from tests.web_helpers import (
    LAPTOP,
    PHONE,
    TOKEN,
    Browser,
    WebServer,
    chromium_missing,
    end_processes,
    wait_gone,
)

pytestmark = pytest.mark.slow

REPLY = "The Pi answers from the browser: fan quiet, four cores busy."


@pytest.fixture(autouse=True)
def _chromium_installed() -> None:
    missing = chromium_missing()
    assert missing is None, missing


@pytest.fixture
def web(fake_ollama: FakeOllama, tmp_path: Path) -> Iterator[WebServer]:
    server = WebServer(
        "--token",
        TOKEN,
        env=child_env(OLLAMA_HOST=fake_ollama.url),
        log=tmp_path / "web.log",
    )
    started: set[int] = set()
    try:
        yield server
    finally:
        started |= server.app_pids()
        server.stop()
        end_processes(started)


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """Chromium at a phone's size, or the size a test's `size` parameter names."""
    opened = Browser(getattr(request, "param", PHONE))
    try:
        yield opened
    finally:
        opened.close()


def app_ready(browser: Browser) -> None:
    """The app is up, connected, with its model chosen (the status bar's right end)."""
    browser.wait_text("Ask something")
    wait_for_sync(
        lambda: "llama3.2:1b" in browser.text().splitlines()[0], timeout=60, what="the model"
    )


def other_hosts(urls: list[str], server: WebServer) -> list[str]:
    own = urlsplit(server.base).netloc
    return [u for u in urls if urlsplit(u).netloc != own]


def test_with_the_token_the_app_streams_a_reply_at_phone_size(
    web: WebServer, browser: Browser, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.script(Reply(text=REPLY, rate=40))
    browser.open(web.url())
    app_ready(browser)
    assert len(web.app_pids()) == 1
    browser.type("hello from a phone\n")
    screen = browser.wait_text("busy.")
    assert "hello from a phone" in screen
    wait_for_sync(lambda: fake_ollama.requests_to("/api/chat"), what="the chat request")
    shot = browser.screenshot(tmp_path / "phone-390x844.png")
    assert shot.stat().st_size > 10_000
    # The token left the address bar for an HttpOnly cookie that scripts cannot read.
    assert "token=" not in browser.driver.current_url
    assert browser.driver.execute_script("return document.cookie") == ""
    # Everything the page asked for came from the server itself (no fonts from Google...).
    urls = browser.requested_urls()
    assert any(u.endswith("/static/js/textual.js") for u in urls), urls
    assert other_hosts(urls, web) == []
    assert not [e for e in browser.console() if e["level"] == "SEVERE"]
    # The chat is in this machine's data dir, where the terminal app opens it.
    apps = web.app_pids()
    browser.driver.get("about:blank")
    wait_gone(apps)
    store = SessionStore(Paths.from_env().sessions_db)
    try:
        (saved,) = store.list_sessions()
        messages = store.load(saved.id).messages
    finally:
        store.close()
    assert [m.content for m in messages] == ["hello from a phone", REPLY]


def test_without_the_token_or_with_a_wrong_one_401_and_no_app(
    web: WebServer, browser: Browser
) -> None:
    for token in (None, "wrong-token-0123456789abcdef"):
        browser.open(web.url(token))
        assert "needs its access token" in browser.driver.page_source
    statuses = dict(browser.responses())
    assert statuses[web.url(None)] == 401
    assert statuses[web.url("wrong-token-0123456789abcdef")] == 401
    # The files that reveal the app and the websocket that would start one: 401 too.
    for path in ("static/js/textual.js", "ws?width=80&height=24"):
        assert web.get(path)[0] == 401
        assert web.get(path, headers={"Cookie": f"pislm_web_{web.port}=nope"})[0] == 401
    assert web.app_pids() == set()
    assert other_hosts(browser.requested_urls(), web) == []


def test_the_cookie_opens_the_files_and_another_site_cannot_open_the_app(web: WebServer) -> None:
    """The redirect sets the cookie and takes the token out of the address; with the cookie the
    files are served; a websocket asked for by a page of another site is refused (403), even
    with the cookie (a browser would not send a SameSite=Strict one, but a proxy might)."""
    status, _, headers = web.get(f"?token={TOKEN}")
    assert status == 303 and headers["Location"] == "./"
    cookie = headers["Set-Cookie"].split(";")[0]
    assert cookie == f"pislm_web_{web.port}={TOKEN}"
    status, page, _ = web.get("", headers={"Cookie": cookie})
    assert status == 200 and "static/js/textual.js" in page
    assert web.get("static/js/textual.js", headers={"Cookie": cookie})[0] == 200
    other = {"Cookie": cookie, "Origin": "http://pislm.example.org"}
    assert web.get("ws?width=80&height=24", headers=other)[0] == 403
    assert web.app_pids() == set()


def test_repeated_failures_are_rate_limited(web: WebServer) -> None:
    statuses = [web.get(f"?token=guess-{n:020d}")[0] for n in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    status, _, headers = web.get(f"?token={TOKEN}")  # even the right token, for a while
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert web.app_pids() == set()


def test_closing_the_page_ends_its_app(web: WebServer, browser: Browser) -> None:
    browser.open(web.url())
    app_ready(browser)
    apps = web.app_pids()
    assert len(apps) == 1
    browser.driver.get("about:blank")  # the tab leaves the page: its websocket closes
    wait_gone(apps)
    wait_for_sync(lambda: web.app_pids() == set(), what="the app reaped by the server")
    assert web.proc.poll() is None  # the server runs on


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C"])
def test_stopping_the_server_leaves_no_app_running(
    web: WebServer, browser: Browser, sig: signal.Signals
) -> None:
    browser.open(web.url())
    app_ready(browser)
    apps = web.app_pids()
    assert len(apps) == 1
    assert web.stop(sig) == 0
    wait_gone(apps)


def test_a_third_session_beyond_two_is_refused(web: WebServer, browser: Browser) -> None:
    browser.open(web.url())
    browser.wait_text("Ask something")
    first = browser.driver.current_window_handle
    browser.driver.switch_to.new_window("tab")
    browser.open(web.url())
    wait_for_sync(lambda: len(web.app_pids()) == 2, timeout=60, what="a second app")
    browser.driver.switch_to.new_window("tab")
    browser.open(web.url())
    page = browser.driver.page_source
    assert "already open in 2 browser tabs" in page, page
    assert len(web.app_pids()) == 2
    # Closing one tab makes room again.
    browser.driver.switch_to.window(first)
    browser.driver.close()
    wait_for_sync(lambda: len(web.app_pids()) == 1, timeout=30, what="one app left")


def test_sigkill_to_the_server_leaves_no_app_running(web: WebServer, browser: Browser) -> None:
    """No chance to clean up: each app still ends (the parent-death signal, and its closed
    input pipe)."""
    browser.open(web.url())
    app_ready(browser)
    apps = web.app_pids()
    assert len(apps) == 1
    web.stop(signal.SIGKILL)
    wait_gone(apps)


TAB_CONTENT = {  # what only that tab shows
    "Models": "Capabilities",  # the list filled and a model selected
    "RAG": "No collections",  # the store opened
    "Function Calling": "Country",
    "Monitor": "Processes",
    "Chat": "Ask something",
}


@pytest.mark.parametrize("browser", [PHONE, LAPTOP], indirect=True, ids=["phone", "laptop"])
def test_every_tab_by_a_tap_and_the_palette_instead_of_ctrl_n(
    web: WebServer, browser: Browser, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    """At a phone's size and a laptop's: each tab opens with a tap on its name (screenshots in the test's tmp
    dir), and "New chat" (Ctrl+N, which Chromium keeps) runs from the palette's tap."""
    fake_ollama.script(Reply(text=REPLY, rate=40))
    browser.open(web.url())
    app_ready(browser)
    browser.type("first chat\n")
    browser.wait_text("busy.")
    for tab, shows in TAB_CONTENT.items():
        browser.click_text(f" {tab} ", row_from=1)
        wait_for_sync(
            lambda shows=shows: shows in "\n".join(browser.text().splitlines()[3:]),
            timeout=60,
            what=f"the {tab} tab",
        )
        browser.screenshot(tmp_path / f"{tab.lower()}.png")
    assert "busy." in browser.text()  # back on Chat, the reply still there
    browser.wait_still()  # a footer being rebuilt after the switch loses a tap
    last = browser.text().splitlines()[-1]
    browser.click_cell(last.index("palette") + 2, len(browser.text().splitlines()) - 1)
    browser.wait_text("Search for commands")
    browser.type("chat: new")
    browser.wait_text("Chat: New chat")
    browser.type("\n")
    wait_for_sync(lambda: "busy." not in browser.text(), timeout=30, what="a new, empty chat")
    browser.wait_text("Type a prompt below")
