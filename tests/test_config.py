"""Settings precedence, environment mapping, invalid files, saving."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pislm_tui.config import Paths, load_settings, save_settings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_xdg_paths(isolated_home: Path) -> None:
    loaded = load_settings()
    assert loaded.settings.host == "http://127.0.0.1:11434"
    assert loaded.settings.api == "ollama" and loaded.warnings == []
    assert loaded.config_file == isolated_home / ".config" / "pislm" / "config.toml"
    assert loaded.paths.sessions_db == isolated_home / ".local" / "share" / "pislm" / "sessions.db"
    assert loaded.settings.tools.location.name == "Santiago de Chile"


def test_paths_fall_back_to_home_without_xdg() -> None:
    paths = Paths.from_env({"HOME": "/h"})
    assert paths.config_dir == Path("/h/.config/pislm")
    assert paths.data_dir == Path("/h/.local/share/pislm")


def test_precedence_file_env_flags(isolated_home: Path, monkeypatch) -> None:
    write(
        isolated_home / ".config/pislm/config.toml",
        'host = "file-host"\nmodel = "file-model"\ntheme = "pislm-light"\n[rag]\ntop_k = 3\nembed_model = "file-embed"\n',
    )
    assert load_settings().settings.model == "file-model"
    monkeypatch.setenv("OLLAMA_HOST", "env-host:9999")
    monkeypatch.setenv("PISLM_MODEL", "env-model")
    monkeypatch.setenv("PISLM_RAG__TOP_K", "7")
    s = load_settings(overrides={"model": "flag-model"}).settings
    assert s.host == "http://env-host:9999"  # resolved like the official client
    assert s.model == "flag-model"
    assert s.rag.top_k == 7 and s.rag.embed_model == "file-embed"
    assert s.theme == "pislm-light"
    monkeypatch.setenv("PISLM_HOST", "http://pislm-host:1")
    assert load_settings().settings.host == "http://pislm-host:1"


def test_env_booleans_and_json(monkeypatch) -> None:
    monkeypatch.setenv("PISLM_SSH", "yes")
    monkeypatch.setenv("PISLM_KEYS", '{"app.quit": "ctrl+x"}')
    monkeypatch.setenv("PISLM_CHAT__OPTIONS__TEMPERATURE", "0.3")
    s = load_settings().settings
    assert s.ssh is True and s.keys == {"app.quit": "ctrl+x"}
    assert s.chat.options.temperature == 0.3


def test_invalid_values_named_with_line_and_defaulted(isolated_home: Path) -> None:
    path = write(
        isolated_home / "custom.toml",
        'model = "ok-model"\nread_timeout = "soon"\n\n[chat]\nflush_hz = 100\n[tools.location]\nlat = 123\n[nonsense]\nx = 1\n',
    )
    loaded = load_settings(config_file=path)
    s = loaded.settings
    assert s.model == "ok-model"  # the good keys still apply
    assert s.read_timeout == 120 and s.chat.flush_hz == 4 and s.tools.location.lat == -33.33
    text = "\n".join(loaded.warnings)
    assert f"{path}, line 2: read_timeout:" in text
    assert "line 5: chat.flush_hz: Input should be less than or equal to 30" in text
    assert "line 7: tools.location.lat:" in text
    assert "nonsense: unknown key, ignored" in text


def test_not_toml_at_all(isolated_home: Path) -> None:
    path = write(isolated_home / ".config/pislm/config.toml", "model = \n[[[")
    loaded = load_settings()
    assert loaded.settings.model is None
    assert len(loaded.warnings) == 1
    assert f"{path} is not valid TOML" in loaded.warnings[0] and "line 1" in loaded.warnings[0]


def test_bad_environment_value_is_reported(monkeypatch) -> None:
    monkeypatch.setenv("PISLM_API", "grpc")
    loaded = load_settings()
    assert loaded.settings.api == "ollama"
    assert loaded.warnings and loaded.warnings[0].startswith("environment: api:")


def test_openai_host_is_kept_as_given() -> None:
    s = load_settings(overrides={"api": "openai", "host": "http://127.0.0.1:8080/v1"}).settings
    assert s.host == "http://127.0.0.1:8080/v1"


def test_save_merges_and_keeps_other_keys(isolated_home: Path) -> None:
    path = write(isolated_home / ".config/pislm/config.toml", 'model = "m"\n[rag]\ntop_k = 4\n')
    save_settings(path, {"theme": "pislm-16", "rag": {"embed_model": "e"}})
    data = tomllib.loads(path.read_text())
    assert data == {"model": "m", "theme": "pislm-16", "rag": {"top_k": 4, "embed_model": "e"}}
    assert load_settings().settings.theme == "pislm-16"


def test_config_file_is_not_written_by_loading(isolated_home: Path) -> None:
    load_settings()
    assert not (isolated_home / ".config").exists()


def test_fast_output_file_env_and_the_old_diff_output_key(isolated_home: Path, monkeypatch) -> None:
    """`diff_output` (top level) became `display.fast_output`: still read, in its own layer (so
    file < env still holds), with a warning that names the new key."""
    assert load_settings().settings.display.fast_output is True
    path = write(
        isolated_home / ".config/pislm/config.toml", 'theme = "pislm-16"\ndiff_output = false\n'
    )
    loaded = load_settings()
    assert loaded.settings.display.fast_output is False
    assert loaded.warnings == [
        f"{path}, line 2: diff_output is now display.fast_output; please rename it"
    ]
    monkeypatch.setenv("PISLM_DISPLAY__FAST_OUTPUT", "true")  # the environment wins over the file
    assert load_settings().settings.display.fast_output is True
    write(path, "[display]\nfast_output = true\n")
    monkeypatch.delenv("PISLM_DISPLAY__FAST_OUTPUT")
    monkeypatch.setenv("PISLM_DIFF_OUTPUT", "off")  # the old name in the environment wins too
    loaded = load_settings()
    assert loaded.settings.display.fast_output is False
    assert loaded.warnings == [
        "environment: PISLM_DIFF_OUTPUT is now PISLM_DISPLAY__FAST_OUTPUT; please rename it"
    ]
    # Both names in one layer: the new one counts.
    monkeypatch.delenv("PISLM_DIFF_OUTPUT")
    write(path, "diff_output = false\n[display]\nfast_output = true\n")
    assert load_settings().settings.display.fast_output is True
    assert (
        load_settings(overrides={"display": {"fast_output": False}}).settings.display.fast_output
        is False
    )
