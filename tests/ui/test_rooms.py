"""Every conversation its own room: answers in several chats at once (on two servers and on one),
the sidebar's live and unread marks and the header's count, a notice (and the bell, when asked
for) when an answer ends in a chat not on screen, a draft and its attachments kept per chat across
switches and restarts, a failed send's words given back to their own chat only, messages queued
behind an answer (sent after it, or taken back with Esc), the status line of the chat on screen,
and a tool-call form asked only once its chat is on screen.

The tests wait on posted messages (a `message_hook` records each `ChatView.TurnEnded`) and on the
app's workers, and read what the person sees: the sidebar's lines, the header, the status line,
the composers, and the transcripts on disk."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot

from devic_tui.app import DevicTuiApp
from devic_tui.config import ServerConfig
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.screens.main import VIEWS_KEPT, MainScreen
from devic_tui.screens.tool_form import ToolFormScreen
from devic_tui.widgets.chat_view import ChatView
from devic_tui.widgets.queue_bar import Outgoing
from tests.ui.conftest import current, pick, send, settle, sidebar_lines, wait_until
from tests.ui.history import save_all, tour_conversation

FILES = Path(__file__).parent / "files"


class TurnLog:
    """Every turn that ended, as the app's messages said, in order."""

    def __init__(self) -> None:
        self.ended: list[ChatView.TurnEnded] = []

    def hook(self, message: Message) -> None:
        # The hook sees a message at every node it bubbles through: count each one once.
        if isinstance(message, ChatView.TurnEnded) and all(m is not message for m in self.ended):
            self.ended.append(message)

    def titles(self) -> list[str]:
        return [event.view.conversation.title for event in self.ended]

    async def wait_for(self, pilot: Pilot[None], count: int, within: float = 10.0) -> None:
        await wait_until(pilot, lambda: len(self.ended) >= count, within=within)


def line_of(screen: MainScreen, title: str) -> str:
    """The sidebar line of the chat with this title (its mark, title and age), or ""."""
    return next((line.strip() for line in sidebar_lines(screen) if title in line), "")


def notices(app: DevicTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.fixture
def slow_emulator(emulator: EmulatorServer) -> EmulatorServer:
    emulator.reset(EmulatorOptions(slow_delay=0.12, chunk_size=12))
    return emulator


@pytest.mark.parametrize(
    ("first_server", "second_server"),
    [("demo-agent", "demo-openai"), ("demo-agent", "demo-agent")],
    ids=["two servers", "one server"],
)
async def test_two_chats_answer_at_once_and_each_keeps_its_own_text(
    make_app: Callable[..., DevicTuiApp], slow_emulator: EmulatorServer, first_server: str, second_server: str
) -> None:
    log = TurnLog()
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=log.hook) as pilot:
        screen = await settle(pilot)
        first = await pick(pilot, screen, first_server, "slow")
        await send(pilot, screen, "first chat, take your time")
        await wait_until(pilot, lambda: first.busy and first.pane.views())
        second = await pick(pilot, screen, second_server, "slow")
        await send(pilot, screen, "second chat, slowly too")
        await wait_until(pilot, lambda: second.busy)
        assert first.busy  # both answers are coming
        # the first chat, not on screen, is marked live; the header counts it
        assert line_of(screen, "first chat").startswith("…")
        assert "1 answer coming elsewhere" in screen.sub_title
        # back and forth while both stream
        for _ in range(3):
            screen.open_conversation(first.conversation.id)
            await wait_until(pilot, lambda: screen.current is first)
            assert "coming elsewhere" in screen.sub_title or not second.busy
            screen.open_conversation(second.conversation.id)
            await wait_until(pilot, lambda: screen.current is second)
        await log.wait_for(pilot, 2)
        screen = await settle(pilot)
        store = app.service.store
        for view, said in ((first, "first chat, take your time"), (second, "second chat, slowly too")):
            stored = store.load(view.conversation.id)
            assert [m.role for m in stored.messages] == ["user", "assistant"]
            assert [m.status for m in stored.messages] == ["complete", "complete"]
            assert said in stored.messages[1].content
            other = "second chat" if view is first else "first chat"
            assert other not in stored.messages[1].content  # no text of the other chat mixed in
            shown = view.pane.views()[-1]
            assert shown.data.content == stored.messages[1].content
        assert "coming elsewhere" not in screen.sub_title


