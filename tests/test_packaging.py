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


# -- the install resolves at once ------------------------------------------------------------


def _requirements() -> list[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def test_every_dependency_range_has_an_upper_bound() -> None:
    """An open range lets pip try every newer release first: with instructor (jiter<0.15)
    against `openai>=2` it downloaded 60 openai wheels before settling on 3.3.0."""
    from packaging.requirements import Requirement

    open_ended = [
        text
        for text in _requirements()
        if not any(s.operator in ("<", "<=", "==", "~=") for s in Requirement(text).specifier)
    ]
    assert open_ended == []


def test_the_installed_versions_are_inside_the_ranges() -> None:
    """The bounds describe what the tests run with (and never move the installed versions)."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    outside = []
    for text in _requirements():
        req = Requirement(text)
        installed = version(req.name)
        if not req.specifier.contains(installed, prereleases=True):
            outside.append(f"{req.name} {installed} not in {req.specifier}")
    assert outside == []


def test_ci_runs_the_readme_command_and_fails_on_a_backtracking_install() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for part in (
        "python3 -m venv .venv",
        '.venv/bin/pip install -e ".[dev]"',
        ".venv/bin/python -m pytest",
    ):
        assert part in ci and part in readme, part
    assert "set -euo pipefail" in ci  # the install's exit status survives the `| tee`
    assert 'grep -q "looking at multiple versions" .venv/pip-install.log' in ci
    assert "tee .venv/pip-install.log" in ci
