"""Settings: one pydantic model. Precedence: defaults < config file < environment < flags.

File: `$XDG_CONFIG_HOME/pislm/config.toml` (optional, written only when the user saves a setting).
Environment: `OLLAMA_HOST`, and `PISLM_<KEY>` / `PISLM_<SECTION>__<KEY>` (e.g. `PISLM_MODEL`,
`PISLM_RAG__EMBED_MODEL`). Data lives in `$XDG_DATA_HOME/pislm/`.

A bad file never stops the app: each bad key is reported (with its line when it can be found)
and gets its default; a file that is not TOML at all is reported and ignored.

Why not pydantic-settings: it validates the layers once merged and raises, not knowing which
layer (or line) a bad value came from, so the per-layer, per-key report above (config_layers.py)
would stay as it is and only the ~30 lines that read the file and the environment would go;
importing it costs 25-35 ms more at every start (`python -X importtime`: about a tenth
of importing the app)."""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from pislm_tui.backend.hosts import DEFAULT_HOST, parse_host
from pislm_tui.config_layers import (
    ENV_PREFIX,
    deep_merge,
    drop_invalid,
    environment_layer,
    move_renamed_keys,
    read_file_layer,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ChatOptions(_Section):
    """Model options sent with each chat request; None means the model's own default."""

    temperature: float | None = Field(None, ge=0, le=2)
    top_k: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, ge=0, le=1)
    num_ctx: int | None = Field(None, ge=256)
    num_predict: int | None = Field(None, ge=-2)
    seed: int | None = None

    def to_request(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ChatSettings(_Section):
    system_prompt: str = ""
    options: ChatOptions = ChatOptions()
    keep_alive: str | None = None  # "5m", "1h", "-1" (forever), "0" (unload after each reply)
    think: bool | None = None  # None: the model's default
    # How often streamed text reaches the screen: each flush is a frame, and on a Pi busy running
    # the model frames are the app's main cost. 4 Hz still reads as live text.
    flush_hz: float = Field(4.0, ge=1, le=30)
    save_every_s: float = Field(2.0, gt=0)  # how often a growing reply is saved
    resume_last: bool = True  # reopen the most recent chat when the app starts


class MonitorSettings(_Section):
    interval: float = Field(1.0, ge=0.2, le=60)  # seconds between readings on the Monitor tab
    vcgencmd: str = "vcgencmd"  # command line; "" turns vcgencmd off
    vcgencmd_interval: float = Field(5.0, ge=1)  # vcgencmd and /api/ps are asked this often
    show_strip: bool = True  # the live strip (cores, temperature, RAM) in the status line
    # Over SSH the strip rests (keeps its last figures, dimmed; nothing is read or sent) after
    # this many seconds without a key or the mouse while no long work (a reply, pull, load, bench,
    # ingest, tool run: long_work.py) runs.
    # Any key wakes it. 0: never rest.
    strip_rest_after: float = Field(30.0, ge=0)
    top_processes: int = Field(12, ge=0, le=50)  # at most this many by CPU and by memory
    proc_root: str = "/proc"  # another machine's /proc and /sys, e.g. mounted into a container
    sys_root: str = "/sys"


class ModelsSettings(_Section):
    bench_prompt: str = "What is the capital of France?"
    bench_runs: int = Field(3, ge=1, le=50)
    bench_unload: bool = True  # unload each model before/after its runs: cold loads, no RAM fight
    # Each bench request stops after this many tokens (sent as num_predict): a model that does
    # not stop must not hold the bench for ever.
    bench_max_tokens: int = Field(256, ge=1, le=32768)
    bench_timeout: float = Field(300.0, gt=0)  # seconds for one bench request, a load included
    refresh_interval: float = Field(10.0, ge=2, le=600)  # re-read `ollama ps` while the tab shows
    # The server's OLLAMA_MAX_LOADED_MODELS (not visible from here): 3 on a machine without a GPU.
    # "Will it fit?" counts a model already loaded beyond it as one to unload first.
    max_loaded: int = Field(3, ge=1, le=64)


class RagSettings(_Section):
    embed_model: str = "nomic-embed-text"
    chroma_url: str | None = None  # a Chroma server (`chroma run`) instead of the local directory
    chunk_size: int = Field(1000, ge=100, le=20000)  # characters
    chunk_overlap: int = Field(150, ge=0)
    batch_size: int = Field(32, ge=1, le=1024)  # texts per /api/embed request
    top_k: int = Field(5, ge=1, le=50)
    model: str | None = None  # chat model for answers; None: the main model
    temperature: float = Field(0.0, ge=0, le=2)  # the lab's grounded-answer defaults
    sampling_top_k: int = Field(10, ge=1)
    top_p: float = Field(0.5, ge=0, le=1)
    max_file_mb: float = Field(20.0, gt=0)  # larger files are skipped when ingesting
    collection: str | None = None  # the collection the RAG tab opens on (the last one used)


class Location(_Section):
    name: str = "Santiago de Chile"
    lat: float = Field(-33.33, ge=-90, le=90)
    lon: float = Field(-70.51, ge=-180, le=180)


class ToolsSettings(_Section):
    model: str | None = None  # None: the main model
    vision_model: str = "llava-phi3:3.8b"
    mode: Literal["json", "json_schema"] = "json"
    max_retries: int = Field(10, ge=0, le=50)
    # Seconds for one question (every retry included), and for a photo's description: past it
    # the user is told what to try instead of watching "Asking…" for ever.
    timeout: float = Field(300.0, gt=0)
    units: Literal["km", "mi"] = "km"
    location: Location = Location()
    max_rounds: int = Field(5, ge=1, le=20)


class McpServerSettings(_Section):
    """One MCP server: `command` (+ `args`, `env`) runs it over stdio, or `url` reaches it over
    streamable HTTP. `trust` names its tools that run without asking."""

    command: str | None = None
    args: list[str] = []
    env: dict[str, str] = {}
    url: str | None = None
    trust: list[str] = []
    enabled: bool = True

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if bool(self.command) == bool(self.url):
            raise ValueError("give either command (stdio) or url (streamable HTTP)")
        return self


class McpSettings(_Section):
    servers: dict[str, McpServerSettings] = {}
    call_timeout: float = Field(30.0, gt=0)  # seconds for one tool call
    start_timeout: float = Field(20.0, gt=0)  # seconds for a server to start and list its tools


class DisplaySettings(_Section):
    # The output layers (pislm_tui/textual_compat): partial updates rendered from the rows that
    # changed, and only changed cells sent to the terminal. Off: Textual's own output (the same
    # screen, more CPU and bytes). They also stay off on a Textual pislm was not verified with.
    fast_output: bool = True
    # A run of one character (a code block's background, a table's rule) sent once and repeated
    # by the terminal (REP), once the terminal has shown it can (repeat_probe.py: asked with the
    # first frame; terminfo cannot tell, mosh and tmux answer to xterm-256color).
    repeat_characters: bool = True


class HostSettings(_Section):
    """One named machine (`[hosts.NAME]`): its server, and how to reach its shell for the
    Monitor (`ssh` is a destination as the system ssh client takes it, e.g. "pi@pi5.local")."""

    url: str = DEFAULT_HOST
    api: Literal["ollama", "openai"] = "ollama"
    api_key: str | None = None
    ssh: str | None = None
    ssh_args: list[str] = []  # extra ssh arguments, e.g. ["-p", "2222", "-i", "~/.ssh/pi"]
    # How the Monitor reads the machine: "auto" (pislm there if installed, else a shell script),
    # "pislm" (`pislm monitor --json` there) or "shell" (nothing installed there).
    monitor_via: Literal["auto", "pislm", "shell"] = "auto"


class Settings(_Section):
    host: str = DEFAULT_HOST  # a URL, or the name of one of `hosts`
    api: Literal["ollama", "openai"] = "ollama"
    api_key: str | None = None
    model: str | None = None  # the chat model; None: the first installed one
    theme: str = "pislm-dark"
    ssh: bool | None = None  # None: detect from SSH_CONNECTION / SSH_TTY
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(120.0, gt=0)  # longest silence accepted while a model loads/answers
    health_interval: float = Field(15.0, ge=1)  # re-check of a connected server
    health_backoff_max: float = Field(10.0, ge=0.5)  # longest wait between retries when down
    keys: dict[str, str] = {}  # binding id -> key(s), e.g. {"app.tab_chat" = "f2"}
    hosts: dict[str, HostSettings] = {}  # named machines, [hosts.NAME]
    display: DisplaySettings = DisplaySettings()
    chat: ChatSettings = ChatSettings()
    monitor: MonitorSettings = MonitorSettings()
    models: ModelsSettings = ModelsSettings()
    rag: RagSettings = RagSettings()
    tools: ToolsSettings = ToolsSettings()
    mcp: McpSettings = McpSettings()

    @field_validator("host")
    @classmethod
    def _resolve_host(cls, value: str) -> str:
        return value.strip() or DEFAULT_HOST


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Paths:
        env = os.environ if environ is None else environ
        home = Path(env.get("HOME") or Path.home())
        config_home = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
        return cls(config_dir=config_home / "pislm", data_dir=data_home / "pislm")

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def themes_dir(self) -> Path:
        return self.config_dir / "themes"

    @property
    def sessions_db(self) -> Path:
        return self.data_dir / "sessions.db"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def bench_dir(self) -> Path:
        return self.data_dir / "bench"

    @property
    def bench_db(self) -> Path:
        """Every bench run, for comparisons with history (models.bench_history)."""
        return self.data_dir / "bench.db"

    @property
    def last_models(self) -> Path:
        """The model last used with each server (models.choice.LastUsedModels)."""
        return self.data_dir / "last-models.json"


@dataclass
class LoadedSettings:
    settings: Settings
    paths: Paths
    config_file: Path
    warnings: list[str]
    host_name: str | None = None  # the `[hosts.NAME]` in use, None for a plain address


def load_settings(
    *,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LoadedSettings:
    """Build the settings from defaults, the file, the environment and flag overrides (a nested
    dict, e.g. {"host": ..., "chat": {"system_prompt": ...}}), reporting every problem."""
    env = os.environ if environ is None else environ
    paths = Paths.from_env(env)
    path = Path(config_file or env.get(f"{ENV_PREFIX}CONFIG") or paths.config_file).expanduser()
    warnings: list[str] = []

    file_data, text = read_file_layer(path, warnings)
    layers = [
        (file_data, f"{path}", text),
        (environment_layer(env), "environment", None),
        (dict(overrides or {}), "command line", None),
    ]
    merged: dict[str, Any] = {}
    for data, origin, source_text in layers:
        data = move_renamed_keys(data, origin, source_text, warnings)
        good = drop_invalid(Settings, data, origin, source_text, warnings)
        deep_merge(merged, good)

    settings = Settings.model_validate(merged)
    host_name = use_named_host(settings, settings.host)
    if settings.api == "ollama":
        settings.host = parse_host(settings.host)
    return LoadedSettings(
        settings=settings, paths=paths, config_file=path, warnings=warnings, host_name=host_name
    )


def use_named_host(settings: Settings, wanted: str) -> str | None:
    """Point `settings` at `wanted` when it names one of `settings.hosts` (its url, api and key);
    a plain address that is some named host's url gets that name. Returns the name or None."""
    named = settings.hosts.get(wanted)
    if named is not None:
        settings.host, settings.api, settings.api_key = named.url, named.api, named.api_key
        return wanted
    for name, host in settings.hosts.items():
        if host.url.rstrip("/") == wanted.rstrip("/") or (
            host.api == "ollama"
            and settings.api == "ollama"
            and parse_host(host.url) == parse_host(wanted)
        ):
            return name
    return None


def save_settings(config_file: Path, updates: Mapping[str, Any]) -> None:
    """Merge `updates` (a nested dict) into the config file and write it atomically.
    Keys of an unreadable file are kept out of the new one rather than guessed at."""
    import tomli_w

    data: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        data = tomllib.loads(config_file.read_text(encoding="utf-8"))
    deep_merge(data, updates)
    config_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = config_file.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(_without_none(data)), encoding="utf-8")
    tmp.replace(config_file)


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: _without_none(v) if isinstance(v, Mapping) else v
        for k, v in data.items()
        if v is not None
    }
