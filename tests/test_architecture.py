"""Layering rules that keep the app light: core never imports Textual, heavy libraries load
only when used."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "pislm_tui"
CORE = [
    "backend",
    "chat",
    "models",
    "rag",
    "tools",
    "monitor",
    "hosts",
    "config.py",
    "config_layers.py",
    "text.py",
    "sizes.py",
]


def core_files() -> list[Path]:
    files: list[Path] = []
    for name in CORE:
        path = PACKAGE / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_never_imports_textual(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith("textual"), f"{path.name} imports {name}"
            assert not name.startswith(
                ("pislm_tui.app", "pislm_tui.tabs", "pislm_tui.widgets", "pislm_tui.screens")
            ), f"{path.name} imports UI module {name}"


def test_app_import_leaves_heavy_libraries_out() -> None:
    code = (
        "import sys, pislm_tui.app, pislm_tui.cli;"
        "print(','.join(m for m in ('chromadb', 'openai', 'instructor', 'ollama', 'pypdf', 'haversine',"
        " 'aiohttp', 'textual_serve', 'segno', 'pislm_tui.web', 'mcp')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "web").glob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_the_web_server_imports_no_textual_and_no_app(path: Path) -> None:
    """`pislm web` is a server of app processes: it needs textual-serve and aiohttp, never
    Textual itself or the app's UI (each tab's app process imports those)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.startswith("textual_serve") or not name.startswith("textual"), name
            assert not name.startswith(
                ("pislm_tui.app", "pislm_tui.tabs", "pislm_tui.widgets", "pislm_tui.screens")
            ), f"{path.name} imports UI module {name}"
