"""SVG snapshots of each screen (pytest-textual-snapshot), made deterministic: fixed history and
times, UTC, no blinking cursor, fixed terminal sizes. Update with `pytest --snapshot-update`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from devic_tui.app import DevicTuiApp
from devic_tui.screens.main import MainScreen
from devic_tui.screens.upload import UploadScreen
from tests.ui.conftest import settle
from tests.ui.history import save_all, tour_conversation

FILES = Path(__file__).parent / "files"


def still(app: DevicTuiApp) -> None:
    """No cursors: a snapshot must not depend on when it was taken (blink phase, focus races)."""
    for widget in app.screen.query("TextArea, Input"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    app.screen.set_focus(None)


async def open_tour(pilot: Pilot[Any]) -> None:
    screen = await settle(pilot)
    screen.open_conversation("tour0001")
    await pilot.pause(0.4)
    still(pilot.app)  # type: ignore[arg-type]
    await pilot.pause(0.1)


def test_main_screen_with_a_conversation(make_app: Callable[..., DevicTuiApp], snap_compare: Any) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation())
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_tour)


def test_small_terminal_80x24(make_app: Callable[..., DevicTuiApp], snap_compare: Any) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation())
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_tour)


def test_help_screen(make_app: Callable[..., DevicTuiApp], snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        still(pilot.app)  # type: ignore[arg-type]
        await pilot.press("f1")
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)


def test_search_screen(make_app: Callable[..., DevicTuiApp], snap_compare: Any) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation())

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        still(pilot.app)  # type: ignore[arg-type]
        await pilot.press("ctrl+f", *"table")
        await pilot.pause(0.6)
        still(pilot.app)  # type: ignore[arg-type]

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_upload_dialog(
    make_app: Callable[..., DevicTuiApp], snap_compare: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FILES)  # a relative start folder: the snapshot must not show where the checkout is

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await settle(pilot)
        assert isinstance(screen, MainScreen)
        still(pilot.app)  # type: ignore[arg-type]
        note = "demo-agent has no file upload: text files are inlined."
        pilot.app.push_screen(UploadScreen(Path("."), note))
        await pilot.pause(0.5)
        still(pilot.app)  # type: ignore[arg-type]

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)
