"""Pilot tests of archived chats and tags in the app: Alt+A archives the chat on screen into the
sidebar's Archived section, Alt+V unfolds it, Alt+A on an archived chat brings it back; tags show
after a chat's title (made safe), follow Alt+T at once, and Ctrl+F lists and filters by them."""

from __future__ import annotations

from collections.abc import Callable

from devic_tui.app import DevicTuiApp
from devic_tui.screens.dialogs import PromptScreen
from devic_tui.screens.search import SearchChoice, SearchScreen
from tests.ui.conftest import current, press_as_terminal, settle, sidebar_lines, sidebar_text, wait_until
from tests.ui.history import save_all, tour_conversation

TITLE = "A tour of Markdown"


def line_of(lines: list[str], start: str) -> str:
    found = [line for line in lines if line.startswith(start)]
    assert found, f"no sidebar line starts with {start!r}:\n" + "\n".join(lines)
    return found[0]


async def test_archive_a_chat_find_it_in_the_archived_section_and_bring_it_back(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    store = app.service.store
    save_all(store, tour_conversation())
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        assert "Archived" not in sidebar_text(screen)  # nothing archived: no section
        screen.open_conversation("tour0001")
        await wait_until(pilot, lambda: current(screen).conversation.id == "tour0001")
        line_of(sidebar_lines(screen), f"    ▸ {TITLE}")

        await press_as_terminal(pilot, "alt+a")
        await wait_until(pilot, lambda: store.load("tour0001").archived)
        screen = await settle(pilot)
        assert current(screen).conversation.id != "tour0001"  # a new chat took its place
        lines = sidebar_lines(screen)
        assert TITLE not in "\n".join(lines)
        assert lines[-1] == "Archived (1)"  # folded, at the bottom
        said = [n.message for n in app._notifications]
        assert any("`devic-tui chats --archived`" in message for message in said), said

        await press_as_terminal(pilot, "alt+v")
        await wait_until(pilot, lambda: TITLE in sidebar_text(screen))
        lines = sidebar_lines(screen)
        assert lines[-2] == "Archived (1)"
        assert lines[-1].startswith(f"  {TITLE}  markdown · demo-agent  ")
        tree = screen.sidebar.chat_tree
        assert screen.focused is tree  # Alt+V goes there, to pick one with the arrows

        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: current(screen).conversation.id == "tour0001")
        assert "archived" in (screen.sub_title or "")
        line_of(sidebar_lines(screen), f"  ▸ {TITLE}")  # open, in the section

        await press_as_terminal(pilot, "alt+a")  # on an archived chat: back to the list
        await wait_until(pilot, lambda: not store.load("tour0001").archived)
        await settle(pilot)
        lines = sidebar_lines(screen)
        line_of(lines, f"    ▸ {TITLE}")  # under its assistant again, still open
        assert lines[-2:] == ["Archived (0)", "  No archived chats"]
        assert "archived" not in (screen.sub_title or "")
        assert current(screen).conversation.id == "tour0001"

        await press_as_terminal(pilot, "alt+v")
        await wait_until(pilot, lambda: "Archived" not in sidebar_text(screen))
        assert not store.summaries(only_archived=True)


async def test_selecting_the_archived_head_unfolds_and_folds_it(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    tour = tour_conversation()
    tour.archived = True
    save_all(app.service.store, tour)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        assert sidebar_lines(screen)[-1] == "Archived (1)"
        tree = screen.sidebar.chat_tree
        tree.focus()
        head = next(node for node in tree.root.children if str(node.label) == "Archived (1)")
        tree.move_cursor(head)
        await pilot.press("enter")
        await wait_until(pilot, lambda: TITLE in sidebar_text(screen))
        assert screen.model.archived_shown
        await pilot.press("enter")
        await wait_until(pilot, lambda: TITLE not in sidebar_text(screen))
        assert sidebar_lines(screen)[-1] == "Archived (1)"


async def test_tags_show_after_the_title_follow_alt_t_and_search_by_them(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    tour = tour_conversation()
    tour.tags = ["work", "red\x1b[31m"]
    save_all(app.service.store, tour)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        assert f"{TITLE} #work #red␛[31m  " in line_of(sidebar_lines(screen), f"    {TITLE}")

        screen.open_conversation("tour0001")
        await wait_until(pilot, lambda: current(screen).conversation.id == "tour0001")
        await press_as_terminal(pilot, "alt+t")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("ctrl+u", *"#ideas, plans, ideas", "enter")
        await wait_until(pilot, lambda: "#ideas #plans" in sidebar_text(screen))
        assert app.service.store.load("tour0001").tags == ["ideas", "plans"]
        assert "#work" not in sidebar_text(screen)

        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen))
        search = app.screen
        assert isinstance(search, SearchScreen)
        await pilot.press(*"tag:IDEAS")  # a tag alone lists the chats that have it
        await wait_until(pilot, lambda: search.choices == [SearchChoice("tour0001", None)])
        assert "#ideas #plans" in app.export_screenshot().replace("&#160;", " ")
        await pilot.press(*" markdown")  # with words: the messages of those chats
        await wait_until(pilot, lambda: bool(search.hits))
        assert {hit.conversation_id for hit in search.hits} == {"tour0001"}
        assert all(hit.tags == ["ideas", "plans"] for hit in search.hits)
        await pilot.press("ctrl+u", *"tag:work markdown")
        await wait_until(pilot, lambda: not search.choices)
