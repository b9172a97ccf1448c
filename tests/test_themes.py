"""Theme files: the shipped ones load, users add theirs, broken ones are reported and skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from pislm_tui.theming import (
    is_sixteen_colour_terminal,
    load_theme_file,
    load_themes,
    shipped_themes_dir,
)
from tests.helpers import wait_for


def test_shipped_themes_all_load() -> None:
    themes, problems = load_themes(shipped_themes_dir())
    assert problems == []
    assert {"pislm-dark", "pislm-light", "pislm-16"} <= set(themes)
    assert themes["pislm-16"].ansi and themes["pislm-16"].primary == "ansi_red"


def test_user_theme_overrides_and_broken_ones_are_reported(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#112233"\ndark = false\n')
    (tmp_path / "pislm-dark.toml").write_text('name = "pislm-dark"\nprimary = "#ABCDEF"\n')
    (tmp_path / "bad-colour.toml").write_text('name = "bad"\nprimary = "not-a-colour"\n')
    (tmp_path / "bad-toml.toml").write_text("name = \n")
    (tmp_path / "extra.toml").write_text('name = "x"\nprimary = "red"\nsparkles = true\n')
    themes, problems = load_themes(shipped_themes_dir(), tmp_path)
    assert themes["mine"].dark is False
    assert themes["pislm-dark"].primary == "#ABCDEF"
    assert len(problems) == 3
    joined = "\n".join(problems)
    assert (
        "bad-colour.toml is broken (primary: Value error, not a colour: 'not-a-colour')" in joined
    )
    assert "bad-toml.toml is broken (not valid TOML" in joined
    assert "extra.toml is broken (sparkles: Extra inputs are not permitted)" in joined


def test_missing_primary(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('name = "t"\n')
    with pytest.raises(ValueError, match="primary: Field required"):
        load_theme_file(path)


@pytest.mark.parametrize(
    ("env", "sixteen"),
    [
        ({"TERM": "linux"}, True),
        ({"TERM": "xterm"}, True),
        ({"TERM": "xterm-256color"}, False),
        ({"TERM": "xterm", "COLORTERM": "truecolor"}, False),
        ({"TERM": "screen-256color"}, False),
    ],
)
def test_sixteen_colour_detection(env: dict[str, str], sixteen: bool) -> None:
    assert is_sixteen_colour_terminal(env) is sixteen


async def test_app_uses_16_colour_theme_on_a_linux_console(make_settings, monkeypatch) -> None:
    from pislm_tui.app import PislmApp

    app = PislmApp(make_settings(), environ={"TERM": "linux"})
    assert app.theme == "pislm-16"
    app = PislmApp(make_settings(theme="pislm-light"), environ={"TERM": "linux"})
    assert app.theme == "pislm-light"  # an explicit choice wins


async def test_broken_user_theme_notifies_once_and_default_is_used(
    make_settings, isolated_home: Path
) -> None:
    from pislm_tui.app import PislmApp

    themes = isolated_home / ".config/pislm/themes"
    themes.mkdir(parents=True)
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "nope"\n')
    app = PislmApp(make_settings(theme="broken"))
    async with app.run_test() as pilot:
        notes = await wait_for(lambda: list(app._notifications), pilot=pilot)
        texts = [n.message for n in notes]
        assert sum("broken.toml is broken" in t for t in texts) == 1
        assert any("unknown theme 'broken'" in t for t in texts)
        assert app.theme == "pislm-dark"


async def test_theme_switch_is_saved(make_app, isolated_home: Path) -> None:
    app = make_app()
    async with app.run_test() as pilot:
        app.set_theme("pislm-light")
        await pilot.pause()
    config = (isolated_home / ".config/pislm/config.toml").read_text()
    assert 'theme = "pislm-light"' in config
