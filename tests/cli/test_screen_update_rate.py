"""The app asks Textual to gather screen changes 240 times a second (a key typed while an answer
streams no longer waits up to 17 ms for Textual's 60 Hz tick), unless the person set their own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devic_tui.cli import SCREEN_UPDATES_PER_SECOND, use_screen_update_rate


def test_the_rate_is_set_unless_the_person_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTUAL_FPS", raising=False)
    use_screen_update_rate()
    assert os.environ["TEXTUAL_FPS"] == str(SCREEN_UPDATES_PER_SECOND) == "240"
    monkeypatch.setenv("TEXTUAL_FPS", "30")
    use_screen_update_rate()
    assert os.environ["TEXTUAL_FPS"] == "30"


def test_textual_reads_it_when_the_app_starts_from_the_command_line() -> None:
    """cmd_tui sets it before Textual is first imported (the command line imports no Textual)."""
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    code = (
        "import sys; from devic_tui import cli; assert 'textual' not in sys.modules;"
        " cli.use_screen_update_rate(); from textual import constants; print(constants.MAX_FPS)"
    )
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "240"
