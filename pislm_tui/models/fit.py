"""Will it fit? Before a model loads: the memory it needs (its weights, its KV cache for the
context in use and llama.cpp's compute buffer) against the RAM available now, what is already
loaded, the swap and `OLLAMA_MAX_LOADED_MODELS`. An 8 GB Pi that swaps to an SD card slows to a
crawl, so the verdict says so before the load, not after.

The KV cache follows Ollama's own estimate (fs/ggml/ggml.go, `GraphSize`), which is llama.cpp's
cache layout: per layer, K and V for every token of the context,

    kv_bytes = block_count x num_ctx x head_count_kv x (key_length + value_length) x 2   (f16)

with key/value_length = embedding_length / head_count where the model does not give them. The
compute buffer is Ollama's llama-path graph size, max(4 x batch x (1 + 4 x embedding + num_ctx x
(1 + heads)), 4 x batch x (embedding + vocabulary)), batch 512; the second term only where
model_info gives `<arch>.vocab_size` (the token list is not in /api/show without `verbose`). Weights: the model's file size. README.md compares the result with `/api/ps`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pislm_tui.backend.types import LoadedModel
from pislm_tui.sizes import decimal_bytes

if TYPE_CHECKING:
    from pislm_tui.monitor.types import Sample

DEFAULT_NUM_CTX = 4096  # Ollama's default context when the request sets none
DEFAULT_MAX_LOADED = 3  # OLLAMA_MAX_LOADED_MODELS on a machine without a GPU
BATCH = 512  # llama.cpp's default n_batch (Ollama's num_batch)
F16_BYTES = 2  # the KV cache's element type by default (OLLAMA_KV_CACHE_TYPE unset)
Verdict = Literal["fits", "evict", "swap", "no", "unknown"]


@dataclass(frozen=True, slots=True)
class Shape:
    """The figures of a model's attention that its memory depends on (/api/show model_info)."""

    architecture: str
    block_count: int
    embedding_length: int
    head_count: int
    head_count_kv: int
    key_length: int
    value_length: int
    vocab_size: int | None = None  # `<arch>.vocab_size` where the model gives it

    @classmethod
    def of(cls, model_info: Mapping[str, Any]) -> Shape | None:
        """From model_info, or None when it lacks the figures (an old server, a cloud model)."""
        arch = model_info.get("general.architecture")
        if not isinstance(arch, str):
            return None

        def num(key: str) -> int | None:
            value = model_info.get(f"{arch}.{key}")
            if isinstance(value, list):  # per-layer counts (some models): the largest
                value = max((v for v in value if isinstance(v, int)), default=None)
            return value if isinstance(value, int) and value > 0 else None

        blocks, embd = num("block_count"), num("embedding_length")
        heads = num("attention.head_count")
        if blocks is None or embd is None or heads is None:
            return None
        head_dim = embd // heads
        return cls(
            architecture=arch,
            block_count=blocks,
            embedding_length=embd,
            head_count=heads,
            head_count_kv=num("attention.head_count_kv") or heads,
            key_length=num("attention.key_length") or head_dim,
            value_length=num("attention.value_length") or head_dim,
            vocab_size=num("vocab_size"),
        )

    def kv_cache_bytes(self, num_ctx: int) -> int:
        per_token_layer = self.head_count_kv * (self.key_length + self.value_length) * F16_BYTES
        return self.block_count * num_ctx * per_token_layer

    def compute_bytes(self, num_ctx: int) -> int:
        attention = 4 * BATCH * (1 + 4 * self.embedding_length + num_ctx * (1 + self.head_count))
        if self.vocab_size is None:
            return attention
        return max(attention, 4 * BATCH * (self.embedding_length + self.vocab_size))


@dataclass(frozen=True, slots=True)
class Need:
    model: str
    weights: int
    kv_cache: int | None  # None: the shape is unknown (the weights alone are counted)
    compute: int | None
    num_ctx: int

    @property
    def total(self) -> int:
        return self.weights + (self.kv_cache or 0) + (self.compute or 0)


def estimate(model: str, size: int, model_info: Mapping[str, Any], num_ctx: int) -> Need:
    shape = Shape.of(model_info)
    if shape is None:
        return Need(model, size, None, None, num_ctx)
    return Need(model, size, shape.kv_cache_bytes(num_ctx), shape.compute_bytes(num_ctx), num_ctx)


