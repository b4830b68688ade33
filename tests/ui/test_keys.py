"""Every key acts from anywhere: each chat key works while the composer has focus and types nothing
into it (pressed the way a terminal sends it), with its default key and after a remap; Enter is
the `send` binding and can be remapped; F1 lists the keys as the keymap left them; the ids the
README and the config's documentation use exist; the rename dialog opens with the old title
selected and the key that opened it typed nowhere; Ctrl+G leaves the cursor at the end; a disk
that refuses a rename is a notice, not the end of the app; the chat finder shows titles as typed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette

from devic_tui import config
from devic_tui.app import DevicTuiApp, keyed_bindings
from devic_tui.screens.dialogs import PromptScreen
from devic_tui.screens.help import HelpScreen
from devic_tui.screens.keys import SCREEN_BINDINGS
from devic_tui.screens.main import MainScreen
from tests.ui.conftest import current, modal, pick, press_as_terminal, send, settle, wait_until
from tests.ui.history import save_all, tour_conversation

ROOT = Path(__file__).resolve().parents[2]


def recorder(screen: MainScreen, action: str) -> list[str]:
    """Replace the screen's action with one that notes it was called (Textual finds actions on
    the instance first)."""
    calls: list[str] = []
    setattr(screen, f"action_{action}", lambda *args: calls.append(action))
    return calls


@pytest.mark.parametrize("binding", SCREEN_BINDINGS, ids=[b.id or b.key for b in SCREEN_BINDINGS])
async def test_each_chat_key_acts_from_the_composer_and_types_nothing(
    make_app: Callable[..., DevicTuiApp], binding: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = current(screen)
        view.composer.focus()
        view.composer.load_text("draft")
        await pilot.pause()
        calls = recorder(screen, binding.action)
        for key in binding.key.split(","):
            await press_as_terminal(pilot, key)
        assert calls == [binding.action] * len(binding.key.split(","))
        assert view.composer.text == "draft"


async def test_remapped_keys_act_and_f1_lists_them(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app(keymap={"rename-chat": "alt+n", "send": "ctrl+s", "new_chat": "f6"})
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = current(screen)
        view.composer.focus()
        view.composer.set_text("sent with ctrl+s")
        await press_as_terminal(pilot, "enter")  # no longer sends: a new line
        assert view.composer.text == "sent with ctrl+s\n"
        view.composer.set_text("sent with ctrl+s")
        await press_as_terminal(pilot, "ctrl+s")
        await settle(pilot)
        assert view.pane.views()[0].data.content == "sent with ctrl+s"
        calls = recorder(screen, "rename_chat")
        view.composer.set_text("draft")
        await press_as_terminal(pilot, "alt+n")
        assert calls == ["rename_chat"]
        assert view.composer.text == "draft"  # the remapped key typed nothing
        await press_as_terminal(pilot, "alt+r")  # the old key is free again: a plain letter
        assert calls == ["rename_chat"]
        new_chat = recorder(screen, "new_chat")  # an id written as an environment variable would
        await press_as_terminal(pilot, "f6")
        assert new_chat == ["new_chat"]
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        keys = {binding_id: key for key, _, binding_id in help_screen.rows}
        assert keys["send"] == app.get_key_display(SCREEN_BINDINGS[0].with_key("ctrl+s"))
        assert keys["rename-chat"] == app.get_key_display(SCREEN_BINDINGS[0].with_key("alt+n"))
        assert keys["new-chat"] == "f6"
        assert keys["search"] == "^f"  # untouched keys as they were


def test_binding_ids_are_kebab_case_and_unique() -> None:
    ids = [binding.id for binding in keyed_bindings()]
    assert all(binding_id and re.fullmatch(r"[a-z]+(-[a-z]+)*", binding_id) for binding_id in ids), ids
    assert len(ids) == len(set(ids))


TERMINAL_WORD_MOTIONS = {"alt+b", "alt+f"}
"""Keys a terminal sends as ESC b / ESC f, which Textual reads as Ctrl+Left / Ctrl+Right (the
word motions of readline and macOS terminals): a binding on them never fires."""


def test_no_key_of_ours_is_one_a_terminal_sends_as_a_word_motion() -> None:
    keys = {key.strip() for binding in keyed_bindings() for key in binding.key.split(",")}
    assert not keys & TERMINAL_WORD_MOTIONS


def test_the_documented_keymap_examples_name_real_ids() -> None:
    ids = {binding.id for binding in keyed_bindings()}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = config.Settings.model_fields["keymap"].description or ""
    source = (ROOT / "devic_tui" / "config.py").read_text(encoding="utf-8")
    keymap_doc = source[source.index("keymap: dict[str, str]") :].split('"""')[1]
    examples = re.findall(r"([a-z][a-z-]+) = \"[^\"]+\"", keymap_doc + documented)
    examples += re.findall(r"`([a-z][a-z-]+) = \"", readme)
    examples += re.findall(r"\| `([a-z][a-z-]+)`", readme)
    assert examples
    assert set(examples) <= ids, set(examples) - ids


