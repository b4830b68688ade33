"""Pilot tests of the small dialogs on their own, each pushed by a bare app: the tool-call form's
keyboard flow (first field focused, Enter moves on and submits, required fields, Esc), the one-line
prompt (old value selected, typing replaces it) and the chat finder showing titles literally."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rich.text import Text
from textual.app import App
from textual.command import CommandPalette
from textual.content import Content
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, OptionList, Select

from devic_tui.providers.base import ToolOutput
from devic_tui.providers.events import ToolCall, ToolCallRequest, ToolField
from devic_tui.screens.dialogs import PromptScreen
from devic_tui.screens.finder import FinderItem, literal_markup, open_chat_finder
from devic_tui.screens.tool_form import ToolFormScreen
from tests.ui.conftest import modal, wait_until

SIZE = (100, 30)


class Host(App[None]):
    """Pushes one dialog when it starts and keeps what the dialog returned; `unfocused` opens it
    as when the terminal window is not focused (Textual then skips its auto focus)."""

    def __init__(self, dialog: Screen[Any], *, unfocused: bool = False) -> None:
        super().__init__()
        self.dialog = dialog
        self.unfocused = unfocused
        self.results: list[object] = []

    def on_mount(self) -> None:
        if self.unfocused:
            self.app_focus = False
        self.push_screen(self.dialog, self.results.append)


async def opened(pilot: Pilot[None], dialog: Screen[Any]) -> None:
    assert await modal(pilot, type(dialog)) is dialog


def focused_id(app: App[Any]) -> str | None:
    """The focused field as `tool-CALL-NAME` (field widgets carry the server's field name)."""
    focused = app.focused
    if focused is None or not focused.has_class("tool-field") or not focused.id:
        return focused.id if focused is not None else None
    return f"tool-{focused.id.split('-')[1]}-{focused.name}"


def tool_request(*fields: ToolField) -> ToolCallRequest:
    return ToolCallRequest(
        calls=[ToolCall(id="call-1", name="book", description="Book a table", fields=list(fields))]
    )


def two_texts() -> ToolCallRequest:
    return tool_request(
        ToolField(name="name", label="Name", required=True),
        ToolField(name="note", label="Note"),
    )


def texts_then_choice() -> ToolCallRequest:
    return tool_request(
        ToolField(name="city", label="City", required=True),
        ToolField(name="people", label="People", type="number"),
        ToolField(name="units", label="Units", type="choice", choices=["metric", "imperial"]),
    )


# The tool-call form


@pytest.mark.parametrize("unfocused", [False, True], ids=["focused", "unfocused-window"])
@pytest.mark.parametrize("request_", [two_texts(), texts_then_choice()], ids=["texts", "choice"])
async def test_the_form_opens_on_its_first_field(request_: ToolCallRequest, unfocused: bool) -> None:
    form = ToolFormScreen(request_)
    app = Host(form, unfocused=unfocused)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        await pilot.pause()
        first = request_.calls[0].fields[0].name
        assert focused_id(app) == f"tool-0-{first}"


async def test_field_names_that_are_no_valid_ids_still_make_a_form() -> None:
    """A server's field names can hold spaces or dots, or repeat: the form is built all the same
    and each answer goes back under its own name."""
    form = ToolFormScreen(
        tool_request(ToolField(name="first name"), ToolField(name="a.b"), ToolField(name="a.b"))
    )
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        await pilot.press(*"Ada", "enter", *"x", "enter", *"y", "enter")
        await wait_until(pilot, lambda: app.results != [])
        [outputs] = app.results
        assert isinstance(outputs, list)
        assert json.loads(outputs[0].output) == {"first name": "Ada", "a.b": "y"}


async def test_enter_moves_on_and_submits_from_the_last_input() -> None:
    form = ToolFormScreen(two_texts())
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        await pilot.press(*"Ada", "enter")
        await wait_until(pilot, lambda: focused_id(app) == "tool-0-note")
        assert app.results == []
        await pilot.press(*"by the window", "enter")
        await wait_until(pilot, lambda: app.results)
        [outputs] = app.results
        assert outputs == [
            ToolOutput(tool_call_id="call-1", output=json.dumps({"name": "Ada", "note": "by the window"}))
        ]


async def test_a_required_empty_field_shows_the_error_and_keeps_the_form() -> None:
    form = ToolFormScreen(two_texts())
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        await pilot.press("enter")
        await wait_until(pilot, lambda: focused_id(app) == "tool-0-note")
        await pilot.press("enter")
        error = form.query_one("#tool-error")
        await wait_until(pilot, lambda: "'Name' is required" in str(error.render()))
        await pilot.pause(0.05)
        assert app.screen is form
        assert app.results == []


async def test_escape_cancels_the_form() -> None:
    form = ToolFormScreen(two_texts())
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        await pilot.press(*"Ada", "escape")
        await wait_until(pilot, lambda: app.results)
        assert app.results == [None]


async def test_a_choice_in_the_last_field_moves_to_submit() -> None:
    form = ToolFormScreen(texts_then_choice())
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        await pilot.press(*"Oslo", "enter")
        await wait_until(pilot, lambda: focused_id(app) == "tool-0-people")
        await pilot.press("4", "enter")
        await wait_until(pilot, lambda: focused_id(app) == "tool-0-units")
        await pilot.press("enter")  # opens the list; its first row is the blank "Select"
        await wait_until(pilot, lambda: isinstance(app.focused, OptionList))
        await pilot.press("down", "down", "enter")
        await wait_until(pilot, lambda: focused_id(app) == "tool-submit")
        assert isinstance(app.focused, Button)
        assert app.results == []
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results)
        [outputs] = app.results
        answers = {"city": "Oslo", "people": "4", "units": "imperial"}
        assert outputs == [ToolOutput(tool_call_id="call-1", output=json.dumps(answers))]


