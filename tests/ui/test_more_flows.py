"""More flows: edit and resend, switching chats while an answer streams (it goes on and is saved),
a file too large for the server refused before anything is sent, the theme switch saved to the
config, and a key remapped from the config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devic_tui.app import DevicTuiApp
from devic_tui.config import load_settings
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.service import ChatService
from tests.ui.conftest import current, pick, send, settle, wait_until


async def test_edit_last_message_and_send_it_again(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "a tyop here")
        screen = await settle(pilot)
        await pilot.press("ctrl+g")
        assert current(screen).composer.text == "a tyop here"
        current(screen).composer.load_text("a typo here")
        await pilot.press("enter")
        await pilot.pause(0.1)
        screen = await settle(pilot)
        contents = [v.data.content for v in current(screen).pane.views()]
        assert contents[0] == "a typo here"  # a new branch: the old one stays beside it
        assert "a typo here" in contents[1]
        assert current(screen).pane.views()[0].data.branch == (2, 2)
        stored = app.service.store.load(current(screen).conversation.id)
        assert [m.content for m in stored.messages if m.role == "user"] == ["a tyop here", "a typo here"]


async def test_switching_chats_while_streaming_keeps_the_answer_going(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(slow_delay=0.15))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "first chat")
        await settle(pilot)
        first_id = current(screen).conversation.id
        await pick(pilot, screen, "demo-agent", "slow")
        await send(pilot, screen, "take your time")
        slow_id = current(screen).conversation.id
        await wait_until(pilot, lambda: current(screen).pane.views()[-1].streamed_chars, within=2.0)
        assert current(screen).busy
        screen.open_conversation(first_id)
        await wait_until(pilot, lambda: current(screen).conversation.id == first_id)
        await pilot.press("f3")
        screen = await settle(pilot)
        stored = app.service.store.load(slow_id)
        assert stored.messages[-1].status == "complete"
        assert "take your time" in stored.messages[-1].content
        assert current(screen).pane.views()[0].data.content == "first chat"


async def test_a_file_over_the_servers_limit_is_refused_before_sending(
    make_app: Callable[..., DevicTuiApp], tmp_path: Path, emulator: EmulatorServer
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (6 * 1024 * 1024))
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs", "echo")
        await current(screen).add_files([big])
        await wait_until(pilot, lambda: app._notifications, within=2.0)
        assert current(screen).attachment_bar.attachments == []
        [note] = [n.message for n in app._notifications]
        assert "big.bin" in note
        assert "5" in note
        uploads = [r for r in emulator.state.requests_for("devs") if r.path.endswith("/files")]
        assert uploads == []  # refused before any request


async def test_theme_switch_is_saved_and_keys_follow_the_keymap(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    from devic_tui.demo import demo_servers
    from devic_tui.store.transcripts import TranscriptStore

    config = tmp_path / "config.toml"
    config.write_text('theme = "textual-dark"\n\n[keymap]\nnew-chat = "ctrl+t"\npick-theme = "f12"\n')
    settings = load_settings(config).model_copy(update={"servers": demo_servers(emulator.base_url)})
    service = ChatService(settings, store=TranscriptStore(tmp_path / "t"))
    app = DevicTuiApp(settings, config_path=config, service=service)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "hello")
        screen = await settle(pilot)
        first = current(screen).conversation
        await pilot.press("ctrl+t")  # remapped from ctrl+n
        await pilot.pause(0.1)
        assert current(screen).conversation is not first
        app.theme = "devic-paper"
        await pilot.pause(0.1)
    assert load_settings(config).theme == "devic-paper"
    assert 'new-chat = "ctrl+t"' in config.read_text()
