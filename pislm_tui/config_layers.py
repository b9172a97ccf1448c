"""One settings layer (the config file, the environment or the flags) read and checked on its own.

Each layer is validated alone so that a bad value is reported with where it came from: the file
and its line (`find_line`, best effort), the environment or the command line. A bad key is
dropped and gets its default; a renamed key is moved to its new place with a warning.
`config.load_settings` merges the checked layers in order of precedence."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

ENV_PREFIX = "PISLM_"


def read_file_layer(path: Path, warnings: list[str]) -> tuple[dict[str, Any], str | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"cannot read {path}: {exc}; using defaults")
        return {}, None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        warnings.append(f"{path} is not valid TOML ({exc}); using defaults")
        return {}, None


def environment_layer(env: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if env.get("OLLAMA_HOST"):
        data["host"] = env["OLLAMA_HOST"]
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG" or raw == "":
            continue
        keys = name[len(ENV_PREFIX) :].lower().split("__")
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node[keys[-1]] = env_value(raw)
    return data


def env_value(raw: str) -> Any:
    """JSON for lists/tables/numbers/booleans when it parses, else the plain string."""
    if raw.lower() in ("true", "false", "yes", "no", "on", "off"):
        return raw.lower() in ("true", "yes", "on")
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, dict | list | int | float) else raw


# Old key -> its new place, each still read (in its own layer, so precedence holds) with a warning.
RENAMED_KEYS: dict[str, tuple[str, str]] = {
    "diff_output": ("display", "fast_output"),
}


def move_renamed_keys(
    data: dict[str, Any], origin: str, source_text: str | None, warnings: list[str]
) -> dict[str, Any]:
    """Move each old key of one layer to its new place (the new key wins if both are there)."""
    if not any(old in data for old in RENAMED_KEYS):
        return data
    data = dict(data)
    for old, (section, key) in RENAMED_KEYS.items():
        if old not in data:
            continue
        value = data.pop(old)
        if origin == "environment":
            new_name = f"{ENV_PREFIX}{section}__{key}".upper()
            warnings.append(
                f"{origin}: {ENV_PREFIX}{old.upper()} is now {new_name}; please rename it"
            )
        else:
            line = find_line(source_text, [old]) if source_text is not None else None
            where = f", line {line}" if line else ""
            warnings.append(f"{origin}{where}: {old} is now {section}.{key}; please rename it")
        table = data.setdefault(section, {})
        if isinstance(table, dict):  # else the bad table is reported as such
            data[section] = {key: value, **table}
    return data


def drop_invalid(
    schema: type[BaseModel],
    data: dict[str, Any],
    origin: str,
    source_text: str | None,
    warnings: list[str],
) -> dict[str, Any]:
    """Validate one layer on its own against `schema`; report and remove each key that fails."""
    data = json.loads(json.dumps(data, default=str))  # a deep copy with plain types
    for _ in range(50):  # each pass removes at least one bad key
        try:
            schema.model_validate(data)
            return data
        except ValidationError as exc:
            for error in exc.errors():
                loc = [str(p) for p in error["loc"] if not str(p).startswith(("function-", "lax-"))]
                loc = _existing_prefix(data, loc)
                if not loc:
                    continue
                dotted = ".".join(loc)
                where = ""
                if source_text is not None:
                    line = find_line(source_text, loc)
                    where = f", line {line}" if line else ""
                if error["type"] == "extra_forbidden":
                    warnings.append(f"{origin}{where}: {dotted}: unknown key, ignored")
                else:
                    warnings.append(f"{origin}{where}: {dotted}: {error['msg']}; using the default")
                _delete(data, loc)
    return {}


def _existing_prefix(data: dict[str, Any], loc: list[str]) -> list[str]:
    node: Any = data
    found: list[str] = []
    for key in loc:
        if isinstance(node, dict) and key in node:
            found.append(key)
            node = node[key]
        else:
            break
    return found


def _delete(data: dict[str, Any], loc: list[str]) -> None:
    node = data
    for key in loc[:-1]:
        node = node[key]
    node.pop(loc[-1], None)


def find_line(text: str, loc: list[str]) -> int | None:
    """Line of `key = ...` inside the right [table] (best effort)."""
    *tables, key = loc
    table = ".".join(tables)
    current = ""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if header:
            current = header.group(1).strip()
            continue
        if pattern.match(line) and current == table:
            return number
        dotted = re.match(rf"^\s*{re.escape('.'.join(loc))}\s*=", line)
        if dotted and current == "":
            return number
    return None


def deep_merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            deep_merge(into[key], value)
        else:
            into[key] = value