async def test_ticking_a_last_checkbox_moves_to_submit() -> None:
    form = ToolFormScreen(tool_request(ToolField(name="name"), ToolField(name="vegan", type="boolean")))
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        await pilot.press(*"Ada", "enter")
        await wait_until(pilot, lambda: focused_id(app) == "tool-0-vegan")
        await pilot.press("enter")
        await wait_until(pilot, lambda: focused_id(app) == "tool-submit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results)
        [outputs] = app.results
        expected = json.dumps({"name": "Ada", "vegan": "true"})
        assert outputs == [ToolOutput(tool_call_id="call-1", output=expected)]


async def test_checkbox_labels_and_choices_show_as_sent() -> None:
    form = ToolFormScreen(
        tool_request(
            ToolField(name="pick", type="choice", choices=["[b]bold[/b]", "[@click=app.quit]Q[/]"]),
            ToolField(name="tick", label="[red]agree[/red]", type="boolean"),
        )
    )
    app = Host(form)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, form)
        assert form.query_one(Checkbox).label.plain == "[red]agree[/red]"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.focused, OptionList))
        options = form.query_one(Select).query_one(OptionList)
        prompts = [options.get_option_at_index(index).prompt for index in range(1, options.option_count)]
        assert [prompt.plain for prompt in prompts if isinstance(prompt, Text)] == [
            "[b]bold[/b]",
            "[@click=app.quit]Q[/]",
        ]


# The one-line prompt


@pytest.mark.parametrize("unfocused", [False, True], ids=["focused", "unfocused-window"])
async def test_the_prompt_selects_the_old_value_and_typing_replaces_it(unfocused: bool) -> None:
    prompt = PromptScreen("Rename chat", "A new title:", value="old title")
    app = Host(prompt, unfocused=unfocused)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, prompt)
        field = prompt.query_one("#prompt-input", Input)
        assert app.focused is field
        await pilot.pause(0.05)
        assert field.selected_text == "old title"
        await pilot.press(*" new ", "enter")
        await wait_until(pilot, lambda: app.results)
        assert app.results == ["new"]


