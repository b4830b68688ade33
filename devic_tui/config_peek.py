"""What the app's first frame needs from the config file, its theme and whether the sidebar is open,
read with `tomllib` alone and without validation: the whole config (pydantic, the theme files) is
read after that frame is on screen, and anything wrong in the file is reported then."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_THEME = "textual-dark"


@dataclass(frozen=True)
class FirstFrame:
    theme: str = DEFAULT_THEME
    show_sidebar: bool = True


def peek(path: Path | None) -> FirstFrame:
    """The theme and sidebar setting as the config will most likely have them (the environment's
    DEVIC_TUI_THEME first, as the full read does); the defaults when the file is absent or broken."""
    table: dict[str, object] = {}
    if path is not None:
        try:
            table = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            table = {}
    theme = os.environ.get("DEVIC_TUI_THEME") or table.get("theme")
    show_sidebar = table.get("show_sidebar")
    return FirstFrame(
        theme=theme if isinstance(theme, str) and theme else DEFAULT_THEME,
        show_sidebar=show_sidebar if isinstance(show_sidebar, bool) else True,
    )
