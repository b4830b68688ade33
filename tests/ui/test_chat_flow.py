"""Pilot tests of the main chat flows against the emulator over loopback: send and stream, stop,
a dropped connection, retry, the tool-call form, new chat and the sidebar."""

from __future__ import annotations

from collections.abc import Callable

from devic_tui.app import DevicTuiApp
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.sidebar_model import AssistantRef
from tests.ui.conftest import current, pick, send, settle, sidebar_text, wait_until


async def test_send_streams_an_answer_and_saves_it(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "hello emulator")
        screen = await settle(pilot)
        views = current(screen).pane.views()
        assert [v.data.role for v in views] == ["user", "assistant"]
        assert "hello emulator" in views[1].data.content
        assert views[1].data.status == "complete"
        assert current(screen).conversation is not None
        stored = app.service.store.load(current(screen).conversation.id)
        assert [m.status for m in stored.messages] == ["complete", "complete"]
        assert stored.remote_id
        assert stored.title == "hello emulator"


async def test_escape_stops_and_keeps_the_text(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(slow_delay=0.2))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "slow")
        await send(pilot, screen, "write a lot")
        await wait_until(pilot, lambda: current(screen).pane.views()[-1].streamed_chars, within=2.0)
        await pilot.press("escape")
        screen = await settle(pilot)
        answer = current(screen).pane.views()[-1].data
        assert answer.status == "stopped"
        assert current(screen).conversation is not None
        stored = app.service.store.load(current(screen).conversation.id)
        assert stored.messages[-1].status == "stopped"
        assert stored.messages[-1].content == answer.content


async def test_dropped_connection_is_marked_interrupted(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "cut")
        await send(pilot, screen, "please answer")
        screen = await settle(pilot)
        answer = current(screen).pane.views()[-1]
        assert answer.data.status == "interrupted"
        assert answer.data.content  # the text before the cut is kept
        assert answer.data.error
        assert "broke off" in answer.data.error
        assert answer.has_class("-partial")


async def test_retry_answers_the_last_message_again(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "once more")
        screen = await settle(pilot)
        first = current(screen).pane.views()[-1].data
        await pilot.press("ctrl+r")
        await pilot.pause(0.1)
        screen = await settle(pilot)
        views = current(screen).pane.views()
        assert [v.data.role for v in views] == ["user", "assistant"]
        assert views[-1].data.id != first.id
        assert views[-1].data.branch == (2, 2)  # the first answer stays, as an alternative
        assert "once more" in views[-1].data.content
        stored = app.service.store.load(current(screen).conversation.id)
        assert [m.id for m in stored.messages if m.role == "assistant"] == [first.id, views[-1].data.id]


async def test_new_chat_and_sidebar_lists_it(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "first chat")
        screen = await settle(pilot)
        first = current(screen).conversation
        await pilot.press("ctrl+n")
        await pilot.pause(0.1)
        assert current(screen).conversation is not first
        assert current(screen).pane.views() == []
        assert "first chat" in sidebar_text(screen)


async def test_sidebar_filter_narrows_assistants(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pilot.press("f2")
        screen.sidebar.query_one("#sidebar-filter").focus()
        await pilot.press(*"markd")
        await pilot.pause(0.1)
        shown = [
            node.data.assistant.id
            for server in screen.sidebar.chat_tree.root.children
            for node in server.children
            if isinstance(node.data, AssistantRef)
        ]
        assert shown
        assert all(a == "markdown" for a in shown)


async def test_copy_puts_the_last_answer_on_the_clipboard(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "copy me")
        screen = await settle(pilot)
        await pilot.press("f8")
        assert app.clipboard == current(screen).pane.views()[-1].data.content


async def test_quitting_while_an_answer_streams_saves_it_and_exits_cleanly(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(slow_delay=0.2))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "slow")
        await send(pilot, screen, "slowly please")
        await wait_until(pilot, lambda: current(screen).pane.views()[-1].streamed_chars, within=2.0)
        conversation_id = current(screen).conversation.id if current(screen).conversation else ""
        await pilot.press("ctrl+q")
    assert app.return_code in (None, 0)
    stored = app.service.store.load(conversation_id)
    assert stored.messages[-1].status == "stopped"
    assert stored.messages[-1].content
