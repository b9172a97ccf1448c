"""Resolve the server address the way the official ollama client does (`ollama._client._parse_host`),
without importing it: the ollama package costs ~0.4 s to import and the header needs the address
in the first frame. `tests/test_hosts.py` checks both agree on the client's own examples."""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from collections.abc import Mapping

DEFAULT_HOST = "http://127.0.0.1:11434"


def parse_host(host: str | None) -> str:
    host, port = host or "", 11434
    scheme, _, hostport = host.partition("://")
    if not hostport:
        scheme, hostport = "http", host
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443

    split = urllib.parse.urlsplit(f"{scheme}://{hostport}")
    host = split.hostname or "127.0.0.1"
    port = split.port or port

    try:
        if isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address):
            host = f"[{host}]"
    except ValueError:
        pass

    if path := split.path.strip("/"):
        return f"{scheme}://{host}:{port}/{path}"
    return f"{scheme}://{host}:{port}"


def host_from_env(environ: Mapping[str, str] | None = None) -> str:
    """`OLLAMA_HOST` resolved like the official client, else the default address."""
    env = os.environ if environ is None else environ
    return parse_host(env.get("OLLAMA_HOST"))


def openai_base_url(host: str) -> str:
    """The `/v1` base URL for an OpenAI-compatible server given either form of address."""
    url = host.rstrip("/")
    if "://" not in url:
        url = parse_host(url)
    return url if url.endswith("/v1") else f"{url}/v1"
