"""Pilot tests of a chat's setup and the usage cockpit against the emulator over loopback: the chat
settings dialog (seeded from the config, saved into the transcript, sent in the next request, and
honest about what an API takes), the context meter and the question before sending past the
window, the usage view and the header's totals, and a limit: warned of while few requests are left,
counted down when a send is refused, the draft kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Input, TextArea

from devic_tui.app import DevicTuiApp
from devic_tui.config import AssistantConfig, ServerConfig
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.screens.chat_settings import ChatSettingsScreen
from devic_tui.screens.dialogs import ChoiceScreen
from devic_tui.screens.usage import UsageScreen
from tests.ui.conftest import current, modal, pick, send, settle, wait_until


def servers_with(emulator: EmulatorServer, **openai: Any) -> list[ServerConfig]:
    """The demo servers, the OpenAI-compatible one with these fields."""
    return [
        server.model_copy(update=openai) if server.kind == "openai" else server
        for server in demo_servers(emulator.base_url)
    ]


def status_of(app: DevicTuiApp) -> str:
    screen = app.screen
    view = getattr(screen, "current", None)
    assert view is not None
    return str(view.status.render())


async def test_the_settings_dialog_shows_the_configs_values_and_its_changes_are_sent_and_kept(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    echo = AssistantConfig(id="echo", system_prompt="Be brief.", temperature=0.2)
    app = make_app(servers_with(emulator, assistants=[echo]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "echo")
        await pilot.press("f6")
        dialog = await modal(pilot, ChatSettingsScreen)
        assert dialog.query_one("#settings-system_prompt", TextArea).text == "Be brief."
        assert dialog.query_one("#settings-temperature", Input).value == "0.2"
        assert "takes the system prompt and the parameters" in str(dialog.query_one(".taken").render())
        dialog.query_one("#settings-temperature", Input).value = "0.9"
        dialog.query_one("#settings-max_tokens", Input).value = "64"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChatSettingsScreen))
        await send(pilot, screen, "hello")
        screen = await settle(pilot)
        body = emulator.state.requests_for("openai")[-1].body
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        assert (body["temperature"], body["max_tokens"]) == (0.9, 64)
        stored = app.service.store.load(current(screen).conversation.id)
        assert stored.settings is not None
        assert (stored.settings.temperature, stored.settings.max_tokens) == (0.9, 64)


async def test_a_bad_value_is_refused_in_the_dialog_with_a_reason(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "echo")
        await pilot.press("f6")
        dialog = await modal(pilot, ChatSettingsScreen)
        dialog.query_one("#settings-temperature", Input).value = "7"
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ChatSettingsScreen)
        assert "Temperature" in str(dialog.query_one("#settings-error").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChatSettingsScreen))
        assert current(screen).conversation.settings is not None
        assert current(screen).conversation.settings.temperature is None


async def test_the_dialog_says_when_the_api_takes_none_of_the_settings(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs", "echo")
        await pilot.press("f6")
        dialog = await modal(pilot, ChatSettingsScreen)
        assert "takes none of these" in str(dialog.query_one(".taken").render())
        assert dialog.query_one("#settings-system_prompt", TextArea).disabled
        assert dialog.query_one("#settings-temperature", Input).disabled
        assert not dialog.query_one("#settings-context_window", Input).disabled


async def test_the_meter_climbs_and_sending_past_the_window_asks_first(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(openai_server="openai"))  # its /models says no window
    echo = AssistantConfig(id="echo", context_window=120)
    app = make_app(servers_with(emulator, assistants=[echo]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "echo")
        await send(pilot, screen, "one two three")
        screen = await settle(pilot)
        first = current(screen).meter
        assert first is not None
        assert first.window.tokens == 120
        assert "ctx " in status_of(app)
        assert "/120 " in status_of(app)
        await send(pilot, screen, "four five six seven")
        screen = await settle(pilot)
        second = current(screen).meter
        assert second is not None
        assert second.tokens > first.tokens

        long_text = "word " * 200
        await send(pilot, screen, long_text)
        choice = await modal(pilot, ChoiceScreen)
        assert choice.dialog_title == "Past the context window"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        assert current(screen).composer.text.strip() == long_text.strip()  # kept for editing
        sent_before = len(emulator.state.requests_for("openai"))

        await pilot.press("enter")
        await modal(pilot, ChoiceScreen)
        await pilot.press("s")
        screen = await settle(pilot)
        assert len(emulator.state.requests_for("openai")) == sent_before + 1
        answer = current(screen).conversation.messages[-1]
        assert (answer.status, answer.error) == ("complete", None), answer.error
        assert current(screen).composer.text == ""


async def test_fork_from_a_later_message_goes_on_in_a_new_chat_with_the_draft(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(openai_server="openai"))
    echo = AssistantConfig(id="echo", context_window=150)
    app = make_app(servers_with(emulator, assistants=[echo]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "echo")
        for text in ("first question", "second question"):
            await send(pilot, screen, text)
            screen = await settle(pilot)
        original = current(screen).conversation
        await send(pilot, screen, "word " * 200)
        await modal(pilot, ChoiceScreen)
        await pilot.press("f")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press("enter")  # the latest message of the person's first
        await wait_until(pilot, lambda: current(screen).conversation is not original)
        fork = current(screen).conversation
        assert [m.content for m in fork.messages if m.role == "user"] == ["second question"]
        assert current(screen).composer.text.strip() == ("word " * 200).strip()
        assert len(original.messages) == 4


async def test_the_usage_view_and_the_header_add_up_the_answers(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "echo")
        await send(pilot, screen, "count me")
        screen = await settle(pilot)
        usage = current(screen).conversation.messages[-1].usage
        assert usage is not None
        assert usage.total is not None
        assert f"{usage.total} tokens" in screen.sub_title
        await pilot.press("f7")
        view = await modal(pilot, UsageScreen)
        [row] = view.ledger.rows
        assert (row.server, row.assistant_id, row.answers) == ("demo-openai", "echo", 1)
        assert row.total_tokens == usage.total
        assert view.ledger.today.total_tokens == usage.total
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, UsageScreen))


@pytest.mark.parametrize("attempts", [6])
async def test_few_requests_left_shows_and_a_refusal_counts_down_keeping_the_draft(
    make_app: Callable[..., DevicTuiApp], attempts: int
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "limited")
        await send(pilot, screen, "first")
        screen = await settle(pilot)
        await wait_until(pilot, lambda: "limit 3/100 requests" in status_of(app))
        for number in range(attempts):
            await send(pilot, screen, f"again {number}")
            screen = await settle(pilot)
            if "limit reached" in status_of(app):
                break
        assert "limit reached: resets in" in status_of(app)
        assert current(screen).composer.text.startswith("again")
        shown = status_of(app)
        await wait_until(pilot, lambda: status_of(app) != shown, within=3)  # it counts down


async def test_a_system_prompt_the_api_does_not_take_is_not_counted(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    prompt = "Answer in French, at length, with a great many words of preamble. " * 5
    servers = [
        server.model_copy(update={"system_prompt": prompt, "context_window": 1000})
        for server in demo_servers(emulator.base_url)
    ]
    app = make_app(servers)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "echo")
        await wait_until(pilot, lambda: current(screen).meter is not None)
        openai_meter = current(screen).meter
        assert openai_meter is not None
        assert openai_meter.tokens > 50  # the prompt goes with every request
        await pick(pilot, screen, "demo-devs", "echo")
        await wait_until(pilot, lambda: current(screen).conversation.server == "demo-devs")
        await wait_until(pilot, lambda: current(screen).meter is not None)
        devs_meter = current(screen).meter
        assert devs_meter is not None
        assert devs_meter.tokens == 0  # the Devs platform takes no system prompt
        assert "ctx 0/1k 0%" in status_of(app)
