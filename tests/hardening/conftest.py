"""Helpers for the hardening tests: the UI fixtures (make_app, the UTC clock), the command-line ones
(write_config, cli, cli_process) and plain-text reads of what the terminal would show."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.app import App

from tests.cli.conftest import cli, cli_process, write_config
from tests.ui.conftest import make_app, utc_clock

__all__ = [
    "cli",
    "cli_process",
    "make_app",
    "screen_segments",
    "screen_text",
    "utc_clock",
    "write_config",
]


def screen_segments(app: App[Any]) -> list[list[Segment]]:
    """Every line the screen (toasts included) would send to the terminal, as Rich segments."""
    strips = app.screen._compositor.render_strips()
    return [list(strip) for strip in strips]


def screen_text(app: App[Any]) -> str:
    """The screen as plain text, one line per terminal row."""
    return "\n".join("".join(s.text for s in line) for line in screen_segments(app))
