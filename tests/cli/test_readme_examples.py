"""The README's command examples run as written against `--demo`: each line of its `sh` block under
"Commands", in order, in a real subprocess, from the checkout, with a private history."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Commands") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_every_command_example_in_the_readme_runs(tmp_path: Path) -> None:
    examples = readme_examples()
    assert len(examples) >= 10
    bin_dir = Path(sys.executable).parent
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEVIC_TUI_")},
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "README.md").write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    for example in examples:
        command = example.replace("git diff | ", "printf 'diff --git a/x b/x\\n' | ")
        done = subprocess.run(
            ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{example!r} exited {done.returncode}: {done.stderr}"
        assert "Traceback" not in done.stderr


def test_the_demo_keeps_its_chats_apart_from_the_persons_history(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEVIC_TUI_")},
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "devic_tui", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("--demo", "ask", "kept apart")
    assert "kept apart" in run("--demo", "chats")
    assert "kept apart" not in run("chats")
    assert run("--demo", "locate", "data").strip().endswith("devic-tui/demo")
