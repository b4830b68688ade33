"""Themes: Textual's built-in ones plus TOML theme files bundled with the package (the repository's
`themes/` folder, installed as `devic_tui.bundled_themes`) and from the user's themes dir. A file is
validated data turned into a `textual.theme.Theme`; a bad file gives one notice and is skipped,
never a crash. The chosen theme is written back to the config file."""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

from devic_tui import locations

BUNDLED_THEMES = "devic_tui.bundled_themes"
_COLOR_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


class ThemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    dark: bool = True
    primary: str
    secondary: str | None = None
    accent: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator(*_COLOR_FIELDS)
    @classmethod
    def _is_colour(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Color.parse(value)
            except ColorParseError:
                raise ValueError(f"{value!r} is not a colour") from None
        return value

    def to_theme(self) -> Theme:
        colours = {name: getattr(self, name) for name in _COLOR_FIELDS}
        return Theme(name=self.name, dark=self.dark, variables=dict(self.variables), **colours)


def theme_dirs() -> list[Traversable]:
    """Where theme files are read from: the package's own, then the user's (which may override)."""
    return [files(BUNDLED_THEMES), locations.themes_dir()]


def load_theme_files(folders: list[Traversable] | None = None) -> tuple[list[Theme], list[str]]:
    """Every valid theme file's theme, and one notice per file that could not be used."""
    themes: list[Theme] = []
    notices: list[str] = []
    for folder in folders if folders is not None else theme_dirs():
        if not folder.is_dir():
            continue
        theme_files = sorted(
            (item for item in folder.iterdir() if item.name.endswith(".toml")), key=lambda item: item.name
        )
        for path in theme_files:
            try:
                themes.append(ThemeFile.model_validate(tomllib.loads(path.read_text("utf-8"))).to_theme())
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                notices.append(f"theme file {path.name} cannot be read: {error}")
            except ValidationError as error:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
                    for e in error.errors(include_input=False, include_url=False)
                )
                notices.append(f"theme file {path.name} is not a valid theme ({problems})")
    return themes, notices


_THEME_LINE = re.compile(r"^theme\s*=.*$", re.MULTILINE)
_TABLE_LINE = re.compile(r"^\s*\[", re.MULTILINE)


def save_theme_choice(config_path: Path, theme: str) -> None:
    """Set the top-level `theme` in the config file, keeping its comments and layout."""
    line = f'theme = "{theme}"'
    text = config_path.read_text("utf-8") if config_path.exists() else ""
    first_table = _TABLE_LINE.search(text)
    top = text[: first_table.start()] if first_table else text
    rest = text[len(top) :]
    if _THEME_LINE.search(top):
        top = _THEME_LINE.sub(line, top, count=1)
    else:
        top = (top.rstrip("\n") + "\n" if top.strip() else "") + line + "\n\n"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(top + rest, "utf-8")
