"""Copying (F8, and F9 for a code block) sends the text to the terminal (OSC 52) and to the system
clipboard through pyperclip, off the event loop, and the notification says which of the two the
text reached."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pyperclip
import pytest
from textual.app import App
from textual.pilot import Pilot

from devic_tui import clipboard
from devic_tui.app import DevicTuiApp
from tests.hardening.conftest import screen_text
from tests.ui.conftest import current, pick, send, settle, wait_until


def copy_notes(app: App[Any]) -> list[str]:
    return [n.message for n in app._notifications if n.message.startswith("Copied")]


async def copy_the_last_answer(pilot: Pilot[None]) -> str:
    """Chat with the echo assistant, press F8, wait for the notification; the answer's text."""
    app = pilot.app
    screen = await settle(pilot)
    await pick(pilot, screen, "demo-agent", "echo")
    await send(pilot, screen, "copy me")
    screen = await settle(pilot)
    await pilot.press("f8")
    await wait_until(pilot, lambda: copy_notes(app))
    await pilot.pause(0.1)
    return current(screen).pane.views()[-1].data.content


@pytest.fixture
def xclip(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """pyperclip finding xclip: what it was given, and whether that was on the event loop's thread."""
    taken: list[tuple[str, bool]] = []

    def copy_xclip(text: str) -> None:
        taken.append((text, threading.current_thread() is threading.main_thread()))

    monkeypatch.setattr(pyperclip, "copy", copy_xclip)
    return taken


async def test_copy_reaches_the_system_clipboard_and_the_terminal_and_says_so(
    make_app: Callable[..., DevicTuiApp], xclip: list[tuple[str, bool]]
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        answer = await copy_the_last_answer(pilot)
        assert xclip == [(answer, False)]  # the subprocess ran in a worker thread
        assert app.clipboard == answer  # OSC 52 went too
        assert copy_notes(app) == [
            f"Copied {len(answer):,} characters to the system clipboard (xclip) and via the terminal "
            "(OSC 52)."
        ]
        shown = " ".join(screen_text(app).split())
        assert "to the system clipboard (xclip)" in shown


async def test_with_no_system_clipboard_the_copy_says_it_went_through_the_terminal_only(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()  # the UI tests' pyperclip finds no clipboard (tests/ui/conftest.py)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        answer = await copy_the_last_answer(pilot)
        assert app.clipboard == answer
        assert copy_notes(app) == [
            f"Copied {len(answer):,} characters via the terminal only (OSC 52); no system clipboard "
            "found — install xclip, xsel or wl-clipboard."
        ]
        shown = " ".join(screen_text(app).split())
        assert "via the terminal only" in shown
        assert "install xclip, xsel or" in shown


def test_each_pyperclip_mechanism_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def copy_wl(text: str) -> None:
        pass

    def copy_something_new(text: str) -> None:
        pass

    monkeypatch.setattr(pyperclip, "copy", copy_wl)
    assert clipboard.copy_to_system_blocking("x") == "wl-copy"
    monkeypatch.setattr(pyperclip, "copy", copy_something_new)
    assert clipboard.copy_to_system_blocking("x") == "something_new"


async def test_a_clipboard_tool_that_hangs_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def copy_xsel(text: str) -> None:
        time.sleep(0.5)

    monkeypatch.setattr(pyperclip, "copy", copy_xsel)
    monkeypatch.setattr(clipboard, "SYSTEM_COPY_TIMEOUT", 0.05)
    assert await clipboard.copy_to_system_clipboard("x") is None
