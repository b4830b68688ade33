"""The conversation tree in the app, against the emulator over loopback: edit an early message as a
new branch, answer again, switch between alternatives with [ and ], the branch map, fork, a search
hit on a hidden branch, and every branch as it was after a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import OptionList

from devic_tui.app import DevicTuiApp
from devic_tui.branches import ConversationTree
from devic_tui.emulator import EmulatorServer
from devic_tui.screens.branch_map import BranchMapScreen
from devic_tui.screens.main import MainScreen
from devic_tui.screens.search import SearchScreen
from devic_tui.widgets.chat_view import ChatView
from tests.ui.conftest import current, modal, pick, press_as_terminal, send, settle, wait_until

FILES = Path(__file__).parent / "files"


def contents(view: ChatView) -> list[str]:
    return [v.data.content for v in view.pane.views()]


def headers(view: ChatView) -> list[str]:
    return [str(v.query_one(".message-header").render()) for v in view.pane.views()]


async def three_exchanges(pilot, screen: MainScreen, server: str = "demo-openai") -> ChatView:  # type: ignore[no-untyped-def]
    await pick(pilot, screen, server, "echo")
    for text in ("first question", "second question", "third question"):
        await send(pilot, screen, text)
        await settle(pilot)
    return current(screen)


async def focus_message(pilot, view: ChatView, content: str) -> None:  # type: ignore[no-untyped-def]
    target = next(v for v in view.pane.views() if v.data.content == content)
    target.focus()
    await pilot.pause(0.05)


async def edit_message(pilot, view: ChatView, content: str, new_text: str) -> None:  # type: ignore[no-untyped-def]
    """Edit a message of yours as a person does: focus it, `e`, change the text, Enter."""
    await focus_message(pilot, view, content)
    await pilot.press("e")
    assert view.composer.text == content
    assert view.composer.editing
    view.composer.load_text(new_text)
    await pilot.press("enter")
    await pilot.pause(0.1)
    await settle(pilot)


async def test_edit_an_early_message_makes_a_branch_and_keeps_the_old_one(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await three_exchanges(pilot, screen)
        await edit_message(pilot, view, "second question", "second question, changed")

        shown = contents(view)
        assert shown[:3] == ["first question", shown[1], "second question, changed"]
        assert len(shown) == 4
        assert "second question, changed" in shown[3]
        assert "‹ 2/2 ›" in headers(view)[2]
        assert not view.composer.editing

        stored = app.service.store.load(view.conversation.id)
        assert len(stored.messages) == 8  # the old branch is all there
        tree = ConversationTree(stored)
        assert [m.content for m in tree.shown_path()][2] == "second question, changed"
        assert tree.branch_count() == 2

        # [ goes back to the first alternative: the rest of the conversation follows it.
        await focus_message(pilot, view, "second question, changed")
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: len(view.pane.views()) == 6)
        assert contents(view)[4] == "third question"
        assert "‹ 1/2 ›" in headers(view)[2]
        assert "branch 1 of 2 on screen" in str(view.status.render())
        stored = app.service.store.load(view.conversation.id)
        assert [m.content for m in ConversationTree(stored).shown_path()][-2] == "third question"


async def test_answer_again_keeps_the_first_answer(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await three_exchanges(pilot, screen)
        first_answer = view.pane.views()[1].data
        view.pane.views()[1].focus()
        await pilot.press("r")
        await pilot.pause(0.1)
        await settle(pilot)
        views = view.pane.views()
        assert len(views) == 2  # the new answer's branch ends there
        assert views[1].data.id != first_answer.id
        assert "‹ 2/2 ›" in headers(view)[1]
        stored = app.service.store.load(view.conversation.id)
        answers = [m for m in stored.messages if m.role == "assistant"]
        assert first_answer.id in {m.id for m in answers}
        assert len(answers) == 4

        # Ctrl+R answers the last message again, from anywhere.
        view.composer.focus()
        await press_as_terminal(pilot, "ctrl+r")
        await settle(pilot)
        assert "‹ 3/3 ›" in headers(view)[1]


async def test_branch_map_shows_the_tree_and_enter_shows_a_branch(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await three_exchanges(pilot, screen)
        await edit_message(pilot, view, "second question", "another second")

        await press_as_terminal(pilot, "alt+m")
        branch_map = await modal(pilot, BranchMapScreen)
        options = branch_map.query_one(OptionList)
        assert options.option_count == 8
        drawn = app.export_screenshot().replace("&#160;", " ")
        assert "third question" in drawn
        assert "another second" in drawn
        third = next(i for i, line in enumerate(branch_map.lines) if line.message.content == "third question")
        options.highlighted = third
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen)
        await wait_until(pilot, lambda: "third question" in contents(view))
        assert "another second" not in contents(view)


async def test_fork_opens_a_new_chat_holding_the_path(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await three_exchanges(pilot, screen)
        original = view.conversation.id
        answer = view.pane.views()[3]
        answer.focus()
        await pilot.press("f")
        await wait_until(pilot, lambda: current(screen).conversation.id != original)
        await settle(pilot)
        fork = current(screen)
        assert len(fork.pane.views()) == 4
        assert contents(fork)[2] == "second question"
        stored = app.service.store.load(fork.conversation.id)
        assert [m.id for m in stored.messages] == [m.id for m in app.service.store.load(original).messages][
            :4
        ]
        assert stored.metadata["forked_from"] == original

        # Forking at one of your messages forks just before it, its words in the composer.
        screen.open_conversation(original)
        await wait_until(pilot, lambda: current(screen).conversation.id == original)
        await settle(pilot)
        await focus_message(pilot, current(screen), "third question")
        await pilot.press("f")
        await wait_until(
            pilot, lambda: current(screen).conversation.id not in (original, fork.conversation.id)
        )
        await settle(pilot)
        assert current(screen).composer.text == "third question"
        assert len(current(screen).pane.views()) == 4


async def test_search_hit_on_a_hidden_branch_opens_that_branch(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await three_exchanges(pilot, screen)
        await edit_message(pilot, view, "second question", "pelican branch")
        await focus_message(pilot, view, "pelican branch")
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "pelican branch" not in contents(view))

        await pilot.press("ctrl+f")
        search = await modal(pilot, SearchScreen)
        await pilot.press(*"pelican")
        await wait_until(pilot, lambda: bool(search.hits))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: "pelican branch" in contents(view))
        focused = app.focused
        assert focused is not None
        assert getattr(focused, "data", None) is not None
        assert "pelican branch" in focused.data.content  # type: ignore[attr-defined]


@pytest.mark.parametrize("server", ["demo-devic", "demo-devs", "demo-agent", "demo-openai"])
async def test_every_branch_is_there_after_a_restart(
    make_app: Callable[..., DevicTuiApp], server: str
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await three_exchanges(pilot, screen, server)
        conversation_id = view.conversation.id
        await edit_message(pilot, view, "second question", "edited second")
        assert "edited second" in view.pane.views()[3].data.content
        # A second message on the new branch continues it.
        await send(pilot, screen, "and then")
        await settle(pilot)
        assert view.pane.views()[-1].data.status == "complete"
        await pilot.press("f3")
        await focus_message(pilot, view, "edited second")
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: "third question" in contents(view))

    again = make_app()
    async with again.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        screen.open_conversation(conversation_id)
        await wait_until(
            pilot, lambda: screen.current is not None and screen.current.conversation.id == conversation_id
        )
        await settle(pilot)
        view = current(screen)
        assert contents(view)[4] == "third question"  # the branch left on screen
        stored = again.service.store.load(conversation_id)
        tree = ConversationTree(stored)
        assert tree.branch_count() == 2
        assert len(stored.messages) == 10
        # The old branch continues where it was.
        await send(pilot, screen, "fourth question")
        await settle(pilot)
        last = view.pane.views()[-1].data
        assert last.status == "complete"
        assert "fourth question" in last.content


async def test_editing_a_message_with_a_file_brings_the_file_and_esc_gives_the_draft_back(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await pick(pilot, screen, "demo-devs", "echo")
        await view.add_files([FILES / "notes.md"])
        await send(pilot, screen, "read this")
        await settle(pilot)
        await send(pilot, screen, "and then")
        await settle(pilot)
        view.composer.load_text("a draft of mine")

        await focus_message(pilot, view, "read this")
        await pilot.press("e")
        await wait_until(pilot, lambda: [a.name for a in view.attachment_bar.attachments] == ["notes.md"])
        assert view.composer.text == "read this"
        await pilot.press("escape")  # cancel: the draft comes back, without the edit's file
        await wait_until(pilot, lambda: not view.attachment_bar.attachments)
        assert view.composer.text == "a draft of mine"
        assert not view.composer.editing

        await focus_message(pilot, view, "read this")
        await pilot.press("e")
        await wait_until(pilot, lambda: bool(view.attachment_bar.attachments))
        uploads = sum(1 for r in emulator.state.requests if r.path.endswith("/files") and r.method == "POST")
        view.composer.load_text("read this, please")
        await pilot.press("enter")
        await pilot.pause(0.1)
        await settle(pilot)
        assert contents(view)[0] == "read this, please"
        assert view.pane.views()[0].data.attachments == ["notes.md"]
        # The branch has a new chat on the server: the file goes up again, into it.
        after = sum(1 for r in emulator.state.requests if r.path.endswith("/files") and r.method == "POST")
        assert after == uploads + 1

        # Forking at that message: its words and its file wait in the new chat's composer.
        original = view.conversation.id
        await focus_message(pilot, view, "read this, please")
        await pilot.press("f")
        await wait_until(pilot, lambda: current(screen).conversation.id != original)
        fork = current(screen)
        await wait_until(pilot, lambda: [a.name for a in fork.attachment_bar.attachments] == ["notes.md"])
        assert fork.composer.text == "read this, please"
