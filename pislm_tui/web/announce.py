"""What `pislm web` tells the person who started it: the address to open, with its token, as
text and as a QR code a phone's camera opens; and the systemd user unit that starts it at boot."""

from __future__ import annotations

import io
import ipaddress
import shlex
import socket
import sys
from collections.abc import Sequence
from typing import TextIO

import psutil
import segno

# Interfaces that are not the LAN a phone is on (containers, bridges, VPN-less tunnels).
_NOT_LAN = ("lo", "docker", "veth", "br-", "virbr", "cni", "flannel", "podman")


def loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses on interfaces that are up and not internal, eth/wlan first."""
    stats = psutil.net_if_stats()
    found: list[tuple[int, str]] = []
    for name, addresses in psutil.net_if_addrs().items():
        if name.startswith(_NOT_LAN) or not (name in stats and stats[name].isup):
            continue
        rank = 0 if name.startswith(("eth", "en", "wl")) else 1
        found.extend((rank, a.address) for a in addresses if a.family == socket.AF_INET)
    return [address for _, address in sorted(found)]


def base_urls(bind: str, port: int) -> list[str]:
    """Where browsers reach the server, best first."""
    if bind in ("0.0.0.0", "::", ""):
        hosts = lan_addresses() or ["127.0.0.1"]
    elif bind == "localhost":
        hosts = ["127.0.0.1"]
    else:
        hosts = [bind]
    return [f"http://{_host(h)}:{port}/" for h in hosts]


def with_token(url: str, token: str) -> str:
    return f"{url}?token={token}"


def qr_text(url: str) -> str:
    """The QR code of `url` in half-block characters (two rows of modules a line): light
    modules are drawn, as on a dark terminal; phone cameras read both ways."""
    out = io.StringIO()
    segno.make(url, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def announce(
    bind: str,
    port: int,
    token: str,
    limit: int,
    *,
    out: TextIO | None = None,
    show_token: bool | None = None,
) -> None:
    """The lines printed at start. The token is printed only to a terminal (not into a log such
    as the journal) unless `show_token` says otherwise."""
    out = out or sys.stdout
    show = out.isatty() if show_token is None else show_token
    urls = base_urls(bind, port)
    where = (
        "this machine only: from another device use an SSH tunnel, or --bind 0.0.0.0"
        if loopback(bind)
        else "every network of this machine: plain HTTP, see README 'From a phone'"
    )
    print(f"pislm web: serving on {urls[0]} ({where})", file=out)
    if show:
        print(f"Open: {with_token(urls[0], token)}", file=out)
        for url in urls[1:]:
            print(f"  or: {with_token(url, token)}", file=out)
        print(qr_text(with_token(urls[0], token)), end="", file=out)
    else:
        print("The address with its token: pislm web --print-url (same flags)", file=out)
    print(
        f"At most {limit} browser tab(s) at a time (--max-sessions). "
        "Ctrl+C stops the server and every tab's app.",
        file=out,
        flush=True,
    )


def print_url(bind: str, port: int, token: str, out: TextIO | None = None) -> None:
    """`pislm web --print-url`: the address with its token and its QR code, nothing served."""
    out = out or sys.stdout
    urls = base_urls(bind, port)
    for url in urls:
        print(with_token(url, token), file=out)
    print(qr_text(with_token(urls[0], token)), end="", file=out, flush=True)


def systemd_unit(argv: Sequence[str]) -> str:
    """A systemd user unit that runs `pislm web` with these arguments (the server's own flags
    and pislm's global ones), by the Python that runs this one."""
    command = shlex.join([sys.executable, "-m", "pislm_tui", "web", *argv])
    return f"""\
# pislm in a browser, started at boot. Save as ~/.config/systemd/user/pislm-web.service, then:
#   systemctl --user daemon-reload
#   systemctl --user enable --now pislm-web
#   sudo loginctl enable-linger "$USER"    # start at boot, without anyone logged in
# The address with its token: the same pislm web flags with --print-url
# The log: journalctl --user -u pislm-web
[Unit]
Description=pislm in a browser (pislm web)

[Service]
ExecStart={command}
# SIGTERM to the server only: it asks each tab's app to quit (a reply being saved), then ends
# what is left; systemd's SIGKILL to the rest comes only after TimeoutStopSec.
KillMode=mixed
TimeoutStopSec=30
Restart=on-failure

[Install]
WantedBy=default.target
"""
