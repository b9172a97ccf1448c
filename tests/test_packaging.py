"""The wheel carries the themes and the entry point; it installs and runs on its own."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("pislm-*.whl"))


def test_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "pislm_tui/themes/pislm-16.toml" in names
    assert "pislm_tui/pislm.tcss" in names
    assert "pislm_tui/rag/data/bee_facts.md" in names  # the RAG demo
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "pislm = pislm_tui.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_runs_and_finds_its_themes(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = (
        "import pislm_tui.theming as t, pislm_tui.cli as c, sys;"
        "d = t.shipped_themes_dir(); assert str(d).startswith(sys.argv[1]), d;"
        "print(sorted(p.name for p in d.glob('*.toml')))"
    )
    env = {"PYTHONPATH": str(target), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "pislm-dark.toml" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "pislm_tui", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.startswith("pislm ")
