"""Pilot tests of the main chat flows against the emulator: send and stream, stop, interruption."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from devic_tui.app import DevicTuiApp
from devic_tui.screens.main import MainScreen


async def wait_idle(app: DevicTuiApp, pilot: object, screen: MainScreen) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10.0
    while loop.time() < deadline:
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        if not screen.streaming and screen.sidebar.tree.root.children:
            return
    raise AssertionError("the app did not settle")


async def test_send_streams_an_answer_and_saves_it(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        await wait_idle(app, pilot, screen)
        assert screen.conversation is not None
        screen.composer.load_text("hello emulator")
        await pilot.press("enter")
        await pilot.pause(0.1)
        await wait_idle(app, pilot, screen)
        views = screen.pane.views()
        assert [v.data.role for v in views] == ["user", "assistant"]
        assert "hello emulator" in views[1].data.content
        assert views[1].data.status == "complete"
        stored = app.service.store.load(screen.conversation.id)
        assert [m.status for m in stored.messages] == ["complete", "complete"]
        assert stored.remote_id
