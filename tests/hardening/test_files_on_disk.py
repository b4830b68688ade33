"""Files on disk: everything the app writes is its owner's alone (files 0600, folders 0700) whatever
the umask, the search index and SQLite's own -wal/-shm files included; saving the theme changes
only the theme in a hand-written config; a second app on a history that did not exist yet is told
about the first; and on Windows neither folder syncing nor `token_command` with backslash paths
breaks."""

from __future__ import annotations

import errno
import logging
import os
import stat
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import pytest

from devic_tui import files, locations
from devic_tui.app import DevicTuiApp
from devic_tui.config import ServerConfig, Settings, load_settings
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorServer
from devic_tui.logs import setup_logging
from devic_tui.providers import tokens
from devic_tui.search_query import parse_search
from devic_tui.service import ChatService
from devic_tui.starter_config import write_starter_config
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.themes import save_theme_choice
from tests.ui.conftest import current, pick, send, settle, wait_until
from tests.unit.store_helpers import conversation

# --- modes ------------------------------------------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def log_handlers() -> Iterator[None]:
    """The log handlers setup_logging adds to the app's logger, removed and closed afterwards."""
    logger = logging.getLogger("devic_tui")
    before = list(logger.handlers)
    yield
    for handler in logger.handlers[:]:
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()


@pytest.fixture
def new_home(hermetic_dirs: Path) -> Path:
    """The test's home folder (XDG dirs inside), not made yet: every folder in it is the app's."""
    assert not hermetic_dirs.exists()
    return hermetic_dirs


def not_private(root: Path) -> list[str]:
    """Every folder under `root` (itself included) that is not 0700 and every file that is not 0600."""
    found = []
    for path in [root, *sorted(root.rglob("*"))]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            found.append(f"{path.relative_to(root)}: {oct(mode)}")
    return found


