"""A transcript that does not parse is set aside (quarantined) by whichever command first reads the
history; `chats`, `show` and `ask` then say on standard error which file went where."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devic_tui import locations
from tests.cli.conftest import Result


@pytest.mark.parametrize(
    "command",
    [["chats"], ["chats", "--search", "llamas"], ["show", "last"], ["ask", "-a", "echo", "hello again"]],
    ids=["chats", "chats-search", "show", "ask"],
)
def test_a_corrupt_transcript_set_aside_is_named_on_stderr(
    command: list[str], write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    config = write_config()
    assert cli("--config", config, "ask", "-a", "echo", "tell me about llamas").code == 0
    history = locations.transcripts_dir()
    (history / "broken-chat.json").write_text("{ this is not a transcript", encoding="utf-8")

    done = cli("--config", config, *command)

    assert done.code == 0, done.err
    quarantine = history / "quarantine"
    assert (quarantine / "broken-chat.json").exists()
    assert not (history / "broken-chat.json").exists()
    [said] = [line for line in done.err.splitlines() if "broken-chat.json" in line]
    assert said.startswith("devic-tui: note: ")
    assert str(quarantine) in said
    again = cli("--config", config, *command)
    assert "broken-chat.json" not in again.err  # said once, by the command that set it aside
