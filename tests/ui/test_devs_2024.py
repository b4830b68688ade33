"""The app against the Devs platform's 2024 server (the demo's `demo-devs-2024`: X-Authorization,
text/plain answers, reset to a new chat id, duplicate without the messages), as a new user uses it:
a chat answers and says its usage was not reported, a duplicate goes on with the conversation so
far, a reset goes on in the new chat the server answered."""

from __future__ import annotations

from collections.abc import Callable

from devic_tui.app import DevicTuiApp
from devic_tui.emulator import EmulatorServer
from devic_tui.emulator.scripts import echo_answer
from devic_tui.screens.dialogs import ConfirmScreen
from tests.hardening.conftest import screen_text
from tests.ui.conftest import current, modal, pick, send, settle, wait_until

SERVER = "demo-devs-2024"


def sends(emulator: EmulatorServer) -> list[tuple[str, str]]:
    """(chat id, prompt) of each message the 2024 server was sent."""
    return [
        (r.path.rsplit("/", 1)[-1], r.body["prompt"])
        for r in emulator.state.requests_for("devs")
        if r.method == "POST" and r.path.startswith("/devs-2024/api/v1/chats/") and r.body
    ]


async def test_chat_duplicate_and_reset_on_the_2024_server(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, SERVER, "echo")
        await send(pilot, screen, "hello there")
        await settle(pilot)
        view = current(screen)
        assert view.conversation.messages[-1].content == echo_answer("hello there", turn=1)
        assert "usage not reported" in str(view.status.render())
        assert "usage not reported" in screen_text(app)  # in the answer's header too
        original = view.conversation.remote_id
        assert original

        await pilot.press("alt+u")  # duplicate: the server's copy is empty
        await wait_until(pilot, lambda: current(screen).conversation.id != view.conversation.id)
        await settle(pilot)
        await send(pilot, screen, "on the copy")
        await settle(pilot)
        copy = current(screen).conversation
        chat, prompt = sends(emulator)[-1]
        assert chat == copy.remote_id != original
        assert prompt.startswith("<earlier_conversation>")
        assert "hello there" in prompt
        assert prompt.endswith("on the copy")

        await pilot.press("alt+x")  # reset: the server answers a new chat
        await modal(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: not current(screen).conversation.messages)
        fresh = current(screen).conversation.remote_id
        assert fresh not in (None, chat)
        await send(pilot, screen, "after the reset")
        await settle(pilot)
        assert sends(emulator)[-1] == (fresh, "after the reset")
        assert current(screen).conversation.messages[-1].content == echo_answer("after the reset", turn=1)
