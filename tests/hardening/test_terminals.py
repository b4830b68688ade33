"""Terminals: usable at 80x24 (composer, status line and footer whole; the sidebar folded away and
Ctrl+B bringing it back), clean resizes, NO_COLOR respected, and everything reachable without a
mouse (every command-palette entry of ours has a key)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from textual.app import App
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header

from devic_tui.app import DevicTuiApp, keyed_bindings
from devic_tui.screens.main import NARROW_WIDTH, MainScreen
from tests.hardening.conftest import screen_text
from tests.ui.conftest import current, send, settle
from tests.ui.history import save_all, tour_conversation


def assert_whole(widget: Widget, screen: Region, *, min_height: int = 1) -> None:
    region = widget.region
    assert widget.display, widget
    assert region.height >= min_height, (widget, region)
    assert screen.contains_region(region), (widget, region, screen)


def assert_usable(screen: MainScreen) -> None:
    area = screen.region
    assert_whole(screen.query_one(Header), area)
    assert_whole(current(screen).composer, area, min_height=3)
    assert_whole(current(screen).status, area)
    assert_whole(screen.query_one(Footer), area)
    assert_whole(current(screen).pane, area, min_height=5)
    # stacked top to bottom without overlap: transcript, composer, status line, footer
    assert current(screen).pane.region.bottom <= current(screen).composer.region.y
    assert current(screen).composer.region.bottom <= current(screen).status.region.y
    assert current(screen).status.region.bottom <= screen.query_one(Footer).region.y
    if not sidebar_shown(screen):
        assert current(screen).composer.region.width >= area.width - 2  # the messages get the room


def sidebar_shown(screen: MainScreen) -> bool:
    return screen.sidebar.display and screen.sidebar.region.width > 0


async def test_80x24_shows_composer_status_and_footer_and_folds_the_sidebar(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot)
        screen.open_conversation("tour0001")
        await pilot.pause(0.3)
        assert not sidebar_shown(screen)
        assert_usable(screen)
        text = screen_text(app)
        assert "^q Quit" in text
        assert "ready" in text
        await pilot.press("ctrl+b")
        await pilot.pause(0.1)
        assert sidebar_shown(screen)
        assert_whole(screen.sidebar, screen.region)
        assert_whole(current(screen).composer, screen.region, min_height=3)
        await pilot.press("ctrl+b")
        await pilot.pause(0.1)
        assert not sidebar_shown(screen)
        await pilot.press("ctrl+n")  # a new chat, by key, and it still chats
        await pilot.pause(0.1)
        await send(pilot, screen, "hello at 80 columns")
        screen = await settle(pilot)
        assert current(screen).pane.views()[-1].data.status == "complete"
        assert_usable(screen)


async def test_resizing_keeps_the_layout_sane(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        for size, wide in (((120, 40), True), ((80, 24), False), ((60, 20), False), ((120, 40), True)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            assert screen.region.size == size
            assert sidebar_shown(screen) is wide, size
            assert_usable(screen)
            if wide:
                assert screen.sidebar.region.right <= current(screen).pane.region.x
        assert NARROW_WIDTH == 100


def test_no_color_is_respected(make_app: Callable[..., DevicTuiApp], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_app().no_color is True
    monkeypatch.delenv("NO_COLOR")
    assert make_app().no_color is False


def textual_commands(app: App[Any], screen: MainScreen) -> set[str]:
    return {command.title for command in App.get_system_commands(app, screen)}


async def test_every_palette_entry_of_ours_has_a_key(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        builtin = textual_commands(app, screen)
        by_action = {binding.action: binding for binding in keyed_bindings()}
        ours = [c for c in app.get_system_commands(cast(Screen[object], screen)) if c.title not in builtin]
        assert len(ours) > 10
        for command in ours:
            name = getattr(command.callback, "__name__", "")
            assert name.startswith("action_"), command
            binding = by_action.get(name.removeprefix("action_"))
            assert binding is not None, f"{command.title} has no key binding"
            assert binding.key, command.title
        # and each key really reaches its action, with no mouse at all
        await pilot.press("f1")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, MainScreen)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen)
