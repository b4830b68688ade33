"""UI fixtures: the app wired to the loopback emulator's demo servers, with its history in tmp_path,
and a helper that waits for the app to settle (servers listed, no answer streaming)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from devic_tui.app import DevicTuiApp
from devic_tui.config import Settings
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorServer
from devic_tui.screens.main import MainScreen
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore


@pytest.fixture
def make_app(emulator: EmulatorServer, tmp_path: Path) -> Callable[..., DevicTuiApp]:
    def make(servers: list[Any] | None = None, **settings_fields: Any) -> DevicTuiApp:
        settings = Settings(servers=servers or demo_servers(emulator.base_url), **settings_fields)
        store = TranscriptStore(tmp_path / "data" / "transcripts", settings.transcript_format)
        service = ChatService(settings, store=store)
        return DevicTuiApp(settings, service=service)

    return make


async def settle(pilot: Pilot[None], *, within: float = 10.0) -> MainScreen:
    """Wait until the servers are listed and no answer is being written; return the main screen."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        await pilot.pause(0.05)
        screen = app.screen
        if isinstance(screen, MainScreen) and screen.servers_loaded and not screen.streaming:
            await pilot.pause(0.05)
            return screen
    raise AssertionError("the app did not settle")


async def wait_until(pilot: Pilot[None], condition: Callable[[], object], *, within: float = 5.0) -> None:
    """Let the app run until `condition()` is true; fail the test when it never becomes so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"waited {within} s for a condition that never held")
        await pilot.pause(0.02)


async def send(pilot: Pilot[None], screen: MainScreen, text: str) -> None:
    screen.composer.focus()
    screen.composer.load_text(text)
    await pilot.press("enter")
    await pilot.pause(0.1)


@pytest.fixture(autouse=True)
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times show in local time: make that UTC so screens are the same on every machine."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
