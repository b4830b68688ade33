"""The config file and tokens: a token in a file others can read earns a warning (from `config check`
and every command, the TUI included), the starter file is private, a token from `token_command` is
never written down, and plain http:// to another machine is refused unless the server opts out, in
which case the app warns."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from devic_tui.app import DevicTuiApp
from devic_tui.config import ServerConfig, Settings, load_settings, permission_warnings
from devic_tui.emulator import EmulatorServer
from devic_tui.models import AssistantInfo
from devic_tui.providers.errors import InsecureURLError
from devic_tui.providers.registry import create_provider
from devic_tui.screens.presenters import insecure_http_warnings
from devic_tui.service import ChatService
from devic_tui.starter_config import write_starter_config
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.themes import save_theme_choice
from tests.cli.conftest import Result, agent_server
from tests.ui.conftest import settle

COMMAND_TOKEN = "tok-cmd-5e8d21b7"


def token_config(write_config: Callable[..., Path], emulator: EmulatorServer, mode: int) -> Path:
    path = write_config([agent_server(emulator.base_url, token="file-token-77aa")])
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_readable_token_file_is_warned_about(
    write_config: Callable[..., Path], emulator: EmulatorServer, mode: int
) -> None:
    path = token_config(write_config, emulator, mode)
    [warning] = permission_warnings(load_settings(path), path)
    assert str(path) in warning
    assert "chmod 600" in warning


def test_a_private_token_file_or_one_without_a_token_is_not(
    write_config: Callable[..., Path], emulator: EmulatorServer
) -> None:
    private = token_config(write_config, emulator, 0o600)
    assert permission_warnings(load_settings(private), private) == []
    server = {k: v for k, v in agent_server(emulator.base_url, token_env="X").items() if k != "token"}
    no_token = write_config([server])
    no_token.chmod(0o644)
    assert permission_warnings(load_settings(no_token), no_token) == []


def test_config_check_and_other_commands_print_the_warning(
    write_config: Callable[..., Path], emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    path = token_config(write_config, emulator, 0o644)
    for args in (["config", "check"], ["chats"], ["ask", "-a", "echo", "hi"]):
        done = cli("--config", path, *args)
        assert f"devic-tui: warning: {path} holds a token and can be read by other users" in done.err, args
        assert "file-token-77aa" not in done.err + done.out


async def test_the_tui_start_shows_the_warning(
    write_config: Callable[..., Path], emulator: EmulatorServer
) -> None:
    """The app reads its config after its first frame, so the warning is a notice in the app (printed
    before the app took the terminal, it was never seen)."""
    path = token_config(write_config, emulator, 0o644)
    app = DevicTuiApp.starting(path)
    async with app.run_test() as pilot:
        await settle(pilot)
        told = [n.message for n in app._notifications]
    assert any("holds a token and can be read by other users" in text for text in told)


def test_the_starter_config_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = write_starter_config(tmp_path / "a" / "config.toml")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        path.chmod(0o666)
        write_starter_config(path, force=True)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_saving_the_theme_keeps_the_file_private(tmp_path: Path) -> None:
    path = write_starter_config(tmp_path / "config.toml")
    save_theme_choice(path, "nord")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings(path).theme == "nord"


async def test_a_token_command_output_is_never_written(
    emulator: EmulatorServer,
    tmp_path: Path,
    write_config: Callable[..., Path],
    cli_process: Callable[..., Result],
) -> None:
    base = f"{emulator.base_url}/v1"
    good = ServerConfig(name="cmd", kind="openai", base_url=base, token_command=f"echo {COMMAND_TOKEN}")
    # the command's output really is the token sent: the emulator refuses exactly `bad-token`
    refused = ServerConfig(name="cmd-bad", kind="openai", base_url=base, token_command="echo bad-token")
    store = TranscriptStore(tmp_path / "data" / "transcripts")
    service = ChatService(Settings(servers=[good, refused]), store=store)
    for name in ("cmd", "cmd-bad"):
        conversation = service.new_conversation(name, AssistantInfo(id="echo", name="echo"))
        turn = await service.start_turn(conversation, "hello", [])
        async for _ in turn.events():
            pass
        assert turn.answer.status == ("complete" if name == "cmd" else "failed"), turn.answer
    assert "refused the token" in (turn.answer.error or "")
    await service.aclose()
    server = {k: v for k, v in agent_server(emulator.base_url).items() if k != "token"}
    server["token_command"] = f"echo {COMMAND_TOKEN}"
    config = write_config([server])
    done = cli_process("--config", config, "ask", "-a", "echo", "hello from the command line")
    assert done.code == 0, done.err
    assert_not_written(COMMAND_TOKEN, tmp_path, but=config)


def assert_not_written(secret: str, root: Path, *, but: Path) -> None:
    written = [p for p in root.rglob("*") if p.is_file() and p != but]
    assert sum(1 for p in written if "transcripts" in p.parts) >= 3
    for path in written:
        assert secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    "url", ["http://example.com/v1", "http://192.168.1.20:8080", "http://localhost.evil.io"]
)
def test_plain_http_elsewhere_is_refused_with_a_clear_message(url: str) -> None:
    server = ServerConfig(name="far", kind="openai", base_url=url, token="t-1234")
    with pytest.raises(InsecureURLError) as refused:
        create_provider(server)
    message = str(refused.value)
    assert "plain http://" in message
    assert "allow_insecure_http" in message
    assert "https://" in message


def test_loopback_and_https_earn_no_warning(emulator: EmulatorServer) -> None:
    servers = [
        ServerConfig(name="a", kind="openai", base_url=f"{emulator.base_url}/v1"),
        ServerConfig(name="b", kind="openai", base_url="http://localhost:9/v1", allow_insecure_http=True),
        ServerConfig(name="c", kind="openai", base_url="https://api.example.com/v1"),
    ]
    assert insecure_http_warnings(servers) == []


async def test_the_app_says_why_a_refused_server_is_missing_and_warns_for_an_opted_out_one(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    refused = ServerConfig(
        name="far", kind="openai", base_url="http://far.invalid/v1", token="t-1234", max_retries=0
    )
    opted = ServerConfig(
        name="optout",
        kind="openai",
        base_url="http://optout.invalid/v1",
        token="t-1234",
        allow_insecure_http=True,
        max_retries=0,
        connect_timeout=0.5,
    )
    app = make_app(servers=[refused, opted])
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        far = screen.model.entry("far")
        assert far is not None
        assert far.error
        assert "plain http://" in far.error
        assert "allow_insecure_http" in far.error
        warnings = [n.message for n in app._notifications if n.title == "Unencrypted"]
        assert any(w.startswith("optout talks to optout.invalid over plain http://") for w in warnings)
        assert all("unencrypted" in w for w in warnings)


def test_only_opted_out_servers_earn_the_unencrypted_warning() -> None:
    refused = ServerConfig(name="far", kind="openai", base_url="http://far.example/v1")
    opted = ServerConfig(
        name="near", kind="openai", base_url="http://near.example/v1", allow_insecure_http=True
    )
    [warning] = insecure_http_warnings([refused, opted])
    assert warning.startswith("near talks to near.example")
