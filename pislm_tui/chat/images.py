"""Images attached to a prompt: read, checked and described before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pislm_tui.backend.errors import UsageError

# Ollama's vision models take these; checked by magic bytes, not by file name.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"WEBP", 8, "WebP"),
    (b"BM", 0, "BMP"),
)
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def image_kind(data: bytes) -> str | None:
    for magic, offset, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            if kind == "WebP" and data[:4] != b"RIFF":
                continue
            return kind
    return None


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


@dataclass(frozen=True)
class ImageAttachment:
    path: Path
    data: bytes
    kind: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def label(self) -> str:
        """What a chip shows: `photo.jpg · 1.2 MB`."""
        return f"{self.name} · {human_size(self.size)}"


def load_image(path: str | Path) -> ImageAttachment:
    """Read an image file; a missing file, a directory, an unreadable or non-image file raises
    `UsageError` with a message that says which and what to do."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"no such file: {p}", "check the path")
    if p.is_dir():
        raise UsageError(f"{p} is a folder, not an image")
    try:
        size = p.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise UsageError(
                f"{p.name} is {human_size(size)}; images up to {human_size(MAX_IMAGE_BYTES)} are sent",
                "scale it down first",
            )
        data = p.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {p}: {exc.strerror or exc}") from None
    kind = image_kind(data)
    if kind is None:
        raise UsageError(
            f"{p.name} is not an image (PNG, JPEG, GIF, WebP or BMP)", "attach a picture file"
        )
    return ImageAttachment(path=p, data=data, kind=kind)


IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})


def looks_like_image(path: Path) -> bool:
    """By name only (for listings); `load_image` checks the bytes."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def complete_path(text: str) -> str | None:
    """`text` completed to the first folder or image file that starts with it (folders end in
    `/`), keeping a leading `~`; None when nothing matches. Hidden entries only when asked for."""
    if not text:
        return None
    expanded = Path(text).expanduser()
    folder, stem = (expanded, "") if text.endswith("/") else (expanded.parent, expanded.name)
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return None
    for exact_case in (True, False):
        for entry in entries:
            name = entry.name
            if name.startswith(".") and not stem.startswith("."):
                continue
            matches = name.startswith(stem) if exact_case else name.lower().startswith(stem.lower())
            if not matches or name == stem:
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                continue
            if not is_dir and not looks_like_image(entry):
                continue
            rest = name[len(stem) :] + ("/" if is_dir else "")
            if exact_case:
                return text + rest
            return text[: len(text) - len(stem)] + name + ("/" if is_dir else "")
    return None
