"""`pislm web` without a browser: the token file, the failure limit, the command line (the URL,
its QR code, the systemd unit), and what the installed textual-serve's page needs from us.
The browser itself: tests/test_web_browser.py."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import textual_serve

from pislm_tui.backend.errors import UsageError
from pislm_tui.web import token as access
from pislm_tui.web.announce import base_urls, qr_text, systemd_unit, with_token
from pislm_tui.web.gate import FailureLimit, cookie_header
from pislm_tui.web.server import TEMPLATES
from tests.faults.env_helpers import run_cli

SERVE = Path(textual_serve.__file__).parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_token_is_random_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    path = access.token_path(tmp_path / "data")
    first = access.load(path)  # made on first use
    assert mode(path) == 0o600
    assert access.load(path) == first
    second = access.new(path)  # --new-token
    assert second != first and len(second) >= 24
    assert access.load(path) == second and mode(path) == 0o600


def test_a_token_file_others_can_read_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "web-token"
    path.write_text("abcdefghijklmnop-0123\n")
    os.chmod(path, 0o644)
    assert access.load(path) == "abcdefghijklmnop-0123"
    assert mode(path) == 0o600


def test_a_broken_token_file_says_how_to_make_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "web-token"
    path.write_text("short\n")
    with pytest.raises(UsageError) as raised:
        access.load(path)
    assert "--new-token" in (raised.value.hint or "")
    with pytest.raises(UsageError):
        access.check("has spaces in it and more")


def test_failures_past_the_limit_wait_for_the_window() -> None:
    now = [0.0]
    limit = FailureLimit(failures=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limit.retry_after("10.0.0.2") == 0
        limit.failed("10.0.0.2")
    assert limit.retry_after("10.0.0.2") == 60
    assert limit.retry_after("10.0.0.3") == 0  # another address is not blocked
    now[0] = 59.0
    assert limit.retry_after("10.0.0.2") == pytest.approx(1.0)
    now[0] = 60.0
    assert limit.retry_after("10.0.0.2") == 0


def test_the_cookie_is_http_only_and_same_site_strict() -> None:
    header = cookie_header("pislm_web_8000", "t" * 24, secure=False)
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Secure" not in header
    assert "Secure" in cookie_header("pislm_web_8000", "t" * 24, secure=True)


def test_the_url_and_its_qr_code() -> None:
    assert base_urls("127.0.0.1", 8000) == ["http://127.0.0.1:8000/"]
    assert base_urls("::1", 8000) == ["http://[::1]:8000/"]
    url = with_token("http://192.168.1.20:8000/", "a" * 24)
    assert url.endswith("/?token=" + "a" * 24)
    qr = qr_text(url).splitlines()
    assert len(qr) > 10 and len({len(line) for line in qr}) == 1  # a square of half blocks
    assert set("".join(qr)) <= set(" ▀▄█") | {"\x1b", "[", "0", "m", ";", "3", "4", "7", "9"}


def test_print_url_makes_the_token_file_and_prints_it(tmp_path: Path) -> None:
    result = run_cli("web", "--print-url", "--port", "8123")
    assert result.returncode == 0, result.stderr
    found = re.search(r"http://127\.0\.0\.1:8123/\?token=([\w-]+)", result.stdout)
    assert found, result.stdout
    data = Path(os.environ["XDG_DATA_HOME"]) / "pislm" / "web-token"
    assert data.read_text().strip() == found.group(1) and mode(data) == 0o600


def test_bad_flags_are_refused_with_a_reason() -> None:
    result = run_cli("web", "--token", "abcdefghijklmnop", "--new-token")
    assert result.returncode == 2 and "--new-token" in result.stderr
    result = run_cli("web", "--max-sessions", "0")
    assert result.returncode == 2 and "--max-sessions" in result.stderr
    result = run_cli("web", "--token", "short")
    assert result.returncode == 2 and "16 to 128" in result.stderr


def test_the_systemd_unit_runs_pislm_web_with_the_same_flags() -> None:
    result = run_cli("web", "--print-systemd-unit", "--bind", "0.0.0.0", "--port", "8080")
    assert result.returncode == 0, result.stderr
    unit = result.stdout
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert "-m pislm_tui web" in exec_start and "--bind 0.0.0.0 --port 8080" in exec_start
    assert "token" not in exec_start
    assert "loginctl enable-linger" in unit and "WantedBy=default.target" in unit
    assert systemd_unit([]).count("[Service]") == 1


def test_our_page_loads_nothing_from_another_host() -> None:
    """textual-serve's own template links Google Fonts; ours links only this server's files,
    by relative address, and each of them is in the installed textual-serve."""
    theirs = (SERVE / "templates" / "app_index.html").read_text()
    assert "fonts.googleapis.com" in theirs  # why pislm ships its own
    ours = (TEMPLATES / "app_index.html").read_text()
    assert not re.search(r"https?://|[\"'(]//", ours), "an absolute address"
    for linked in re.findall(r'(?:href|src|url)\(?="?(static/[^")]+)', ours):
        assert (SERVE / linked).is_file(), linked


def test_the_relay_handles_every_message_textual_js_sends() -> None:
    """server._relay speaks textual.js's side of textual-serve's protocol: a newer textual.js
    that sent something else would fail here, not silently in a browser."""
    script = (SERVE / "static" / "js" / "textual.js").read_text()
    sent = set(re.findall(r'JSON\.stringify\(\["(\w+)"', script))
    assert sent == {"stdin", "resize", "ping", "focus", "blur"}
