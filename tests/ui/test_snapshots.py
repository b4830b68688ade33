"""SVG snapshots of each screen (pytest-textual-snapshot), made deterministic: fixed history and
times, UTC, no blinking cursor, fixed terminal sizes. Update with `pytest --snapshot-update`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from devic_tui.app import DevicTuiApp
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.screens.main import MainScreen
from devic_tui.screens.upload import UploadScreen
from devic_tui.widgets.queue_bar import Outgoing
from tests.ui.conftest import pick, send, settle, wait_until
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


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times and ages as of one fixed moment, and a stopwatch that stands still, so a screen with
    answers under way is the same whenever it is taken."""
    moment = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
    for module in ("devic_tui.records", "devic_tui.turn", "devic_tui.service", "devic_tui.screens.main"):
        monkeypatch.setattr(f"{module}.now", lambda: moment)
    monkeypatch.setattr("devic_tui.widgets.status_bar.monotonic", lambda: 1000.0)


def test_several_chats_at_once(
    make_app: Callable[..., DevicTuiApp], snap_compare: Any, emulator: EmulatorServer, frozen_clock: None
) -> None:
    """The chat on screen streams with a message queued behind its answer; another chat's answer
    is coming off screen (…), a third's is done and unread (•); the header counts the one coming."""
    emulator.reset(EmulatorOptions(hang_seconds=60, slow_delay=0.0))
    app = make_app()
    save_all(app.service.store, tour_conversation())

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await settle(pilot)
        unread = await pick(pilot, screen, "demo-agent", "echo")
        unread.composer.load_text("kept")
        elsewhere = await pick(pilot, screen, "demo-devs", "hang")
        await send(pilot, screen, "an answer that waits")
        await wait_until(pilot, lambda: elsewhere.busy)
        here = await pick(pilot, screen, "demo-devs", "hang")
        await send(pilot, screen, "the question on screen")
        await wait_until(pilot, lambda: here.turn is not None and here.turn.answer_length > 0)
        await send(pilot, screen, "a question queued behind the answer")
        unread.composer.load_text("")
        unread.send(Outgoing("read me later", []))
        await wait_until(pilot, lambda: screen.model.mark(unread.conversation.id) == "•")
        await pilot.pause(0.3)
        pilot.app.clear_notifications()
        still(pilot.app)  # type: ignore[arg-type]
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_context_meter_colours(snap_compare: Any) -> None:
    """The meter under half the window, from half (warning colour) and from 80 % (error colour),
    an estimate marked `~`, and a window nobody gave; with a limit warning beside one."""
    from textual.app import App, ComposeResult

    from devic_tui.context_meter import ContextWindow
    from devic_tui.context_use import ContextUse
    from devic_tui.widgets.status_bar import StatusBar

    readings = [
        ContextUse(tokens=9_800, estimated=False, window=ContextWindow(tokens=32_768, source="server")),
        ContextUse(tokens=17_000, estimated=True, window=ContextWindow(tokens=32_768, source="server")),
        ContextUse(tokens=29_500, estimated=False, window=ContextWindow(tokens=32_768, source="config")),
        ContextUse(tokens=1_234, estimated=True, window=ContextWindow()),
    ]

    class Meters(App[None]):
        def compose(self) -> ComposeResult:
            for _ in readings:
                yield StatusBar()

        def on_mount(self) -> None:
            for bar, reading in zip(self.query(StatusBar), readings, strict=True):
                bar.set_meter(reading)
            self.query(StatusBar).last().set_limit("limit 3/100 requests, resets in 4 m")

    assert snap_compare(Meters(), terminal_size=(80, 6))


def test_assistant_details_panel(make_app: Callable[..., DevicTuiApp], snap_compare: Any) -> None:
    """F5 on a Devs AI: its details, greeting and instructions, and the ways on to its knowledge."""

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs", "markdown")
        await settle(pilot)
        await pilot.press("f5")
        await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == "AssistantDetailsScreen")
        await pilot.pause(0.2)
        still(pilot.app)  # type: ignore[arg-type]

    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=run_before)