async def test_the_rename_dialog_opens_with_the_title_selected_and_the_key_typed_nowhere(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        screen.open_conversation("tour0001")
        await wait_until(pilot, lambda: current(screen).conversation.id == "tour0001")
        view = current(screen)
        view.composer.focus()
        await press_as_terminal(pilot, "alt+r")
        dialog = await modal(pilot, PromptScreen)
        field = dialog.query_one("Input")
        await wait_until(pilot, lambda: dialog.focused is field)
        assert field.value == "A tour of Markdown"  # type: ignore[attr-defined]
        assert field.selected_text == "A tour of Markdown"  # type: ignore[attr-defined]
        await pilot.press(*"Fresh title", "enter")
        await wait_until(pilot, lambda: app.service.store.load("tour0001").title == "Fresh title")
        assert view.composer.text == ""
        assert screen.title == "Fresh title"


async def test_edit_last_puts_the_words_in_the_composer_with_the_cursor_at_the_end(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "first line\nsecond line")
        await settle(pilot)
        await press_as_terminal(pilot, "ctrl+g")
        assert view.composer.text == "first line\nsecond line"
        assert view.composer.cursor_location == view.composer.document.end
        await pilot.press(*" more")
        assert view.composer.text == "first line\nsecond line more"


async def test_a_disk_that_refuses_a_rename_is_a_notice_and_the_app_goes_on(
    make_app: Callable[..., DevicTuiApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation())

    def refuse(*args: object) -> None:
        raise OSError(28, "No space left on device", str(app.service.store.directory))

    monkeypatch.setattr(app.service.store, "rename", refuse)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        screen.open_conversation("tour0001")
        await wait_until(pilot, lambda: current(screen).conversation.id == "tour0001")
        await press_as_terminal(pilot, "alt+r")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"never saved", "enter")
        await wait_until(pilot, lambda: any("No space left" in n.message for n in app._notifications))
        assert app.is_running
        assert isinstance(app.screen, MainScreen)
        assert current(screen).conversation.title == "A tour of Markdown"  # unchanged, as on disk
        await pick(pilot, screen, "demo-agent", "echo")  # and the app still works
        await send(pilot, screen, "still here")
        await settle(pilot)


async def test_the_chat_finder_shows_titles_as_they_were_written(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    hostile = tour_conversation()
    hostile.title = "[bold]B[/bold] and [@click=app.quit]Q[/]"
    save_all(app.service.store, hostile)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press_as_terminal(pilot, "ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.pause(0.3)
        shown = app.export_screenshot()
        assert "[bold]B[/bold] and [@click=app.quit]Q[/]" in shown.replace("&#160;", " ")
        await pilot.press("escape")
        assert app.is_running
