"""Start-up stays light: importing the command line, building its parser and reading the arguments
(all that `devic_tui.cli.main` does before it hands over to a command) load none of the heavy
libraries nor the modules built on them; each command imports those when it runs. Checked in a fresh
interpreter, since the test process has long imported everything."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "pydantic",
    "pydantic_settings",
    "httpx",
    "tomlkit",
    "markdown_it",
    "rich.markdown",
    "textual",
    "devic_tui.config",
    "devic_tui.records",
    "devic_tui.models",
    "devic_tui.service",
    "devic_tui.providers",
)

PROBE = f"""
import sys

import devic_tui.cli

for argv in ([], ["ask", "hi"], ["--demo"]):
    devic_tui.cli.build_parser().parse_args(argv)
heavy = {HEAVY!r}
print("\\n".join(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))))
"""


def test_the_command_line_starts_without_heavy_imports() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    assert not loaded, f"imported at start-up: {', '.join(loaded)}"


def test_help_still_lists_the_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "devic_tui", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    for command in (
        "ask",
        "chats",
        "show",
        "export",
        "import",
        "delete",
        "trash",
        "restore",
        "archive",
        "unarchive",
        "assistants",
        "config",
        "locate",
        "emulator",
        "completion",
    ):
        assert f"\n    {command} " in done.stdout, command
