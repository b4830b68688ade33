"""No text from a server or a file acts on the terminal from the command line: `ask` (piped and
rendered on a real terminal), `show`, `chats --search`, `assistants` and the one-line errors on
standard error all show control characters as visible symbols; `--raw` is byte-exact on purpose.

The terminal runs are real: the command runs as a subprocess on a pseudo-terminal, so rich renders
Markdown and both streams are the terminal, as they are for a person."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devic_tui.emulator import EmulatorServer
from devic_tui.emulator.scripts import HOSTILE_ANSWER
from tests.cli.conftest import Result, agent_server, cli_env
from tests.conftest import TEST_TOKEN

ACTS_ON_A_TERMINAL = {
    "title": b"\x1b]0;",
    "second title": b"\x1b]2;",
    "clear": b"\x1b[2J",
    "home": b"\x1b[H",
    "clipboard": b"\x1b]52;",
    "bell": b"\x07",
    "8-bit CSI": "\x9b".encode(),
}


def assert_harmless(output: bytes | str) -> None:
    data = output.encode() if isinstance(output, str) else output
    for name, sequence in ACTS_ON_A_TERMINAL.items():
        assert sequence not in data, name


def hostile_servers(base_url: str) -> list[dict[str, Any]]:
    return [
        agent_server(base_url, assistants=[{"id": "hostile"}]),
        {
            "name": "emu-openai",
            "kind": "openai",
            "base_url": f"{base_url}/v1",
            "token": TEST_TOKEN,
            "max_retries": 0,
        },
    ]


@pytest.fixture
def config(write_config: Callable[..., Path], emulator: EmulatorServer) -> Path:
    return write_config(hostile_servers(emulator.base_url))


def on_a_terminal(*args: str | Path, columns: int = 100) -> bytes:
    """Run `devic-tui ARGS` with standard output and error on a new pseudo-terminal; all it wrote."""
    leader, follower = pty.openpty()
    env = {**cli_env(), "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "devic_tui", *[str(a) for a in args]],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    written = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        written += chunk
    os.close(leader)
    assert process.wait(timeout=30) == 0, bytes(written)
    return bytes(written)


def test_ask_piped_shows_escape_codes_as_symbols(cli: Callable[..., Result], config: Path) -> None:
    result = cli("--config", config, "ask", "-s", "emu", "-a", "hostile", "hi")
    assert result.code == 0, result.err
    assert_harmless(result.out)
    assert "\u241b]0;pwned-title\u2407" in result.out  # ␛ and ␇: what was sent, visibly
    assert "[bold]B[/bold]" in result.out


def test_ask_raw_is_byte_exact(cli: Callable[..., Result], config: Path) -> None:
    result = cli("--config", config, "ask", "--raw", "-s", "emu", "-a", "hostile", "hi")
    assert result.code == 0, result.err
    assert HOSTILE_ANSWER.rstrip("\n") in result.out


def test_ask_rendered_on_a_terminal_leaves_title_and_screen_alone(config: Path) -> None:
    written = on_a_terminal("--config", config, "ask", "-s", "emu", "-a", "hostile", "hi")
    assert_harmless(written)
    text = written.decode()
    assert "\x1b[" in text  # rich did style the Markdown: its own sequences pass
    assert "pwned-title" in text
    assert "[bold]B[/bold]" in text  # rich read no markup in it


def test_show_and_search_snippets_are_harmless(cli: Callable[..., Result], config: Path) -> None:
    assert cli("--config", config, "ask", "-s", "emu", "-a", "hostile", "hi").code == 0
    shown = cli("--config", config, "show", "last")
    assert shown.code == 0
    assert_harmless(shown.out)
    assert "pwned-title" in shown.out
    on_screen = on_a_terminal("--config", config, "show", "last")
    assert_harmless(on_screen)
    found = cli("--config", config, "chats", "--search", "clipboard")
    assert found.code == 0, found.err
    assert_harmless(found.out)
    assert "clipboard write" in found.out


def test_assistant_names_and_descriptions_are_harmless(config: Path) -> None:
    written = on_a_terminal("--config", config, "assistants", "-s", "emu-openai")
    assert_harmless(written)
    assert b"hostile" in written
    assert "\u241b]0;pwned-title".encode() in written


def test_errors_on_standard_error_are_harmless(cli: Callable[..., Result], config: Path) -> None:
    hostile_name = "x\x1b]0;pwned-title\x07\x1b[2J"
    result = cli("--config", config, "ask", "-s", "emu-openai", "-a", hostile_name, "hi")
    assert result.code != 0
    assert "pwned-title" in result.err  # the server quoted the name back
    assert_harmless(result.err)
    assert_harmless(result.out)
