"""Named hosts: `[hosts.NAME]` in the config (url, api, api_key, ssh, ssh_args) as `Host`
records, and the settings a backend for one of them is made from.

The host in use when none is named (a plain `--host URL`, `OLLAMA_HOST`, the default) is a
`Host` too, with an empty name: the app and the CLI treat every host alike."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pislm_tui.backend.errors import UsageError
from pislm_tui.backend.hosts import parse_host
from pislm_tui.config import HostSettings, Settings

LOCAL_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", ""}


@dataclass(frozen=True, slots=True)
class Host:
    name: str  # "" for an address given without a name
    url: str
    api: str = "ollama"
    api_key: str | None = None
    ssh: str | None = None  # an ssh destination ("pi@pi5.local"), None: no shell access
    ssh_args: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name, else the address without its scheme."""
        return self.name or self.url.split("://", 1)[-1]

    @property
    def machine(self) -> str:
        """The host part of the server's address."""
        return urlsplit(self.url if "://" in self.url else f"http://{self.url}").hostname or ""

    @property
    def local(self) -> bool:
        """The server runs on this machine (its own figures are the server's)."""
        return self.machine in LOCAL_NAMES

    @classmethod
    def from_settings(cls, name: str, host: HostSettings) -> Host:
        url = parse_host(host.url) if host.api == "ollama" else host.url
        return cls(name, url, host.api, host.api_key, host.ssh or None, tuple(host.ssh_args))


def named_hosts(settings: Settings) -> list[Host]:
    """The config's `[hosts.NAME]`, in the file's order."""
    return [Host.from_settings(name, h) for name, h in settings.hosts.items()]


def current_host(settings: Settings, name: str | None) -> Host:
    """The host the settings point at now (`name` as `LoadedSettings.host_name` found it)."""
    if name and name in settings.hosts:
        return Host.from_settings(name, settings.hosts[name])
    return Host("", settings.host, settings.api, settings.api_key)


def find_host(settings: Settings, wanted: str) -> Host:
    """A named host, or an address as a host without a name."""
    if wanted in settings.hosts:
        return Host.from_settings(wanted, settings.hosts[wanted])
    if "://" in wanted or ":" in wanted:
        return Host("", parse_host(wanted) if settings.api == "ollama" else wanted, settings.api)
    known = ", ".join(settings.hosts) or "none configured"
    raise UsageError(
        f"no host named {wanted!r} (known: {known})",
        "add it to the config as [hosts.NAME] with url = ..., or give a URL",
    )


def pick_hosts(settings: Settings, spec: str) -> list[Host]:
    """`--hosts all` or `--hosts a,b,URL` as hosts, in the order given."""
    if spec.strip() == "all":
        hosts = named_hosts(settings)
        if not hosts:
            raise UsageError(
                "--hosts all: no [hosts.NAME] in the config",
                "add [hosts.NAME] tables with url = ... (see the README, Several machines)",
            )
        return hosts
    names = [part.strip() for part in spec.split(",") if part.strip()]
    if not names:
        raise UsageError("--hosts needs names: --hosts pi5,jetson or --hosts all")
    return [find_host(settings, name) for name in names]


def settings_for(settings: Settings, host: Host) -> Settings:
    """A copy of `settings` whose server is `host` (what `make_backend` takes)."""
    return settings.model_copy(update={"host": host.url, "api": host.api, "api_key": host.api_key})
