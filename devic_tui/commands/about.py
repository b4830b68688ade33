"""What the command line says about itself: `--version` (with the versions a bug report needs) and
`completion SHELL` (a script that teaches bash, zsh or fish the commands and flags, via argcomplete).
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Sequence
from typing import Any, NoReturn

from devic_tui import __version__

SHELLS = ("bash", "zsh", "fish")
_REPORTED = ("textual", "httpx", "rich", "pydantic")


def _installed(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def version_report() -> str:
    """`devic-tui X` and, below it, what a bug report needs: Python, the platform, key libraries."""
    lines = [
        f"devic-tui {__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
    ]
    lines += [f"{package} {_installed(package)}" for package in _REPORTED]
    return "\n".join(lines)


class VersionAction(argparse.Action):
    """Like argparse's `version` action, but the report is put together only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(version_report())
        parser.exit()


def completion_script(shell: str) -> str:
    from argcomplete.shell_integration import shellcode

    script: str = shellcode(["devic-tui"], shell=shell)
    return script


def complete_if_asked(parser: argparse.ArgumentParser) -> None:
    """When the shell's completion hook runs us (it sets _ARGCOMPLETE), answer it and exit. The
    check comes first so an ordinary start never imports argcomplete."""
    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)
