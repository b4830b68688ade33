"""`config init|path|check`, bad config files and the help text, against the loopback emulator."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

from devic_tui.config import load_settings
from devic_tui.emulator import EmulatorServer
from tests.cli.conftest import Result, agent_server


def test_config_init_writes_a_private_file_that_loads(tmp_path: Path, cli: Callable[..., Result]) -> None:
    path = tmp_path / "sub" / "config.toml"
    done = cli("--config", path, "config", "init")
    assert done.code == 0
    assert "config check" in done.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("# devic-tui configuration")
    settings = load_settings(path)
    assert {s.kind for s in settings.servers} == {"demo", "devic", "devs", "agent", "openai"}
    assert [s.name for s in settings.enabled_servers()] == ["demo"]

    again = cli("--config", path, "config", "init")
    assert again.code == 2
    assert "exists" in again.err
    assert "--force" in again.err
    assert cli("--config", path, "config", "init", "--force").code == 0


def test_config_path_follows_the_flag_and_the_variable(
    tmp_path: Path, cli: Callable[..., Result], monkeypatch: object
) -> None:
    assert cli("--config", tmp_path / "x.toml", "config", "path").out.strip() == str(tmp_path / "x.toml")
    assert cli("config", "path").out.strip().endswith("devic-tui/config.toml")


def test_config_check_reports_each_server(
    write_config: Callable[..., Path], emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    config = write_config(
        [
            agent_server(emulator.base_url),
            agent_server(emulator.base_url, name="refused", token="bad-token"),
            agent_server("http://127.0.0.1:1", name="down"),
            {"name": "models", "kind": "openai", "base_url": f"{emulator.base_url}/v1", "token": "t-1234"},
            {"name": "badkey", "kind": "openai", "base_url": f"{emulator.base_url}/v1", "token": "bad-token"},
            {"name": "nokey", "kind": "openai", "base_url": f"{emulator.base_url}/v1", "token_env": "NO_VAR"},
        ]
    )
    done = cli("--config", config, "config", "check")
    assert done.code == 3  # the first problem: the refused token
    assert "bad-token" not in done.out + done.err
    blocks = {block.split(" ")[0]: block for block in done.out.split("\n") if block and block[0] != " "}
    assert "ok" in blocks["emu"]
    assert "PROBLEM" in blocks["refused"]
    assert "PROBLEM" in blocks["down"]
    assert "ok" in blocks["models"]
    assert "PROBLEM" in blocks["nokey"]

    checks = {
        c["server"]: c
        for c in json.loads(cli("--config", config, "config", "check", "--json").out)["servers"]
    }
    assert checks["emu"]["reachable"]
    assert checks["emu"]["authenticated"]
    assert checks["refused"]["reachable"]
    assert checks["refused"]["authenticated"] is False
    assert "401" in checks["refused"]["problem"]
    assert checks["down"]["reachable"] is False
    assert checks["down"]["exit_code"] == 1
    assert checks["models"]["detail"].endswith("listed")
    assert checks["badkey"]["authenticated"] is False
    assert checks["badkey"]["exit_code"] == 3
    assert checks["nokey"]["token_source"] == "the variable NO_VAR"
    assert checks["nokey"]["exit_code"] == 3


def test_config_check_is_clean_when_all_is_well(
    write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    done = cli("--config", write_config(), "config", "check")
    assert done.code == 0, done.err
    assert "reachable:      yes" in done.out
    assert "authenticated:  yes" in done.out


def test_config_check_without_a_file(tmp_path: Path, cli: Callable[..., Result]) -> None:
    done = cli("--config", tmp_path / "none.toml", "config", "check")
    assert done.code == 2
    assert "config init" in done.err


def test_bad_config_is_a_usage_error_naming_file_and_field(
    tmp_path: Path, cli_process: Callable[..., Result]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[servers]]\nname = "x"\nkind = "nope"\ntoken = "sekrit-token-value"\n')
    done = cli_process("--config", path, "ask", "hi")
    assert done.code == 2
    lines = done.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("devic-tui: config file ")
    assert str(path) in lines[0]
    assert "servers.0.kind" in lines[0]
    assert "sekrit" not in done.err
    assert "Traceback" not in done.err


def test_help_lists_every_command_and_the_exit_codes(cli_process: Callable[..., Result]) -> None:
    done = cli_process("--help")
    assert done.code == 0
    for command in ("ask", "chats", "show", "export", "import", "assistants", "config", "locate"):
        assert f"\n  {command}" in done.out
    assert "130 interrupted" in done.out
    assert "3 authentication" in done.out


def test_assistants_lists_per_server(
    write_config: Callable[..., Path], emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    config = write_config(
        [
            agent_server(emulator.base_url),
            {"name": "models", "kind": "openai", "base_url": f"{emulator.base_url}/v1", "token": "t-1234"},
        ]
    )
    done = cli("--config", config, "assistants")
    assert done.code == 0, done.err
    assert "emu (agent)" in done.out
    assert "models (openai)" in done.out
    assert "markdown" in done.out
    listed = json.loads(cli("--config", config, "assistants", "-s", "models", "--json").out)
    assert [r["server"] for r in listed] == ["models"]
    assert "echo" in [a["id"] for a in listed[0]["assistants"]]
    bad = {"name": "emu", "kind": "devic", "base_url": emulator.base_url, "token": "bad-token"}
    refused = cli("--config", write_config([bad]), "assistants")
    assert refused.code == 3
    assert refused.err.startswith("devic-tui: server 'emu' refused the token (401)")
    assert cli("--config", config, "assistants", "-s", "nope").code == 2
