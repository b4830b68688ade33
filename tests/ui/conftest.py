"""UI fixtures: the app wired to the loopback emulator's demo servers, with its history in tmp_path,
and helpers that wait for the app to settle (servers listed, no answer streaming), start a chat,
send a message and press keys as a terminal sends them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pyperclip
import pytest
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen

from devic_tui.app import DevicTuiApp
from devic_tui.config import Settings
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorServer
from devic_tui.models import AssistantInfo
from devic_tui.screens.main import MainScreen
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.widgets.chat_view import ChatView


@pytest.fixture
def make_app(emulator: EmulatorServer, tmp_path: Path) -> Callable[..., DevicTuiApp]:
    def make(servers: list[Any] | None = None, **settings_fields: Any) -> DevicTuiApp:
        settings = Settings(servers=servers or demo_servers(emulator.base_url), **settings_fields)
        store = TranscriptStore(tmp_path / "data" / "transcripts", settings.transcript_format)
        service = ChatService(settings, store=store)
        return DevicTuiApp(settings, service=service)

    return make


async def settle(pilot: Pilot[None], *, within: float = 10.0) -> MainScreen:
    """Wait until the servers are listed, a chat is on screen (when there is an assistant to chat
    with) and no answer is being written in any chat; return the main screen."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        await pilot.pause(0.05)
        screen = app.screen
        if (
            isinstance(screen, MainScreen)
            and screen.servers_loaded
            and (screen.current is not None or screen.model.default_assistant() is None)
            and not any(view.busy for view in screen.open_views())
        ):
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            return screen
    raise AssertionError("the app did not settle")


async def wait_until(pilot: Pilot[Any], condition: Callable[[], object], *, within: float = 5.0) -> None:
    """Let the app run until `condition()` is true; fail the test when it never becomes so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"waited {within} s for a condition that never held")
        await pilot.pause(0.02)


ScreenT = TypeVar("ScreenT", bound=Screen[Any])


async def modal(pilot: Pilot[Any], kind: type[ScreenT], *, within: float = 5.0) -> ScreenT:
    """Wait until a screen of this kind is on top and has composed (a widget of it holds the
    focus), and return it: a pushed screen is not composed at once, so reading it sooner races."""

    def ready() -> bool:
        screen, focused = pilot.app.screen, pilot.app.focused
        return isinstance(screen, kind) and focused is not None and focused.screen is screen

    await wait_until(pilot, ready, within=within)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


def current(screen: MainScreen) -> ChatView:
    """The chat on screen."""
    assert screen.current is not None, "no chat is on screen"
    return screen.current


async def pick(pilot: Pilot[None], screen: MainScreen, server: str, assistant: str) -> ChatView:
    """Start a new chat with an assistant, as choosing it in the sidebar does (one the server does
    not list is asked for all the same); wait until it shows."""
    before = screen.current
    info = screen.model.assistant(server, assistant) or AssistantInfo(id=assistant, name=assistant)
    screen.start_new_chat(server, info)
    await wait_until(pilot, lambda: screen.current is not before and screen.current is not None)
    return current(screen)


async def send(pilot: Pilot[None], screen: MainScreen, text: str) -> None:
    """Type a message in the chat on screen and press Enter."""
    composer = current(screen).composer
    composer.focus()
    composer.load_text(text)
    await pilot.press("enter")
    await pilot.pause(0.1)


def terminal_character(key: str) -> str | None:
    """The character a terminal sends with a key: Alt+R is ESC then "r", Ctrl+N is 0x0E, Escape
    is 0x1B, Enter is CR; function keys carry none."""
    if key.startswith("alt+") and len(key) == 5:
        return key[-1]
    if key.startswith("ctrl+") and len(key) == 6 and key[-1].isalpha():
        return chr(ord(key[-1]) - ord("a") + 1)
    return {"escape": "\x1b", "enter": "\r", "tab": "\t"}.get(key)


async def press_as_terminal(pilot: Pilot[None], key: str) -> None:
    """Press a key the way a terminal sends it. Textual's pilot sends Alt+R with no character, but
    a terminal's ESC r arrives as "alt+r" carrying "r", which a focused text area types unless a
    binding acts on the key first."""
    pilot.app.post_message(events.Key(key, terminal_character(key)))
    await pilot.pause(0.1)


@pytest.fixture(autouse=True)
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times show in local time: make that UTC so screens are the same on every machine."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def sidebar_lines(screen: MainScreen) -> list[str]:
    """The sidebar's lines as it draws them (expanded nodes' children included), top to bottom."""
    lines: list[str] = []

    def walk(node: Any, depth: int) -> None:
        for child in node.children:
            label = child.label
            lines.append("  " * depth + (label.plain if hasattr(label, "plain") else str(label)))
            if child.is_expanded:
                walk(child, depth + 1)

    walk(screen.sidebar.chat_tree.root, 0)
    return lines


def sidebar_text(screen: MainScreen) -> str:
    return "\n".join(sidebar_lines(screen))


@pytest.fixture(autouse=True)
def no_system_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copying never reaches the developer's own clipboard: by default there is none to reach
    (a test that wants one puts its own `pyperclip.copy` in place)."""

    def copy_unavailable(text: str) -> None:
        raise pyperclip.PyperclipException("no system clipboard in the tests")

    monkeypatch.setattr(pyperclip, "copy", copy_unavailable)
