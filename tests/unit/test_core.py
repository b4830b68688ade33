"""The core's promises: it never imports Textual, the config's precedence (flags over environment
over file over defaults) and its errors, and theme files (valid ones load, bad ones give a notice)."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from devic_tui.config import ConfigError, load_settings
from devic_tui.themes import BUNDLED_THEMES, load_theme_files, save_theme_choice

CORE_MODULES = [
    "devic_tui.config",
    "devic_tui.models",
    "devic_tui.service",
    "devic_tui.turn",
    "devic_tui.records",
    "devic_tui.errors",
    "devic_tui.sidebar_model",
    "devic_tui.ui_state",
    "devic_tui.attachments",
    "devic_tui.search_query",
    "devic_tui.text_safety",
    "devic_tui.logs",
    "devic_tui.providers.agent",
    "devic_tui.providers.devic",
    "devic_tui.providers.devs",
    "devic_tui.providers.openai_compat",
    "devic_tui.providers.registry",
    "devic_tui.store.transcripts",
    "devic_tui.store.index",
    "devic_tui.store.export",
    "devic_tui.emulator",
    "devic_tui.commands.ask",
    "devic_tui.commands.chats",
    "devic_tui.commands.history",
    "devic_tui.cli",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_textual(module: str) -> None:
    code = (
        f"import sys, {module}; sys.exit(1 if any(m.split('.')[0] == 'textual' for m in sys.modules) else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{module} imported textual: {done.stderr}"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_environment_beats_the_file_and_flags_beat_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "c.toml", 'transcript_format = "toml"\ntheme = "nord"\n')
    assert load_settings(config).transcript_format == "toml"
    monkeypatch.setenv("DEVIC_TUI_TRANSCRIPT_FORMAT", "json")
    settings = load_settings(config)
    assert settings.transcript_format == "json"
    assert settings.theme == "nord"  # what the environment does not set still comes from the file
    assert load_settings(config, theme="gruvbox").theme == "gruvbox"


def test_nested_environment_fields_use_double_underscores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVIC_TUI_KEYMAP__NEW_CHAT", "ctrl+t")
    settings = load_settings(tmp_path / "missing.toml")
    assert settings.keymap == {"new_chat": "ctrl+t"}


def test_a_config_error_names_the_file_and_the_field_and_never_the_token(tmp_path: Path) -> None:
    config = write(
        tmp_path / "bad.toml",
        '[[servers]]\nname = "w"\nkind = "devic"\ntoken = "sekrit-123456"\nread_timeout = -1\n',
    )
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    message = str(raised.value)
    assert str(config) in message
    assert "servers.0.read_timeout" in message
    assert "sekrit" not in message


def test_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path / "x.toml", "this is = = not toml"))


def test_theme_files_load_and_bad_ones_give_one_notice_each(tmp_path: Path) -> None:
    write(tmp_path / "good.toml", 'name = "good-one"\nprimary = "#336699"\n')
    write(tmp_path / "bad.toml", 'name = "Bad Name"\nprimary = "not a colour"\n')
    write(tmp_path / "broken.toml", "name = ")
    themes, notices = load_theme_files([tmp_path])
    assert [t.name for t in themes] == ["good-one"]
    assert len(notices) == 2
    assert all("bad.toml" in n or "broken.toml" in n for n in notices)


def test_bundled_themes_are_valid_and_read_from_the_package() -> None:
    themes, notices = load_theme_files([files(BUNDLED_THEMES)])
    assert notices == []
    assert {t.name for t in themes} >= {"devic-midnight", "devic-paper"}


def test_saving_the_theme_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    config = write(
        tmp_path / "c.toml", '# mine\ntheme = "nord"\n\n[[servers]]\nname = "x"\nkind = "openai"\n'
    )
    save_theme_choice(config, "devic-paper")
    text = config.read_text()
    assert text.startswith('# mine\ntheme = "devic-paper"\n')
    assert "[[servers]]" in text
    assert load_settings(config).theme == "devic-paper"
