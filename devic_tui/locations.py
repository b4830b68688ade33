"""Every path the app reads or writes, in one place (`devic-tui locate` prints them).

`DEVIC_TUI_CONFIG` overrides the config file and `DEVIC_TUI_DATA_DIR` the data directory; otherwise the
platform's own directories are used (platformdirs), so tests point `XDG_*` at a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP_NAME = "devic-tui"
DATA_DIR_ENV = "DEVIC_TUI_DATA_DIR"


def config_dir() -> Path:
    return user_config_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    override = os.environ.get("DEVIC_TUI_CONFIG")
    return Path(override).expanduser() if override else config_dir() / "config.toml"


def data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override).expanduser() if override else user_data_path(APP_NAME, appauthor=False)


def transcripts_dir() -> Path:
    return data_dir() / "transcripts"


def themes_dir() -> Path:
    return config_dir() / "themes"


def log_file() -> Path:
    return data_dir() / "devic-tui.log"


def all_locations() -> dict[str, Path]:
    """The named paths, in the order `devic-tui locate` prints them."""
    return {
        "config": config_file(),
        "data": data_dir(),
        "transcripts": transcripts_dir(),
        "themes": themes_dir(),
        "log": log_file(),
    }
