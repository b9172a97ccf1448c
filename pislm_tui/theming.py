"""Theme files (TOML) -> Textual `Theme`s. Shipped themes live in the package (`themes/` at the
repo top); users add theirs in `$XDG_CONFIG_HOME/pislm/themes/`. A broken file is reported and
skipped; the app falls back to the default theme."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "pislm-dark"
SIXTEEN_COLOUR_THEME = "pislm-16"


def _check_colour(value: str | None) -> str | None:
    if value is None or value.startswith("ansi_"):
        return value
    try:
        Color.parse(value)
    except ColorParseError as exc:
        raise ValueError(f"not a colour: {value!r}") from exc
    return value


class ThemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    primary: str
    secondary: str | None = None
    accent: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    dark: bool = True
    ansi: bool = False
    luminosity_spread: float = Field(0.15, ge=0, le=1)
    text_alpha: float = Field(0.95, ge=0, le=1)
    variables: dict[str, str] = {}

    _colours = field_validator(
        "primary",
        "secondary",
        "accent",
        "warning",
        "error",
        "success",
        "foreground",
        "background",
        "surface",
        "panel",
        "boost",
    )(_check_colour)

    def to_theme(self) -> Theme:
        return Theme(**self.model_dump())


def shipped_themes_dir() -> Path:
    """Inside the installed package; in a source checkout, the repo's `themes/`."""
    packaged = Path(__file__).parent / "themes"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "themes"


def load_theme_file(path: Path) -> Theme:
    """Raises ValueError with a one-line reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    try:
        return ThemeFile.model_validate(data).to_theme()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ValueError(f"{where}: {first['msg']}") from None


def load_themes(*directories: Path) -> tuple[dict[str, Theme], list[str]]:
    """All themes in the directories (later ones override earlier names), and the problems."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ValueError as exc:
                problems.append(f"theme {path.name} is broken ({exc}); it was skipped")
                continue
            themes[theme.name] = theme
    return themes, problems


def is_sixteen_colour_terminal(environ: Mapping[str, str]) -> bool:
    """As Rich decides: no truecolor/256-colour hint in COLORTERM or TERM means 16 colours."""
    if environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return False
    term = environ.get("TERM", "").lower()
    return not (term.endswith("256color") or term.endswith("truecolor") or term.endswith("direct"))