async def test_end_keeps_the_old_value() -> None:
    prompt = PromptScreen("Rename chat", "A new title:", value="old title")
    app = Host(prompt)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, prompt)
        await pilot.pause(0.05)
        await pilot.press("end", *" 2", "enter")
        await wait_until(pilot, lambda: app.results)
        assert app.results == ["old title 2"]


async def test_escape_cancels_the_prompt() -> None:
    prompt = PromptScreen("Rename chat", "A new title:", value="old title")
    app = Host(prompt)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, prompt)
        await pilot.press(*"new", "escape")
        await wait_until(pilot, lambda: app.results)
        assert app.results == [None]


# The chat finder

MARKUP_TITLES = ["[bold]B[/bold]", "[@click=app.quit]Q[/]"]


class FinderHost(App[None]):
    """Opens the chat finder on a few chats whose titles and details look like markup."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []
        self.items = [
            FinderItem(MARKUP_TITLES[0], "[$accent]detail[/] \\[x] a\\", lambda: self.opened.append("B")),
            FinderItem(MARKUP_TITLES[1], "[b]bold?[/b]", lambda: self.opened.append("Q")),
            FinderItem("", "", lambda: self.opened.append("untitled")),
            FinderItem("ring\x07 the\nbell", "tab\there", lambda: self.opened.append("bell")),
        ]

    def on_mount(self) -> None:
        # As the main screen calls it: a node's `app` is typed App[object].
        open_chat_finder(self.screen.app, self.items)


def palette_open(app: App[Any]) -> bool:
    return CommandPalette.is_open(app)


def shown(app: App[Any]) -> list[Content]:
    if not palette_open(app):
        return []
    options = app.screen.query_one(OptionList)
    prompts = [options.get_option_at_index(index).prompt for index in range(options.option_count)]
    return [prompt for prompt in prompts if isinstance(prompt, Content)]


async def test_the_finder_shows_titles_and_details_as_sent() -> None:
    app = FinderHost()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 4)
        rows = [prompt.plain.split("\n") for prompt in shown(app)]
        assert rows == [
            ["[bold]B[/bold]", "[$accent]detail[/] \\[x] a\\"],
            ["[@click=app.quit]Q[/]", "[b]bold?[/b]"],
            ["(untitled)"],
            ["ring␇ the bell", "tab here"],
        ]
        for prompt in shown(app):
            title_length = len(prompt.plain.split("\n")[0])
            assert not [span for span in prompt.spans if span.start < title_length]
        screenshot = app.export_screenshot()
        assert "[bold]B[/bold]" in screenshot
        assert "[@click=app.quit]Q[/]" in screenshot


async def test_typing_narrows_the_finder_and_enter_opens_the_chat() -> None:
    app = FinderHost()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(shown(app)) == 4)
        await pilot.press(*"click")
        await wait_until(pilot, lambda: len(shown(app)) == 1)
        [prompt] = shown(app)
        title = MARKUP_TITLES[1]
        assert prompt.plain.split("\n")[0] == title
        styled = {
            offset
            for span in prompt.spans
            if span.end <= len(title)
            for offset in range(span.start, span.end)
        }
        assert styled == set(range(title.index("click"), title.index("click") + len("click")))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.opened)
        await pilot.pause(0.05)
        assert app.opened == ["Q"]
        assert app.is_running
        assert not palette_open(app)


@pytest.mark.parametrize(
    "text",
    [
        "[bold]x[/bold]",
        "[B]x[/B]",
        "[$accent]x[/]",
        "[ red ]x",
        "[@click=app.quit]Q[/]",
        "a\\",
        "\\[b]x",
        "[[b]]",
        "x[/]",
    ],
)
def test_literal_markup_shows_exactly_the_text(text: str) -> None:
    assert Content.from_markup(literal_markup(text)).plain == text