@dataclass(frozen=True, slots=True)
class Fit:
    need: Need
    verdict: Verdict
    evict: tuple[str, ...] = ()  # loaded models Ollama would unload first
    available: int | None = None  # RAM available now
    swap_free: int | None = None
    why: str = ""  # for "unknown": why the memory could not be compared
    fastest: bool = False  # "pick for me": the fastest installed model that fits
    notes: tuple[str, ...] = field(default=())

    def line(self) -> str:
        """The one-line verdict for the Models details and before a load."""
        need = f"~{decimal_bytes(self.need.total)} at num_ctx {self.need.num_ctx:,}"
        free = decimal_bytes(self.available)
        if self.verdict == "fits":
            text = f"fits: {need}, {free} free"
        elif self.verdict == "evict":
            text = f"fits by unloading {', '.join(self.evict)}: {need}"
        elif self.verdict == "swap":
            text = f"will swap (slow on SD): {need}, {free} free"
        elif self.verdict == "no":
            total = (self.available or 0) + (self.swap_free or 0)
            text = f"will not fit: {need}, {decimal_bytes(total)} free with swap"
        else:
            text = f"unknown ({self.why}): {need}"
        return text + (" · ★ fastest that fits" if self.fastest else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.need.model,
            "fit": self.verdict,
            "need_bytes": self.need.total,
            "weights_bytes": self.need.weights,
            "kv_cache_bytes": self.need.kv_cache,
            "compute_bytes": self.need.compute,
            "num_ctx": self.need.num_ctx,
            "evict": list(self.evict),
            "available_bytes": self.available,
            "swap_free_bytes": self.swap_free,
            "unknown_reason": self.why or None,
            "pick": self.fastest,
        }


def judge(
    need: Need,
    *,
    available: int | None,
    swap_free: int | None,
    loaded: Sequence[LoadedModel] = (),
    max_loaded: int = DEFAULT_MAX_LOADED,
    why_unknown: str = "RAM not measured",
) -> Fit:
    """fits / evict (names) / swap / no, as Ollama's scheduler would meet it on a CPU machine:
    a model already loaded fits; a new one needs a free slot (`max_loaded`) and the RAM, and
    Ollama unloads idle models (largest first here: the fewest to name) to make room."""
    if any(m.name == need.model for m in loaded):
        return Fit(need, "fits", available=available, swap_free=swap_free, notes=("loaded",))
    if available is None:
        return Fit(need, "unknown", why=why_unknown)
    others = sorted(loaded, key=lambda m: m.size or 0, reverse=True)
    evict: list[str] = []
    room = available
    # A full set of loaded models: one must go whatever the RAM says.
    while others and (len(loaded) - len(evict) >= max_loaded or need.total > room):
        gone = others.pop(0)
        evict.append(gone.name)
        room += gone.size or 0
    swap = swap_free or 0
    if need.total <= room:
        verdict: Verdict = "evict" if evict else "fits"
        return Fit(need, verdict, tuple(evict), available, swap_free)
    if need.total <= room + swap:
        return Fit(need, "swap", tuple(evict), available, swap_free)
    return Fit(need, "no", tuple(evict), available, swap_free)


REMOTE = "the server runs on another machine"


def judge_against(
    need: Need,
    memory: Sample | None,
    *,
    local: bool,
    loaded: Sequence[LoadedModel] = (),
    max_loaded: int = DEFAULT_MAX_LOADED,
) -> Fit:
    """`judge` against a monitor reading of this machine. Only a server on this machine is
    judged by this machine's memory; for another, or without a RAM reading, the verdict is
    "unknown", with why."""
    if not local:
        return judge(need, available=None, swap_free=None, why_unknown=REMOTE)
    if memory is None or memory.ram is None:
        why = memory.why("ram") if memory is not None else "reading the memory…"
        return judge(need, available=None, swap_free=None, why_unknown=why)
    return judge(
        need,
        available=memory.ram.available,
        swap_free=memory.swap.available if memory.swap else None,
        loaded=loaded,
        max_loaded=max_loaded,
    )
