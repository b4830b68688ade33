"""Themes: Textual's built-in ones plus TOML theme files bundled with the package (the repository's
`themes/` folder, installed as `devic_tui.bundled_themes`) and from the user's themes dir. A file is
validated data turned into a `textual.theme.Theme`; a bad file gives one notice and is skipped,
never a crash. The chosen theme is written back to the config file."""

from __future__ import annotations

import errno
import tomllib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Table

from devic_tui import locations
from devic_tui.files import write_private

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


def save_theme_choice(config_path: Path, theme: str) -> None:
    """Set the top-level `theme` in the config file. Only its value changes (the key's quoting and
    a comment after it stay), or, when there is none, one line is added after the last top-level
    setting: every other byte stays as written. The file is replaced atomically, private (0600).
    Raises OSError, also when the file no longer parses (it is then left alone)."""
    # A symlinked config (a dotfiles repository) keeps its link: the file it points at is replaced.
    target = config_path.resolve()
    text = target.read_bytes().decode("utf-8") if target.exists() else ""
    try:
        document = tomlkit.parse(text)
    except ParseError as error:
        raise OSError(errno.EINVAL, f"not valid TOML ({error}); the theme was not saved") from None
    if "theme" in document:
        document["theme"] = tomlkit.string(theme)  # always a basic string, whatever the old quoting
        text = document.as_string()
    else:
        text = _with_setting_added(text, document, f"theme = {tomlkit.item(theme).as_string()}")
    write_private(target, text.encode("utf-8"))


def _with_setting_added(text: str, document: tomlkit.TOMLDocument, line: str) -> str:
    """`text` with `line` (a top-level `key = value`) added after the last top-level setting, or
    at the very top when there is none (the one place always outside any table)."""
    before_tables = tomlkit.document()
    before_tables.parsing(True)  # take the parsed items as they are, adding no layout of its own
    end = 0
    for key, item in document.body:
        if isinstance(item, Table | AoT):
            break
        before_tables.append(key, item)
        if key is not None:
            end = len(before_tables.as_string())
    if not text.startswith(before_tables.as_string()):
        end = 0  # not rendered back byte for byte: the top is still a safe place
    newline = "\r\n" if "\r\n" in text else "\n"
    head = text[:end]
    if head and not head.endswith("\n"):
        head += newline
    return head + line + newline + text[end:]
