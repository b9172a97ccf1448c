"""Model lists of servers that are not a stock Ollama with only local models, as met in issue 12.
Each function returns `FakeModel`s to give to `FakeOllama(models=...)` (or `add_model`):

* `embedding_listed_first()`: an embedding-only model is the newest, so /api/tags lists it first,
  and its listing does not give it away (no family in `details`, the way servers that wrap other
  engines answer); only /api/show's `capabilities` say `embedding`. A chat to it gets Ollama's
  400 `"all-minilm:latest" does not support chat`.
* `cloud_entry()`: an Ollama cloud model, listed with `remote_host`/`remote_model` and a tiny
  size (only a manifest is stored); this server cannot run it (chat: 500).
* `size_zero_entry()`: an entry with size 0 and no remote fields (`openai/gpt-4o` on the server
  of issue 12); chat: 500.
* `without_digests(models)`: copies whose digest is all zeros (`sha256:000…`), the way a server
  without real blobs fills the field.

All are newer than the default models, so they come first in /api/tags."""

from __future__ import annotations

from dataclasses import replace

from .models import DEFAULT_MODELS, FakeModel

NEWEST = "2025-06-01T09:00:00.5-07:00"  # later than every default model's date
ZERO_DIGEST = "sha256:" + "0" * 64
UNAVAILABLE = "this server cannot run the model"


def embedding_listed_first() -> list[FakeModel]:
    """all-minilm (embedding only, no family listed) first, then the default models."""
    embedder = FakeModel(
        "all-minilm:latest", 45_960_996, "", "23M", "F16", capabilities=["embedding"],
        context_length=512, embedding_length=384, template="", parameters="",
        license="Apache License 2.0", eval_rate=0.0, prompt_eval_rate=900.0,
        load_ns=200_000_000, modified_at=NEWEST, families=[],
    )  # fmt: skip
    return [embedder, *_defaults()]


def cloud_entry(name: str = "gpt-oss:120b-cloud") -> FakeModel:
    """An Ollama cloud model: `remote_host`/`remote_model` set, a manifest-sized `size`."""
    return FakeModel(
        name, 384, "gptoss", "116.8B", "MXFP4", capabilities=["completion", "tools", "thinking"],
        remote_host="https://ollama.com:443", remote_model=name.removesuffix("-cloud"),
        unavailable=UNAVAILABLE, modified_at=NEWEST,
    )  # fmt: skip


def size_zero_entry(name: str = "openai/gpt-4o") -> FakeModel:
    """A listed entry with size 0 and nothing to run behind it; /api/show still says it chats."""
    return FakeModel(
        name, 0, "", "", "", capabilities=["completion"], unavailable=UNAVAILABLE,
        modified_at=NEWEST, families=[],
    )  # fmt: skip


def without_digests(models: list[FakeModel] | None = None) -> list[FakeModel]:
    """Copies of `models` (default: the default models) whose digest is all zeros."""
    return [replace(m, digest=ZERO_DIGEST) for m in (models or _defaults())]


def _defaults() -> list[FakeModel]:
    return [replace(m, families=list(m.families or [])) for m in DEFAULT_MODELS]
