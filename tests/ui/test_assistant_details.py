"""An assistant's details (F5) and its greeting, as a new user meets them: a new chat with a Devs AI
opens with the AI's introduction; F5 shows what the server says of it, on every kind of server."""

from __future__ import annotations

from collections.abc import Callable

from devic_tui.app import DevicTuiApp
from devic_tui.screens.assistant_details import AssistantDetailsScreen
from tests.hardening.conftest import screen_text
from tests.ui.conftest import modal, pick, settle


async def test_a_new_devs_chat_opens_with_the_ais_greeting_and_f5_shows_its_details(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs-2024", "echo")
        await settle(pilot)
        shown = " ".join(screen_text(app).split())
        assert "echo: “Hello, I am echo." in shown  # the greeting, at the top of the new chat
        await pilot.press("f5")
        details = await modal(pilot, AssistantDetailsScreen)
        shown = " ".join(screen_text(app).split())
        assert "Assistant: echo" in shown
        assert "Greeting (shown when a new chat opens)" in shown
        assert details.knowledge
        assert "Knowledge (k)" in shown
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is screen


async def test_f5_describes_an_openai_compatible_model_from_its_listing(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-openai", "long")
        await settle(pilot)
        await pilot.press("f5")
        details = await modal(pilot, AssistantDetailsScreen)
        assert not details.knowledge
        assert not details.manage
        shown = " ".join(screen_text(app).split())
        assert "Context 49,152 tokens" in shown  # the emulated vLLM's max_model_len


async def test_from_the_details_k_opens_the_knowledge_and_n_the_form_for_a_new_ai(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    from devic_tui.screens.assistant_form import AssistantFormScreen
    from devic_tui.screens.knowledge import KnowledgeScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs", "echo")
        await settle(pilot)
        await pilot.press("f5")
        await modal(pilot, AssistantDetailsScreen)
        await pilot.press("k")
        knowledge = await modal(pilot, KnowledgeScreen)
        assert knowledge.server == "demo-devs"
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is screen
        await pilot.press("f5")
        await modal(pilot, AssistantDetailsScreen)
        await pilot.press("n")
        await modal(pilot, AssistantFormScreen)
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert app.screen is screen
