"""`--version` gives what a bug report needs; `completion SHELL` prints a script for bash, zsh and
fish, and the completion it installs really completes commands and flags."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import textual

from devic_tui import __version__
from tests.cli.conftest import Result


def test_version_report_lines(cli_process: Callable[..., Result]) -> None:
    result = cli_process("--version")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == f"devic-tui {__version__}"
    assert lines[1].startswith(f"Python {sys.version.split()[0]}")
    assert f"textual {textual.__version__}" in lines
    assert any(line.startswith("httpx 0.") for line in lines)


@pytest.mark.parametrize(
    ("shell", "marker"), [("bash", "complete "), ("zsh", "#compdef devic-tui"), ("fish", "complete ")]
)
def test_completion_script_for_each_shell(cli: Callable[..., Result], shell: str, marker: str) -> None:
    result = cli("completion", shell)
    assert result.code == 0
    assert marker in result.out
    assert "devic-tui" in result.out


def complete(line: str, tmp_path: Path) -> list[str]:
    """What the completion hook answers for `line` (the protocol every shell script uses)."""
    answer = tmp_path / "completions"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_IFS": "\n",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
    }
    subprocess.run([sys.executable, "-m", "devic_tui"], env=env, check=True, timeout=30)
    return [word.strip() for word in answer.read_text().splitlines()]


def test_completion_offers_commands_and_flags(tmp_path: Path) -> None:
    assert complete("devic-tui ch", tmp_path) == ["chats"]
    assert "--search" in complete("devic-tui chats --", tmp_path)
    assert {"bash", "zsh", "fish"} <= set(complete("devic-tui completion ", tmp_path))


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_a_command_through_the_script(tmp_path: Path) -> None:
    launcher = tmp_path / "bin" / "devic-tui"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m devic_tui "$@"\n')
    launcher.chmod(0o700)
    script = (
        'eval "$(devic-tui completion bash)"; '
        'COMP_LINE="devic-tui ch"; COMP_POINT=12; COMP_WORDS=(devic-tui ch); COMP_CWORD=1; COMP_TYPE=9; '
        '_python_argcomplete devic-tui ch devic-tui; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{launcher.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert done.stdout.split() == ["chats"], done.stderr