async def test_an_answer_ending_off_screen_is_marked_unread_and_said(
    make_app: Callable[..., DevicTuiApp], slow_emulator: EmulatorServer
) -> None:
    log = TurnLog()
    app = make_app(bell_on_answer=True)
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40), notifications=True, message_hook=log.hook) as pilot:
        screen = await settle(pilot)
        away = await pick(pilot, screen, "demo-agent", "slow")
        await send(pilot, screen, "answer me while I am away")
        await wait_until(pilot, lambda: away.busy)
        await pick(pilot, screen, "demo-agent", "echo")
        await log.wait_for(pilot, 1)
        await pilot.pause(0.1)
        assert line_of(screen, "answer me while I am away").startswith("•")
        assert any("The answer in “answer me while I am away” is ready." in n for n in notices(app))
        assert rings == [1]
        screen.open_conversation(away.conversation.id)
        await wait_until(pilot, lambda: screen.current is away)
        assert line_of(screen, "answer me while I am away").startswith("▸")  # seen now


async def test_the_status_line_is_the_state_of_the_chat_on_screen(
    make_app: Callable[..., DevicTuiApp], slow_emulator: EmulatorServer
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        streaming = await pick(pilot, screen, "demo-agent", "slow")
        await send(pilot, screen, "stream for a while")
        await wait_until(pilot, lambda: "streaming" in str(streaming.status.render()), within=5)
        idle = await pick(pilot, screen, "demo-openai", "echo")
        assert "ready" in str(idle.status.render())
        assert "streaming" not in str(idle.status.render())
        screen.open_conversation(streaming.conversation.id)
        await wait_until(pilot, lambda: screen.current is streaming)
        assert "streaming" in str(streaming.status.render()) or not streaming.busy
        await settle(pilot)


async def test_a_draft_and_its_attachment_stay_in_their_chat_across_switches_and_a_restart(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        drafted = await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "a saved chat")
        await settle(pilot)
        drafted.composer.load_text("half a thought")
        await drafted.add_files([FILES / "notes.md"])
        other = await pick(pilot, screen, "demo-openai", "echo")
        assert other.composer.text == ""
        assert other.attachment_bar.attachments == []
        assert line_of(screen, "a saved chat").startswith("✎")
        screen.open_conversation(drafted.conversation.id)
        await wait_until(pilot, lambda: screen.current is drafted)
        assert drafted.composer.text == "half a thought"
        assert [a.name for a in drafted.attachment_bar.attachments] == ["notes.md"]
        drafted_id = drafted.conversation.id
    again = make_app()
    async with again.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = current(screen)
        assert view.conversation.id == drafted_id  # the chat open at the end is open again
        assert view.composer.text == "half a thought"
        assert [a.name for a in view.attachment_bar.attachments] == ["notes.md"]
        await send(pilot, screen, view.composer.text)
        await settle(pilot)
        stored = again.service.store.load(drafted_id)
        assert stored.messages[-2].content == "half a thought"
        assert [a.name for a in stored.messages[-2].attachments] == ["notes.md"]
        assert view.composer.text == ""


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that has no assistant listing (404 at once) and never answers a message."""
    released = threading.Event()

    class Silent(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def do_POST(self) -> None:
            released.wait(30)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        released.set()
        server.shutdown()
        server.server_close()


async def test_a_failed_send_gives_its_words_back_to_its_own_chat_only(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer, silent_port: int
) -> None:
    silent = ServerConfig(
        name="silent",
        kind="openai",
        base_url=f"http://127.0.0.1:{silent_port}/v1",
        token="t0ken-silent",
        max_retries=0,
        read_timeout=1.5,
        assistants=[{"id": "mute"}],  # type: ignore[list-item]
    )
    log = TurnLog()
    app = make_app(servers=[*demo_servers(emulator.base_url), silent])
    async with app.run_test(size=(120, 40), notifications=True, message_hook=log.hook) as pilot:
        screen = await settle(pilot, within=20)
        failing = await pick(pilot, screen, "silent", "mute")
        await send(pilot, screen, "words that will not get through")
        assert failing.composer.text == ""
        other = await pick(pilot, screen, "demo-agent", "echo")
        other.composer.load_text("my other draft")
        await log.wait_for(pilot, 1, within=10)
        assert other.composer.text == "my other draft"  # nothing came into this chat
        assert failing.composer.text == "words that will not get through"
        await send(pilot, screen, other.composer.text)
        await settle(pilot, within=20)
        stored = app.service.store.load(other.conversation.id)
        assert stored.messages[0].content == "my other draft"
        screen.open_conversation(failing.conversation.id)
        await wait_until(pilot, lambda: screen.current is failing)
        assert failing.composer.cursor_location == failing.composer.document.end


async def test_a_refused_upload_keeps_the_message_in_its_chat(
    make_app: Callable[..., DevicTuiApp], tmp_path: Path
) -> None:
    vanishing = tmp_path / "vanishing.txt"
    vanishing.write_text("here now", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        view = await pick(pilot, screen, "demo-devs", "echo")
        await view.add_files([vanishing])
        vanishing.unlink()  # gone before it is sent: the upload cannot read it
        await send(pilot, screen, "with my file")
        await settle(pilot)
        assert view.composer.text == "with my file"
        assert [a.name for a in view.attachment_bar.attachments] == ["vanishing.txt"]
        assert app.is_running


async def test_a_message_sent_while_an_answer_streams_is_queued_then_sent(
    make_app: Callable[..., DevicTuiApp], slow_emulator: EmulatorServer
) -> None:
    log = TurnLog()
    app = make_app()
    async with app.run_test(size=(120, 40), message_hook=log.hook) as pilot:
        screen = await settle(pilot)
        view = await pick(pilot, screen, "demo-agent", "slow")
        await send(pilot, screen, "the first question")
        await wait_until(pilot, lambda: view.busy)
        await send(pilot, screen, "the second question")
        await send(pilot, screen, "the third question")
        assert view.composer.text == ""
        assert "queued: the second question" in str(view.queue_bar.render())
        assert "queued: the third question" in str(view.queue_bar.render())
        await log.wait_for(pilot, 3, within=20)
        await settle(pilot)
        stored = app.service.store.load(view.conversation.id)
        asked = [m.content for m in stored.messages if m.role == "user"]
        assert asked == ["the first question", "the second question", "the third question"]
        assert all(m.status == "complete" for m in stored.messages)
        assert not view.queue_bar.display


async def test_escape_takes_the_queue_back_first_then_stops_the_answer(
    make_app: Callable[..., DevicTuiApp], slow_emulator: EmulatorServer
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        view = await pick(pilot, screen, "demo-agent", "slow")
        await send(pilot, screen, "a long answer please")
        await wait_until(pilot, lambda: view.busy)
        await send(pilot, screen, "never mind this one")
        assert view.queue
        await pilot.press("escape")
        assert view.queue == []
        assert view.busy  # the answer goes on
        assert view.composer.text == "never mind this one"  # back for editing
        await pilot.press("escape")
        await settle(pilot)
        stored = app.service.store.load(view.conversation.id)
        assert [m.content for m in stored.messages if m.role == "user"] == ["a long answer please"]
        assert stored.messages[-1].status == "stopped"
        assert view.composer.text == "never mind this one"


async def test_a_tool_form_waits_until_its_chat_is_on_screen(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        asking = await pick(pilot, screen, "demo-devs", "tools")
        asking.composer.load_text("keep this chat")  # a draft keeps the new chat open and listed
        await pick(pilot, screen, "demo-agent", "echo")
        asking.send(Outgoing("book a table", []))  # sent in a chat that is not on screen
        await wait_until(pilot, lambda: line_of(screen, "book a table").startswith("?"), within=5)
        assert not isinstance(app.screen, ToolFormScreen)
        await wait_until(pilot, lambda: any("asks for input" in n for n in notices(app)))
        screen.open_conversation(asking.conversation.id)
        await wait_until(pilot, lambda: isinstance(app.screen, ToolFormScreen), within=5)
        form = app.screen
        assert isinstance(form, ToolFormScreen)
        await wait_until(pilot, lambda: form.focused is not None)
        first_field = form.query(".tool-field").first()
        assert form.focused is first_field  # typing goes straight into the first field
        await pilot.press(*"Oslo", "enter")
        await wait_until(pilot, lambda: form.focused is not first_field)  # Enter moved on to the next field
        form.query_one("Select").value = "metric"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)
        answer = asking.pane.views()[-1].data
        assert "Oslo" in answer.content
        assert answer.status == "complete"


async def test_idle_chats_beyond_the_kept_number_are_let_go_and_their_drafts_come_back(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    ids = [f"tour{number:04d}" for number in range(VIEWS_KEPT + 4)]
    save_all(app.service.store, *(tour_conversation(cid) for cid in ids))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        for cid in ids:
            screen.open_conversation(cid)
            await wait_until(pilot, lambda cid=cid: current(screen).conversation.id == cid)
            if cid == ids[0]:
                current(screen).composer.load_text("a draft in the first chat")
        assert len(screen.open_views()) <= VIEWS_KEPT + 1
        assert screen.view_of(ids[0]) is None  # the least recently shown went first
        screen.open_conversation(ids[0])
        await wait_until(pilot, lambda: current(screen).conversation.id == ids[0])
        assert current(screen).composer.text == "a draft in the first chat"
