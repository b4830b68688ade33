"""Helpers for the hardening tests: the UI fixtures (make_app, the UTC clock) and plain-text reads of
what the terminal would show."""

from __future__ import annotations

from rich.segment import Segment
from textual.app import App

from tests.ui.conftest import make_app, utc_clock

__all__ = ["make_app", "screen_segments", "screen_text", "utc_clock"]


def screen_segments(app: App[object]) -> list[list[Segment]]:
    """Every line the screen (toasts included) would send to the terminal, as Rich segments."""
    strips = app.screen._compositor.render_strips()
    return [list(strip) for strip in strips]


def screen_text(app: App[object]) -> str:
    """The screen as plain text, one line per terminal row."""
    return "\n".join("".join(s.text for s in line) for line in screen_segments(app))
