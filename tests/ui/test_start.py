"""The app as the command line starts it: the first frame (a composer taking keys) before the config
is read, what is typed then carried into the first chat, Enter pressed then sending once the chat
is open, and a config that cannot be used ending the app with its error."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from devic_tui import launch
from devic_tui.app import DevicTuiApp
from devic_tui.config import ConfigError
from devic_tui.emulator import EmulatorServer
from devic_tui.screens.main import MainScreen
from devic_tui.screens.start import StartScreen
from devic_tui.widgets.composer import Composer
from tests.ui.conftest import settle, wait_until


@pytest.fixture
def held_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Reading the config (in its thread) waits until the test sets the event: the test acts on
    the start screen for certain, however fast or loaded the machine."""
    go = threading.Event()
    real = launch.prepare

    def held(*args: object, **kwargs: bool) -> launch.Launch:
        go.wait(10)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(launch, "prepare", held)
    yield go
    go.set()


def write_config(path: Path, emulator: EmulatorServer, *, theme: str = "dracula") -> Path:
    path.write_text(
        f'theme = "{theme}"\n\n[[servers]]\nname = "local"\nkind = "openai"\n'
        f'base_url = "{emulator.base_url}/v1"\ntoken = "t"\n',
        "utf-8",
    )
    path.chmod(0o600)
    return path


async def test_the_first_frame_takes_keys_and_they_reach_the_first_chat(
    emulator: EmulatorServer, tmp_path: Path, held_start: threading.Event
) -> None:
    app = DevicTuiApp.starting(write_config(tmp_path / "config.toml", emulator))
    async with app.run_test(size=(120, 36)) as pilot:
        assert isinstance(app.screen, StartScreen)
        assert app.theme == "dracula"  # from the first frame on, not after the config is read
        assert isinstance(app.focused, Composer)
        await pilot.press(*"early words")
        held_start.set()
        screen = await settle(pilot)
        assert screen.current is not None
        assert screen.current.composer.text == "early words"
        assert screen.current.composer.has_focus
        assert not screen.current.conversation.messages


async def test_help_opened_while_starting_gives_way_to_the_main_screen(
    emulator: EmulatorServer, tmp_path: Path, held_start: threading.Event
) -> None:
    app = DevicTuiApp.starting(write_config(tmp_path / "config.toml", emulator))
    async with app.run_test(size=(120, 36)) as pilot:
        start = app.screen
        assert isinstance(start, StartScreen)
        await pilot.press(*"kept", "f1")
        assert app.screen_stack[-2] is start
        held_start.set()
        screen = await settle(pilot)
        assert [type(s).__name__ for s in app.screen_stack] == ["Screen", "MainScreen"]
        assert screen.current is not None
        assert screen.current.composer.text == "kept"


async def test_enter_on_the_first_frame_sends_once_the_chat_is_open(
    emulator: EmulatorServer, tmp_path: Path, held_start: threading.Event
) -> None:
    app = DevicTuiApp.starting(write_config(tmp_path / "config.toml", emulator))
    async with app.run_test(size=(120, 36)) as pilot:
        assert isinstance(app.screen, StartScreen)
        await pilot.press(*"sent early", "enter")
        held_start.set()
        screen = await settle(pilot)
        assert screen.current is not None
        await wait_until(pilot, lambda: len(screen.current.conversation.messages) == 2)  # type: ignore[union-attr]
        assert screen.current.conversation.messages[0].content == "sent early"
        assert screen.current.composer.text == ""


async def test_a_config_that_cannot_be_used_ends_the_app_with_its_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[servers]]\nname = "x"\nkind = "nope"\n', "utf-8")
    app = DevicTuiApp.starting(config)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.startup_error is not None)
    assert isinstance(app.startup_error, ConfigError)
    assert "kind" in str(app.startup_error)
    assert app.return_code == 2


async def test_the_demo_starts_its_emulator_after_the_first_frame(tmp_path: Path) -> None:
    app = DevicTuiApp.starting(tmp_path / "absent.toml", demo=True)
    async with app.run_test(size=(120, 36)) as pilot:
        assert isinstance(app.screen, StartScreen)
        assert "Loading" in str(app.screen.query_one("#sidebar", Static).render())
        screen = await settle(pilot)
        assert isinstance(screen, MainScreen)
        assert app.launch is not None
        emulator = app.launch.emulator
        assert emulator is not None
    assert app.launch.emulator is None, "the emulator is stopped when the app ends"


def test_the_app_module_leaves_pydantic_and_httpx_for_after_the_first_frame() -> None:
    """What the first frame imports: Textual and a few small modules of ours, not pydantic,
    pydantic-settings, httpx or the Markdown parser (each costs tens of milliseconds at start)."""
    code = (
        "import sys, devic_tui.app, devic_tui.cli\n"
        "heavy = {'pydantic', 'pydantic_settings', 'httpx', 'tomlkit', 'markdown_it'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
