"""The saved list of `where` results (newest last), one JSON object a line. A damaged line
is skipped, never fatal; the file is rewritten atomically when it is trimmed or edited."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from pislm_tui.tools.where import WhereResult

HISTORY_FILE = "where_history.jsonl"
KEEP = 200


def history_path(data_dir: Path) -> Path:
    return data_dir / HISTORY_FILE


def load_history(path: Path, limit: int = KEEP) -> list[WhereResult]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    results: list[WhereResult] = []
    for line in lines[-limit:]:
        try:
            results.append(WhereResult.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError, ValidationError):
            continue
    return results


def append_history(path: Path, result: WhereResult) -> None:
    """Raises OSError (the caller reports it; the result itself is not lost)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")


def save_history(path: Path, results: Sequence[WhereResult]) -> None:
    """Replace the file with `results` (the last `KEEP`). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    text = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in results[-KEEP:])
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
