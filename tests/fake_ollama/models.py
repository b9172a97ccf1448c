"""Model catalogue of the fake server: `FakeModel`, the lab's Pi models and the pull registry.

Everything here is deterministic (digests and dates derive from the model name) so that two
runs of a test or a benchmark see byte-identical `/api/tags` answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

# Names of the capabilities Ollama reports in /api/show (types/model/capability.go).
CAPABILITIES = ("completion", "tools", "insert", "vision", "embedding", "thinking")

_LICENSE = (
    "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\nLlama 3.2 Version Release Date: September 25, 2024"
)
_REGISTRY_HOST = "registry.ollama.ai"


def normalize_name(name: str) -> str:
    """Ollama's short display name: `x` -> `x:latest`, `library/x:t` -> `x:t`.

    Case is kept (the caller matches case-insensitively, like `getExistingName`).
    """
    name = name.strip()
    for prefix in (f"{_REGISTRY_HOST}/", "library/"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    return name


def full_name(name: str) -> str:
    """`registry.ollama.ai/library/x:latest`, the form used in the "does not support tools" text."""
    short = normalize_name(name)
    if "/" not in short:
        short = f"library/{short}"
    return f"{_REGISTRY_HOST}/{short}"


def namespace_of(name: str) -> str:
    """`library` for official models, else the user namespace (OpenAI `owned_by`)."""
    short = normalize_name(name)
    return short.split("/", 1)[0] if "/" in short else "library"


def format_go_time(dt: datetime, nanos: int | None = None) -> str:
    """Format like Go's `time.RFC3339Nano`: up to 9 fraction digits, trailing zeros trimmed,
    `Z` for a zero offset, `±hh:mm` otherwise."""
    ns = dt.microsecond * 1000 if nanos is None else nanos
    frac = f"{ns:09d}".rstrip("0")
    base = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "")
    offset = dt.utcoffset() or timedelta(0)
    if offset == timedelta(0):
        return base + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{base}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def now_local_go(epoch_ns: int) -> str:
    """An epoch (ns) as local time with offset, as Ollama writes `modified_at`/`expires_at`."""
    dt = datetime.fromtimestamp(epoch_ns // 1_000_000_000).astimezone()
    return format_go_time(dt, epoch_ns % 1_000_000_000)


def now_utc_go(epoch_ns: int) -> str:
    """An epoch (ns) in UTC with `Z`, as Ollama writes `created_at`."""
    dt = datetime.fromtimestamp(epoch_ns // 1_000_000_000, tz=UTC)
    return format_go_time(dt, epoch_ns % 1_000_000_000)


def parse_go_time(text: str) -> datetime:
    """Inverse of `format_go_time` (fraction truncated to microseconds)."""
    text = text.replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{(digits + '000000')[:6]}{zone}"
    return datetime.fromisoformat(text)


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


_PDT = timezone(timedelta(hours=-7))
_BASE_DATE = datetime(2025, 5, 4, 17, 37, 44, tzinfo=_PDT)


def _default_modified_at(name: str) -> str:
    h = int(_hex("modified:" + name)[:12], 16)
    dt = _BASE_DATE - timedelta(days=h % 180, seconds=(h >> 8) % 86_400)
    return format_go_time(dt, 100_000_000 + h % 899_999_999)


@dataclass
class FakeModel:
    """One model as the fake server reports it (tags, show, ps) and simulates it (metrics)."""

    name: str
    size: int
    family: str = "llama"
    parameter_size: str = "1.2B"
    quantization: str = "Q8_0"
    format: str = "gguf"
    capabilities: list[str] = field(default_factory=lambda: ["completion"])
    context_length: int = 131072
    embedding_length: int | None = None
    license: str = _LICENSE
    template: str = "{{ .Prompt }}"
    parameters: str = 'stop "<|eot_id|>"'
    modified_at: str = ""  # filled deterministically from the name when empty
    digest: str = ""  # 64 hex, filled deterministically from the name when empty
    eval_rate: float = 9.0
    prompt_eval_rate: float = 60.0
    load_ns: int = 1_500_000_000
    vram: int = 0
    # Addition to the brief: `details.families`; None -> [family] (+ "clip" for vision models).
    families: list[str] | None = None
    # A cloud entry (Ollama's `remote_host`/`remote_model` in /api/tags); empty for local models.
    remote_host: str = ""
    remote_model: str = ""
    # Listed but not runnable here: chat/generate answer 500 with this text (see catalogues.py).
    unavailable: str = ""
    # List `capabilities` in /api/tags too, as newer servers may (otherwise only /api/show).
    list_capabilities: bool = False
    # Structured answers (`format`) are broken JSON while the conversation has fewer assistant
    # turns than this (a model that needs K instructor retries; a large K: never valid).
    bad_json: int = 0
    # Asked with a tool whose parameters are lat1/lon1/lat2/lon2 and a question giving two
    # "latitude X, longitude Y" points, the model calls it with them (as a capable model does).
    calls_tools: bool = False
    # The attention figures /api/show's model_info gives (`<arch>.block_count`,
    # `.embedding_length`, `.attention.head_count`, `.attention.head_count_kv`, and
    # `.attention.key_length`/`.value_length` when the model sets a head size): (block_count,
    # embedding_length, head_count, head_count_kv, head size or None), from each tag's GGUF.
    attention: tuple[int, int, int, int, int | None] | None = None

    def __post_init__(self) -> None:
        self.name = normalize_name(self.name)
        bad = set(self.capabilities) - set(CAPABILITIES)
        if bad:
            raise ValueError(f"unknown capabilities {sorted(bad)}")
        if not self.digest:
            self.digest = _hex("digest:" + self.name)
        if not self.modified_at:
            self.modified_at = _default_modified_at(self.name)
        if self.families is None:
            self.families = [self.family] + (["clip"] if "vision" in self.capabilities else [])

    # -- derived views -------------------------------------------------------------------
    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def architecture(self) -> str:
        return self.family

    def details(self) -> dict:
        """The `details` object of /api/tags, /api/ps and /api/show (all keys always present)."""
        return {
            "parent_model": "",
            "format": self.format,
            "family": self.family,
            "families": list(self.families or [self.family]),
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }

    def parameter_count(self) -> int:
        text = self.parameter_size.upper().rstrip("B")
        scale = 1_000_000_000
        if text.endswith("M"):
            text, scale = text[:-1], 1_000_000
        try:
            return int(float(text) * scale)
        except ValueError:
            return 0

    def modified_epoch(self) -> int:
        return int(parse_go_time(self.modified_at).timestamp())

    def layers(self) -> list[tuple[str, int]]:
        """(digest with `sha256:` prefix, size) per blob, as a pull reports them.

        Embedding models have 2 layers (weights, params), the others 3 (weights, license,
        params); the sizes add up to `size`.
        """
        extra = (
            [("license", 7_711), ("params", 96)] if not self.has("embedding") else [("params", 21)]
        )
        weights = max(1, self.size - sum(n for _, n in extra))
        parts = [("model", weights), *extra]
        return [(f"sha256:{_hex(f'layer:{self.name}:{role}')}", n) for role, n in parts]

    def with_name(self, name: str) -> FakeModel:
        """A copy under another name (for /api/copy), same digest like a real copy."""
        from dataclasses import replace

        return replace(self, name=normalize_name(name), families=list(self.families or []))


def _default_models() -> list[FakeModel]:
    # Sizes are the real `ollama list` sizes of these tags (rounded); rates are what a Pi 5
    # (8 GB, CPU only) roughly achieves, which is what the benchmarks want to reproduce.
    return [
        FakeModel(
            "llama3.2:1b", 1_321_098_329, "llama", "1.2B", "Q8_0",
            capabilities=["completion", "tools"], context_length=131072, eval_rate=9.0, prompt_eval_rate=60.0,
            load_ns=1_500_000_000, modified_at="2025-05-04T17:37:44.706015396-07:00",
            attention=(16, 2048, 32, 8, 64),
        ),
        FakeModel(
            "llama3.2:3b", 2_019_393_189, "llama", "3.2B", "Q4_K_M",
            capabilities=["completion", "tools"], context_length=131072, eval_rate=5.0, prompt_eval_rate=25.0,
            load_ns=2_600_000_000, modified_at="2025-05-03T09:12:05.118230442-07:00",
            attention=(28, 3072, 24, 8, 128),
        ),
        FakeModel(
            "gemma2:2b", 1_629_518_495, "gemma2", "2.6B", "Q4_0",
            capabilities=["completion"], context_length=8192, template="<start_of_turn>user\n{{ .Prompt }}<end_of_turn>",
            parameters='stop "<start_of_turn>"\nstop "<end_of_turn>"',
            license="Gemma Terms of Use", eval_rate=5.0, prompt_eval_rate=22.0,
            load_ns=2_200_000_000, modified_at="2025-04-28T21:03:51.55211936-07:00",
            attention=(26, 2304, 8, 4, 256),
        ),
        FakeModel(
            "phi3.5:latest", 2_176_178_913, "phi3", "3.8B", "Q4_0",
            capabilities=["completion"], context_length=131072, parameters='stop "<|end|>"\nstop "<|user|>"',
            license="MIT License", eval_rate=2.0, prompt_eval_rate=12.0,
            load_ns=3_100_000_000, modified_at="2025-04-20T14:44:10.9001-07:00",
            attention=(32, 3072, 32, 32, None),
        ),
        FakeModel(
            "llava-phi3:3.8b", 2_926_625_540, "llama", "4B", "Q4_K_M",
            capabilities=["completion", "vision"], context_length=4096, parameters='stop "<|end|>"\nnum_keep 4',
            license="MIT License", eval_rate=2.5, prompt_eval_rate=10.0,
            load_ns=3_800_000_000, modified_at="2025-04-11T08:30:00.25-07:00",
            attention=(32, 3072, 32, 32, None),
        ),
        FakeModel(
            "nomic-embed-text:latest", 274_302_450, "nomic-bert", "137M", "F16",
            capabilities=["embedding"], context_length=2048, embedding_length=768, template="", parameters="num_ctx 8192",
            license="Apache License 2.0", eval_rate=0.0, prompt_eval_rate=450.0,
            load_ns=600_000_000, modified_at="2025-03-30T19:55:21.661372-07:00",
            attention=(12, 768, 12, 12, None),
        ),
        FakeModel(
            "qwen3:1.7b", 1_359_293_440, "qwen3", "2.0B", "Q4_K_M",
            capabilities=["completion", "tools", "thinking"], context_length=40960,
            parameters='repeat_penalty 1\nstop "<|im_start|>"\nstop "<|im_end|>"\ntemperature 0.6',
            license="Apache License 2.0", eval_rate=7.0, prompt_eval_rate=45.0,
            load_ns=1_700_000_000, modified_at="2025-05-01T11:22:33.444555666-07:00",
            attention=(28, 2048, 16, 8, 128),
        ),
    ]  # fmt: skip


DEFAULT_MODELS: list[FakeModel] = _default_models()


def default_registry() -> dict[str, FakeModel]:
    """Names `/api/pull` can fetch: every default model plus a few small extras."""
    extras = [
        FakeModel(
            "tinyllama:latest", 637_700_138, "llama", "1B", "Q4_0", capabilities=["completion"], context_length=2048,
            eval_rate=12.0, prompt_eval_rate=80.0, load_ns=900_000_000,
            attention=(22, 2048, 32, 4, None),
        ),
        FakeModel(
            "all-minilm:latest", 45_960_996, "bert", "23M", "F16", capabilities=["embedding"], context_length=512,
            embedding_length=384, template="", parameters="", license="Apache License 2.0",
            eval_rate=0.0, prompt_eval_rate=900.0, load_ns=200_000_000,
            attention=(6, 384, 12, 12, None),
        ),
        FakeModel(
            "qwen2.5:0.5b", 397_821_319, "qwen2", "494.03M", "Q4_K_M", capabilities=["completion", "tools"],
            context_length=32768, license="Apache License 2.0", eval_rate=18.0, prompt_eval_rate=120.0,
            load_ns=700_000_000,
            attention=(24, 896, 14, 2, None),
        ),
        FakeModel(
            "moondream:latest", 1_738_451_197, "phi2", "1B", "Q4_0", capabilities=["completion", "vision"],
            context_length=2048, license="Apache License 2.0", eval_rate=4.0, prompt_eval_rate=20.0,
            load_ns=2_000_000_000,
            attention=(24, 2048, 32, 32, None),
        ),
    ]  # fmt: skip
    return {m.name: m for m in [*_default_models(), *extras]}


def find(models: dict[str, FakeModel], name: str) -> FakeModel | None:
    """Case-insensitive lookup by (normalised) name, like Ollama's `getExistingName`."""
    if not isinstance(name, str) or not name.strip():
        return None
    hit = models.get(normalize_name(name))
    if hit is not None:
        return hit
    key = normalize_name(name).lower()
    for m in models.values():
        if m.name.lower() == key:
            return m
    return None