@pytest.mark.usefixtures("umask_022", "log_handlers")
async def test_everything_the_app_writes_is_private_whatever_the_umask(
    new_home: Path, emulator: EmulatorServer
) -> None:
    config = write_starter_config(locations.config_file())
    setup_logging()
    settings = Settings(servers=demo_servers(emulator.base_url))
    app = DevicTuiApp(settings, config_path=config, service=ChatService(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "keep this between us")
        screen = await settle(pilot)
        chat = current(screen).conversation
        assert chat is not None
        app.theme = "nord"  # saved to the config file
        await wait_until(pilot, lambda: 'theme = "nord"' in config.read_text("utf-8"))
    [handler] = [h for h in logging.getLogger("devic_tui").handlers if isinstance(h, RotatingFileHandler)]
    handler.doRollover()  # the log file opened after a rollover is a new file
    logging.getLogger("devic_tui.test").warning("after the rollover")

    history = locations.transcripts_dir()
    (history / "broken.json").write_text("{ not a transcript", encoding="utf-8")
    service = ChatService(settings)
    try:
        assert {hit.conversation_id for hit in await service.search(parse_search("between"))} == {chat.id}
        assert (history / "quarantine" / "broken.json").exists()
        copy = await service.duplicate(chat)
        await service.delete(copy.id)
        await service.export(chat, locations.data_dir() / "exports" / "chat.md")
        data = locations.data_dir()
        expected = {
            "index.sqlite3",
            "index.sqlite3-wal",
            "index.sqlite3-shm",
            "ui-state.json",
            "devic-tui.log",
            "devic-tui.log.1",
            "exports/chat.md",
            f"transcripts/{chat.id}.json",
            f"transcripts/trash/{copy.id}.json",
            "transcripts/quarantine/broken.json",
        }
        assert expected <= {str(p.relative_to(data)) for p in data.rglob("*")}
        assert not_private(new_home) == []  # SQLite's -wal and -shm files are there now
    finally:
        await service.aclose()
    assert not_private(new_home) == []


@pytest.mark.usefixtures("log_handlers")
def test_an_index_and_log_from_an_older_version_are_made_private(tmp_path: Path) -> None:
    log = locations.log_file()
    log.parent.mkdir(parents=True)
    log.write_text("an older version's log\n", encoding="utf-8")
    log.chmod(0o644)
    setup_logging()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    store = TranscriptStore(tmp_path / "data" / "transcripts")
    store.save(conversation("c1", 2))
    store.close()
    for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
        path = tmp_path / "data" / name
        path.touch()
        path.chmod(0o644)
    reopened = TranscriptStore(tmp_path / "data" / "transcripts")
    assert [s.id for s in reopened.summaries()] == ["c1"]
    for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
        path = tmp_path / "data" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    reopened.close()


# --- the theme in the config file -------------------------------------------------------------------

SERVERS = """
# My servers, the home box first.
[[servers]]
name = "home"  # the one under the desk
kind = "openai"
base_url = "http://127.0.0.1:11434/v1"

[[servers]]
name = "work"
kind = "agent"  # theme = "not this one"
base_url = "https://agents.example.com/v1/api"
"""

CONFIGS = {
    "quoted key, comment after it": (
        '# devic-tui, as I like it\n# (hand-written)\n\n"theme" = "nord"   # dark, for the evenings\n'
        'transcript_format = "json"  # keep JSON\n' + SERVERS,
        '# devic-tui, as I like it\n# (hand-written)\n\n"theme" = "devic-paper"   # dark, for the evenings\n'
        'transcript_format = "json"  # keep JSON\n' + SERVERS,
    ),
    "plain key, single quotes, comment": (
        "# top\ntranscript_format = 'toml'\ntheme='nord'# mine\n" + SERVERS,
        "# top\ntranscript_format = 'toml'\ntheme=\"devic-paper\"# mine\n" + SERVERS,
    ),
    "absent, after the last setting": (
        '# devic-tui\n\ntranscript_format = "json"  # keep JSON\n' + SERVERS,
        '# devic-tui\n\ntranscript_format = "json"  # keep JSON\ntheme = "devic-paper"\n' + SERVERS,
    ),
    "absent, no setting at all": (
        "# only servers here\n" + SERVERS,
        'theme = "devic-paper"\n# only servers here\n' + SERVERS,
    ),
    "absent, empty file": ("", 'theme = "devic-paper"\n'),
    "absent, no newline at the end": (
        'transcript_format = "json"',
        'transcript_format = "json"\ntheme = "devic-paper"\n',
    ),
    "windows line ends": (
        '# top\r\ntheme = "nord" # c\r\n\r\n[[servers]]\r\nname = "x"\r\nkind = "openai"\r\n',
        '# top\r\ntheme = "devic-paper" # c\r\n\r\n[[servers]]\r\nname = "x"\r\nkind = "openai"\r\n',
    ),
    "absent, windows line ends": (
        'show_sidebar = true\r\n\r\n[[servers]]\r\nname = "x"\r\nkind = "openai"\r\n',
        'show_sidebar = true\r\ntheme = "devic-paper"\r\n'
        '\r\n[[servers]]\r\nname = "x"\r\nkind = "openai"\r\n',
    ),
}


@pytest.mark.parametrize(("before", "after"), list(CONFIGS.values()), ids=list(CONFIGS))
def test_saving_the_theme_changes_nothing_else_in_the_config(tmp_path: Path, before: str, after: str) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(before.encode("utf-8"))
    save_theme_choice(path, "devic-paper")
    assert path.read_bytes().decode("utf-8") == after
    parsed = tomllib.loads(after)
    assert parsed == {**tomllib.loads(before), "theme": "devic-paper"}
    assert load_settings(path).theme == "devic-paper"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saving_the_theme_twice_and_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "devic-tui.toml"
    real.parent.mkdir()
    real.write_text(CONFIGS["quoted key, comment after it"][0], encoding="utf-8")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_theme_choice(link, "nord")
    save_theme_choice(link, "devic-paper")
    assert link.is_symlink()  # the dotfile it points at is what changed
    assert real.read_text("utf-8") == CONFIGS["quoted key, comment after it"][1]


def test_a_config_that_no_longer_parses_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("theme = \n", encoding="utf-8")
    with pytest.raises(OSError, match="not valid TOML"):
        save_theme_choice(path, "nord")
    assert path.read_text("utf-8") == "theme = \n"


# --- two instances ----------------------------------------------------------------------------------


def history_notes(app: DevicTuiApp) -> list[str]:
    return [n.message for n in app._notifications if n.title == "History"]


async def test_the_second_app_on_a_history_not_made_yet_is_told_about_the_first(
    make_app: Callable[..., DevicTuiApp], tmp_path: Path
) -> None:
    history = tmp_path / "data" / "transcripts"
    first, second = make_app(), make_app()  # both made before the folder exists
    assert not history.exists()
    async with first.run_test(size=(120, 40), notifications=True) as first_pilot:
        await settle(first_pilot)
        assert history.is_dir()
        async with second.run_test(size=(120, 40), notifications=True) as second_pilot:
            await settle(second_pilot)
            [said] = history_notes(second)
            assert "Another devic-tui" in said
            assert str(history) in said
        assert history_notes(first) == []


# --- Windows ----------------------------------------------------------------------------------------


@pytest.fixture
def folders_refuse_opening(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """os.open on a folder fails as it does on Windows; returns the folders it was asked to open."""
    real_open = os.open
    tried: list[str] = []

    def open_as_windows(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if os.path.isdir(path):
            tried.append(str(path))
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", open_as_windows)
    return tried


def save_new_chat_and_more(directory: Path) -> None:
    store = TranscriptStore(directory)
    chat = conversation("c1", 2)
    store.save(chat)
    store.save_message(chat, chat.messages[-1])
    store.compact("c1")
    store.save(conversation("c2", 1))
    store.delete("c2")
    store.restore("c2")
    store.close()
    reopened = TranscriptStore(directory)
    assert sorted(s.id for s in reopened.summaries()) == ["c1", "c2"]
    assert reopened.load("c1") == chat
    reopened.close()


def test_chats_are_saved_where_folders_cannot_be_opened(
    tmp_path: Path, folders_refuse_opening: list[str]
) -> None:
    save_new_chat_and_more(tmp_path / "transcripts")
    assert folders_refuse_opening  # the folder sync was tried, refused, and skipped


def test_on_windows_folders_are_not_synced(
    tmp_path: Path, folders_refuse_opening: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "on_windows", lambda: True)
    save_new_chat_and_more(tmp_path / "transcripts")
    assert folders_refuse_opening == []


TOKEN_COMMANDS = {
    "windows": (
        True,
        r'"C:\Program Files\Vault\vault.exe" read -field=token secret\devic',
        [r"C:\Program Files\Vault\vault.exe", "read", "-field=token", r"secret\devic"],
    ),
    "windows, unquoted": (True, r"C:\tools\pass.exe show devic", [r"C:\tools\pass.exe", "show", "devic"]),
    "windows, single quotes": (
        True,
        r"op read 'op://Private/devic token'",
        ["op", "read", "op://Private/devic token"],
    ),
    "posix": (False, "pass show 'devic/api token'", ["pass", "show", "devic/api token"]),
    "posix, escapes": (False, r"printf %s\ token", ["printf", "%s token"]),
}


@pytest.mark.parametrize(
    ("windows", "command", "argv"), list(TOKEN_COMMANDS.values()), ids=list(TOKEN_COMMANDS)
)
def test_token_command_is_split_as_the_platform_writes_paths(
    monkeypatch: pytest.MonkeyPatch, windows: bool, command: str, argv: list[str]
) -> None:
    monkeypatch.setattr(files, "on_windows", lambda: windows)
    ran: list[list[str]] = []

    def run(args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(args)
        return subprocess.CompletedProcess(args, 0, stdout="tok-from-command-31c\n", stderr="")

    monkeypatch.setattr(tokens.subprocess, "run", run)
    server = ServerConfig(
        name="vault", kind="openai", base_url="https://example.com/v1", token_command=command
    )
    assert tokens.resolve_token_blocking(server) == "tok-from-command-31c"
    assert ran == [argv]
