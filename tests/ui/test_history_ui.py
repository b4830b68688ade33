"""Pilot tests of history in the app: opening a saved chat offline, the long-chat window, search,
rename and delete (with the confirmation), and importing a chat that lives on the server only."""

from __future__ import annotations

from collections.abc import Callable

from devic_tui.app import DevicTuiApp
from devic_tui.config import ServerConfig
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.screens.dialogs import ConfirmScreen, PromptScreen
from devic_tui.screens.main import MainScreen
from devic_tui.screens.search import SearchScreen
from devic_tui.sidebar_model import ChatEntry
from devic_tui.widgets.sidebar import Sidebar
from devic_tui.widgets.transcript import WINDOW
from tests.ui.conftest import current, modal, settle, sidebar_text, wait_until
from tests.ui.history import long_conversation, save_all, tour_conversation


async def test_saved_chat_opens_with_its_partial_answer_marked(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        screen.open_conversation("tour0001")
        await pilot.pause(0.3)
        views = current(screen).pane.views()
        assert [v.data.status for v in views] == ["complete", "complete", "complete", "interrupted"]
        assert views[-1].has_class("-partial")
        assert screen.title == "A tour of Markdown"


async def test_long_chat_mounts_a_window_and_jumps_to_the_top(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    save_all(app.service.store, long_conversation(2000))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        screen.open_conversation("long0001")
        await pilot.pause(0.5)
        assert len(current(screen).pane.views()) == WINDOW
        assert current(screen).pane.views()[-1].data.id == "msg01999"
        await pilot.press("f3", "home")
        await pilot.pause(0.2)
        assert current(screen).pane.views()[0].data.id == "msg00000"
        await pilot.press("end")
        await pilot.pause(0.2)
        assert current(screen).pane.views()[-1].data.id == "msg01999"


async def test_search_opens_the_conversation_at_the_message(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    save_all(app.service.store, tour_conversation(), long_conversation(300))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+f")
        await pilot.pause(0.1)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"number 17")
        await pilot.pause(0.6)
        search = app.screen
        assert isinstance(search, SearchScreen)
        assert search.hits
        assert search.hits[0].message_id == "msg00017"
        await pilot.press("enter")
        await pilot.pause(0.5)
        focused = app.screen.focused
        assert getattr(focused, "data", None) is not None
        assert focused.data.id == "msg00017"  # type: ignore[union-attr]


async def test_rename_and_delete_ask_and_keep_the_files(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    store = app.service.store
    save_all(store, tour_conversation())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        screen.open_conversation("tour0001")
        await wait_until(
            pilot, lambda: screen.current is not None and screen.current.conversation.id == "tour0001"
        )
        await pilot.press("alt+r")
        await modal(pilot, PromptScreen)
        await pilot.press("ctrl+u", *"Renamed", "enter")
        await wait_until(pilot, lambda: store.load("tour0001").title == "Renamed")
        await pilot.press("alt+d")
        await modal(pilot, ConfirmScreen)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is screen)
        assert store.summaries()
        await pilot.press("alt+d")
        await modal(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: not store.summaries())
        assert [s.id for s in store.summaries()] == []
        assert [s.id for s in store.trashed()] == ["tour0001"]


async def test_a_server_only_chat_is_imported_when_opened(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    provider_chat_id = None
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        devs = app.service.provider("demo-devs")
        events = [e async for e in devs.send(_request("echo", "kept on the server"))]
        provider_chat_id = next(
            str(getattr(e, "conversation_id", "")) for e in events if getattr(e, "conversation_id", None)
        )
        screen.load_servers()

        def listed() -> ChatEntry | None:
            chats = screen.model.all_chats()
            return next((c for c in chats if c.remote_id == provider_chat_id), None)

        await wait_until(pilot, listed)
        chat = listed()
        assert chat is not None
        assert chat.conversation_id is None
        screen.post_message(Sidebar.ChatSelected(chat))
        await wait_until(pilot, lambda: current(screen).conversation.remote_id == provider_chat_id)
        assert [v.data.role for v in current(screen).pane.views()] == ["user", "assistant"]
        assert app.service.store.by_remote_id("demo-devs", provider_chat_id) is not None


def _request(assistant: str, text: str):  # type: ignore[no-untyped-def]
    from devic_tui.providers.base import SendRequest

    return SendRequest(assistant_id=assistant, text=text)


async def test_an_unreachable_server_reads_offline_and_keeps_the_draft(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    import socket

    from devic_tui.config import ServerConfig
    from devic_tui.demo import demo_servers

    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    gone = ServerConfig(
        name="gone",
        kind="devic",
        base_url=f"http://127.0.0.1:{closed_port}",
        token="t0ken-gone",
        max_retries=0,
    )
    app = make_app(servers=[*demo_servers(emulator.base_url), gone])
    old = tour_conversation()
    old.server, old.assistant_id, old.assistant_name = "gone", "helper", "helper"
    save_all(app.service.store, old)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        assert "gone" in screen.unreachable
        screen.open_conversation("tour0001")
        await pilot.pause(0.3)
        assert len(current(screen).pane.views()) == 4
        assert current(screen).composer.has_class("-offline")
        current(screen).composer.load_text("still here")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert current(screen).composer.text == "still here"
        assert len(app.service.store.load("tour0001").messages) == 6
        entry = screen.model.entry("gone")
        assert entry is not None
        assert [a.id for a in entry.assistants] == ["helper"]  # known from the local chat


async def test_a_corrupt_transcript_is_set_aside_with_a_notice(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    store = app.service.store
    save_all(store, tour_conversation(), long_conversation(3))
    store.close()
    (store.directory / "long0001.json").write_text("{ this is not json", encoding="utf-8")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        messages = " ".join(n.message for n in app._notifications)
        assert "long0001" in messages
        assert "quarantine" in messages
        assert [s.id for s in store.summaries()] == ["tour0001"]


async def test_a_silent_server_holds_up_nothing_else(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    import socket

    from devic_tui.config import ServerConfig
    from devic_tui.demo import demo_servers

    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        slow = ServerConfig(
            name="silent",
            kind="devic",
            base_url=f"http://127.0.0.1:{port}",
            token="t0ken-silent",
            max_retries=0,
            read_timeout=6.0,
        )
        app = make_app(servers=[slow, *demo_servers(emulator.base_url)])
        old = tour_conversation()
        old.server, old.assistant_id, old.assistant_name = "silent", "helper", "helper"
        save_all(app.service.store, old)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, MainScreen))
            main = app.screen
            assert isinstance(main, MainScreen)
            # The other servers answer while the silent one still keeps its listing waiting.
            await wait_until(pilot, lambda: main.model.assistant("demo-devs", "echo"))
            assert not main.servers_loaded
            silent_entry = main.model.entry("silent")
            assert silent_entry is not None
            assert [a.id for a in silent_entry.assistants] == ["helper"]  # from local history
            screen = await settle(pilot, within=20)
            assert "silent" in screen.unreachable


async def test_a_server_without_an_assistant_listing_offers_the_configured_ones(
    make_app: Callable[..., DevicTuiApp],
    emulator: EmulatorServer,
    server_config: Callable[..., ServerConfig],
) -> None:
    emulator.reset(EmulatorOptions(unlisting_apis=("devic",)))  # the listing answers 404
    configured = [{"id": "echo", "name": "Configured echo"}]
    app = make_app(servers=[server_config("devic", name="nolist", max_retries=0, assistants=configured)])
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        entry = screen.model.entry("nolist")
        assert entry is not None
        assert ([a.id for a in entry.assistants], entry.error) == (["echo"], None)
        assert "Configured echo" in sidebar_text(screen)
        assert "404" not in sidebar_text(screen)  # a notice, not an error row
        [notice] = [n for n in app._notifications if n.title == "nolist"]
        assert "listing the assistants failed" in notice.message
        assert "(404)" in notice.message
        assert current(screen).conversation.assistant_id == "echo"  # the chat it opens with
        screen.load_servers()  # listed again (as an unreachable server is): said once all the same
        await settle(pilot)
        assert len([n for n in app._notifications if n.title == "nolist"]) == 1
