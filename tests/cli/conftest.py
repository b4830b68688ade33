"""Fixtures for the command-line tests: a config file in tmp_path pointing at the loopback emulator,
the CLI run in-process (fast) or as a real subprocess (`python -m devic_tui`)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from devic_tui.cli import main
from devic_tui.emulator import EmulatorServer
from tests.conftest import TEST_TOKEN


@dataclass
class Result:
    code: int
    out: str
    err: str


def agent_server(base_url: str, **fields: Any) -> dict[str, Any]:
    server: dict[str, Any] = {
        "name": "emu",
        "kind": "agent",
        "base_url": f"{base_url}/v1/api",
        "token": TEST_TOKEN,
        "max_retries": 0,
        "assistants": [{"id": "echo", "name": "Echo"}, {"id": "slow"}, {"id": "markdown"}],
    }
    server.update(fields)
    return server


@pytest.fixture
def write_config(tmp_path: Path, emulator: EmulatorServer) -> Callable[..., Path]:
    """Write a config file; by default one agent server `emu` on the emulator."""

    def write(servers: list[dict[str, Any]] | None = None, **settings: Any) -> Path:
        path = tmp_path / "config.toml"
        if servers is None:
            servers = [agent_server(emulator.base_url)]
        path.write_text(tomli_w.dumps({**settings, "servers": servers}), encoding="utf-8")
        path.chmod(0o600)
        return path

    return write


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `devic-tui ARGS` in this process, with `stdin` as standard input (not a terminal)."""

    def run(*args: str | Path, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def cli_process() -> Callable[..., Result]:
    """Run `python -m devic_tui ARGS` as a real subprocess, text piped on standard input."""

    def run(*args: str | Path, stdin: str = "", timeout: float = 30) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "devic_tui", *[str(a) for a in args]],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=cli_env(),
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run
