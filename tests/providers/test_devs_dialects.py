"""The Devs provider and the service against both dialects the emulator speaks (contract §4): the
seed's (`events`, named SSE events) and the April 2024 server's (`2024`: X-Authorization only,
text/plain answers, replies stored as `system`, reset to a new id, duplicate by PUT without the
messages, flat chats in no order, `/me/chats`, and no tool-output or file routes). Checked on the
requests the emulator recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devic_tui.config import ServerConfig, Settings
from devic_tui.emulator import EmulatorServer
from devic_tui.emulator.common import BAD_TOKEN, RecordedRequest
from devic_tui.emulator.scripts import echo_answer
from devic_tui.models import AssistantInfo
from devic_tui.providers.base import SendRequest, ToolOutput, UnsupportedError
from devic_tui.providers.devs import DevsProvider
from devic_tui.providers.errors import AnswerTooLongError, AuthError, StreamInterruptedError
from devic_tui.providers.events import Done, Notice, SendEvent, StreamError, UsageReport
from devic_tui.providers.registry import create_provider
from devic_tui.records import EMPTY_SERVER_CHAT, USAGE_UNREPORTED
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from tests.providers.events import collect_events as collect
from tests.providers.events import text_of

ROOTS = {"events": "", "2024": "/devs-2024"}
INTRO = "This conversation continues from the earlier exchange below; reply to the message after it."


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture(params=list(ROOTS))
def dialect(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def config_for(
    emulator: EmulatorServer, server_config: Callable[..., ServerConfig], dialect: str
) -> Callable[..., ServerConfig]:
    def make(**fields: Any) -> ServerConfig:
        return server_config("devs", base_url=emulator.base_url + ROOTS[dialect], **fields)

    return make


@pytest.fixture
async def provider(config_for: Callable[..., ServerConfig]) -> Any:
    made = create_provider(config_for(), sleep=_no_sleep)
    assert isinstance(made, DevsProvider)
    yield made
    await made.aclose()


@pytest.fixture
async def service(config_for: Callable[..., ServerConfig], tmp_path: Path) -> Any:
    made = ChatService(Settings(servers=[config_for()]), store=TranscriptStore(tmp_path / "transcripts"))
    yield made
    await made.aclose()


def recorded(emulator: EmulatorServer, since: int = 0) -> list[RecordedRequest]:
    return emulator.state.requests_for("devs")[since:]


def calls(requests: list[RecordedRequest]) -> list[tuple[str, str, str | None]]:
    """(method, path after /api/v1, the header the token came in)."""
    return [(r.method, r.path.split("/api/v1")[-1], r.auth_header) for r in requests]


async def run_turn(service: ChatService, conversation: Any, text: str) -> tuple[Any, list[SendEvent]]:
    turn = await service.start_turn(conversation, text, [])
    events = [event async for event in turn.events()]
    return turn, events


def with_context(text: str, *exchange: tuple[str, str]) -> str:
    entries = "\n\n".join(f"[{role}]\n{content}" for role, content in exchange)
    return f"<earlier_conversation>\n{INTRO}\n\n{entries}\n</earlier_conversation>\n\n{text}"


# ------------------------------------------------------------------------------------------ auth


async def test_the_token_goes_in_the_header_the_server_reads_and_that_is_remembered(
    provider: DevsProvider, emulator: EmulatorServer, dialect: str
) -> None:
    await provider.list_assistants()
    await provider.list_chats("echo")
    if dialect == "2024":
        # Refused with Authorization, asked again with X-Authorization, which is kept from then on.
        assert calls(recorded(emulator)) == [
            ("GET", "/me/ai", "authorization"),
            ("GET", "/me/ai", "x-authorization"),
            ("GET", "/ai/echo/chats", "x-authorization"),
        ]
        assert provider.http.auth_header == "x-authorization"
    else:
        assert calls(recorded(emulator)) == [
            ("GET", "/me/ai", "authorization"),
            ("GET", "/ai/echo/chats", "authorization"),
        ]


async def test_a_server_setting_picks_the_header_outright(
    config_for: Callable[..., ServerConfig], emulator: EmulatorServer
) -> None:
    provider = create_provider(config_for(auth_header="x-authorization"), sleep=_no_sleep)
    try:
        await provider.list_assistants()
    finally:
        await provider.aclose()
    assert calls(recorded(emulator)) == [("GET", "/me/ai", "x-authorization")]


async def test_a_bad_token_fails_in_both_headers_and_says_where_the_token_comes_from(
    config_for: Callable[..., ServerConfig], emulator: EmulatorServer, dialect: str
) -> None:
    provider = create_provider(config_for(token=BAD_TOKEN), sleep=_no_sleep)
    try:
        with pytest.raises(AuthError) as refused:
            await provider.list_assistants()
        with pytest.raises(AuthError):
            await provider.list_assistants()
    finally:
        await provider.aclose()
    assert "token" in str(refused.value)
    headers = [header for _, _, header in calls(recorded(emulator))]
    # No header was proven to work, so each request tries both again (one retry each, no more).
    assert headers == ["authorization", "x-authorization"] * 2


# ------------------------------------------------------------------------------------------ send


async def test_the_answer_streams_in_either_dialect_and_usage_is_said_either_way(
    provider: DevsProvider, dialect: str
) -> None:
    events = await collect(provider.send(SendRequest(assistant_id="echo", text="hello there")))
    assert text_of(events) == echo_answer("hello there", turn=1)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.conversation_id
    assert done.final_text == echo_answer("hello there", turn=1)
    usage = [e for e in events if isinstance(e, UsageReport)]
    if dialect == "2024":
        assert usage == []
        assert done.metadata == {USAGE_UNREPORTED: True}
    else:
        assert usage
        assert USAGE_UNREPORTED not in done.metadata


async def test_a_text_answer_cut_off_is_interrupted_with_its_text_kept(
    provider: DevsProvider, dialect: str
) -> None:
    events = await collect(provider.send(SendRequest(assistant_id="cut", text="tell me")))
    end = events[-1]
    assert isinstance(end, StreamError)
    assert isinstance(end.error, StreamInterruptedError)
    assert end.conversation_id  # the chat made on the way is named, to go on in it
    assert text_of(events)  # what arrived before the cut is there to keep


async def test_a_whole_answer_in_one_text_plain_body_is_the_answer(
    config_for: Callable[..., ServerConfig], emulator: EmulatorServer, dialect: str
) -> None:
    if dialect != "2024":
        pytest.skip("text/plain is the 2024 server's")
    emulator.state.options.chunk_size = 1_000_000  # the whole answer in one piece
    provider = create_provider(config_for(), sleep=_no_sleep)
    try:
        events = await collect(provider.send(SendRequest(assistant_id="echo", text="all at once")))
    finally:
        await provider.aclose()
    assert text_of(events) == echo_answer("all at once", turn=1)
    assert isinstance(events[-1], Done)


# ----------------------------------------------------------------------------------------- chats


async def test_replies_stored_as_system_are_the_assistants_and_are_imported(
    service: ChatService, emulator: EmulatorServer, config_for: Callable[..., ServerConfig], dialect: str
) -> None:
    name = config_for().name
    provider = service.provider(name)
    events = await collect(provider.send(SendRequest(assistant_id="echo", text="remember me")))
    chat_id = events[-1].conversation_id  # type: ignore[union-attr]
    assert chat_id
    stored = emulator.state.apis["devs-2024" if dialect == "2024" else "devs"].chats[chat_id].messages
    assert [m["role"] for m in stored] == ["user", "system" if dialect == "2024" else "assistant"]
    detail = await provider.get_chat("echo", chat_id)
    assert [m.role for m in detail.messages] == ["user", "assistant"]
    imported = await service.import_remote_chat(name, AssistantInfo(id="echo", name="echo"), chat_id)
    assert [(m.role, m.content) for m in imported.messages] == [
        ("user", "remember me"),
        ("assistant", echo_answer("remember me", turn=1)),
    ]


async def test_chats_are_listed_newest_first_and_in_one_call_where_the_server_can(
    service: ChatService, emulator: EmulatorServer, config_for: Callable[..., ServerConfig], dialect: str
) -> None:
    config = config_for()
    provider = service.provider(config.name)
    for text in ("one", "two", "three"):
        await collect(provider.send(SendRequest(assistant_id="echo", text=text)))
    chats = await provider.list_chats("echo")
    assert [c.title for c in chats] == ["three", "two", "one"]
    assert all(c.assistant_id == "echo" for c in chats)
    before = len(recorded(emulator))
    listing = await service.listing(config)
    assert [c.title for c in listing.remote_chats["echo"]] == ["three", "two", "one"]
    asked = [path for _, path, _ in calls(recorded(emulator, before))]
    per_ai = [p for p in asked if p.startswith("/ai/") and p.endswith("/chats")]
    if dialect == "2024":
        assert "/me/chats" in asked
        assert per_ai == []
    else:  # no /me/chats (404): each AI is asked, and /me/chats is not asked again
        assert asked.count("/me/chats") == 1
        assert "/ai/echo/chats" in per_ai
        before = len(recorded(emulator))
        await service.listing(config)
        assert "/me/chats" not in [path for _, path, _ in calls(recorded(emulator, before))]


async def test_reset_goes_on_in_the_chat_the_server_answers(
    service: ChatService, emulator: EmulatorServer, config_for: Callable[..., ServerConfig], dialect: str
) -> None:
    conversation = service.new_conversation(config_for().name, AssistantInfo(id="echo", name="echo"))
    await run_turn(service, conversation, "before the reset")
    old = conversation.remote_id
    assert old
    kept = await service.reset(conversation)
    assert kept is not None
    assert kept.messages
    if dialect == "2024":
        assert conversation.remote_id not in (None, old)
    else:
        assert conversation.remote_id == old
    before = len(recorded(emulator))
    turn, _ = await run_turn(service, conversation, "after the reset")
    assert turn.answer.status == "complete", turn.answer.error
    assert turn.answer.content == echo_answer("after the reset", turn=1)  # the chat is empty
    sends = [r for r in recorded(emulator, before) if r.method == "POST"]
    assert [r.path.split("/api/v1")[-1] for r in sends] == [f"/chats/{conversation.remote_id}"]


async def test_duplicate_by_put_or_post_and_an_empty_copy_is_given_the_conversation(
    service: ChatService, emulator: EmulatorServer, config_for: Callable[..., ServerConfig], dialect: str
) -> None:
    conversation = service.new_conversation(config_for().name, AssistantInfo(id="echo", name="echo"))
    first, _ = await run_turn(service, conversation, "the original question")
    before = len(recorded(emulator))
    copy = await service.duplicate(conversation)
    made = [(m, p) for m, p, _ in calls(recorded(emulator, before))]
    original = f"/chats/{conversation.remote_id}/duplicate"
    if dialect == "2024":  # PUT, and the copy is empty: asked to be sure
        copied = copy.metadata[EMPTY_SERVER_CHAT]
        assert made == [("PUT", original), ("GET", f"/chats/{copied}")]
        assert copy.remote_id is None
    else:  # PUT refused with 405, then POST, which copies the messages
        copied = copy.remote_id
        assert made == [("PUT", original), ("POST", original)]
        assert EMPTY_SERVER_CHAT not in copy.metadata
    assert copied
    assert copied != conversation.remote_id
    before = len(recorded(emulator))
    turn, _ = await run_turn(service, copy, "on the copy")
    assert turn.answer.status == "complete", turn.answer.error
    sends = [r for r in recorded(emulator, before) if r.method == "POST"]
    assert [r.path.split("/api/v1")[-1] for r in sends] == [f"/chats/{copied}"]
    if dialect == "2024":  # the empty copy's first message carries the copied history
        exchange = (("user", "the original question"), ("assistant", first.answer.content))
        assert sends[0].body["prompt"] == with_context("on the copy", *exchange)
    else:
        assert sends[0].body["prompt"] == "on the copy"
    assert copy.remote_id == copied
    turn, _ = await run_turn(service, copy, "and again")
    assert recorded(emulator)[-1].body["prompt"] == "and again"  # in the same chat, no context again


# ---------------------------------------------------------------------------------- missing routes


async def test_a_route_the_server_lacks_turns_the_action_off_said_once_and_the_chat_goes_on(
    service: ChatService,
    emulator: EmulatorServer,
    config_for: Callable[..., ServerConfig],
    dialect: str,
    tmp_path: Path,
) -> None:
    name = config_for().name
    provider = service.provider(name)
    conversation = service.new_conversation(name, AssistantInfo(id="echo", name="echo"))
    note = tmp_path / "note.md"
    note.write_text("# a note\n\nthe file's words\n")
    files = await service.check_files(name, [note])
    turn = await service.start_turn(conversation, "read this", files)
    events = [event async for event in turn.events()]
    assert turn.answer.status == "complete", turn.answer.error
    notices = [e.text for e in events if isinstance(e, Notice)]
    if dialect == "2024":
        assert provider.capabilities.upload is False
        assert len(notices) == 1
        assert "cannot take chat files" in notices[0]
        assert "the file's words" in recorded(emulator)[-1].body["prompt"]  # inlined instead
        assert turn.user.attachments[0].inlined
        # The chat made to hold the file is not left behind, empty: only the message's chat remains.
        assert [chat.id for chat in await provider.list_chats("echo")] == [conversation.remote_id]
        with pytest.raises(UnsupportedError, match="cannot take chat files"):
            await provider.list_files(conversation.remote_id or "")
        turn, _ = await run_turn(service, conversation, "no file this time")
        assert not [e for e in _ if isinstance(e, Notice)]  # said once
    else:
        assert provider.capabilities.upload is True
        assert notices == []
        assert turn.user.attachments[0].remote is not None
    await service.refresh_limits(name)  # the usage route answers in both
    assert service.tightest_limit(name) is not None


async def test_tool_outputs_to_a_server_without_the_route_fail_once_and_turn_tool_calls_off(
    provider: DevsProvider, dialect: str
) -> None:
    if dialect != "2024":
        pytest.skip("the seed's dialect has the route (tests/providers/test_devs.py)")
    events = await collect(provider.send(SendRequest(assistant_id="echo", text="hi")))
    chat_id = events[-1].conversation_id  # type: ignore[union-attr]
    assert chat_id

    outputs = [ToolOutput(tool_call_id="call_1", output="{}")]
    answered = await collect(provider.submit_tool_outputs("echo", chat_id, "msg_1", outputs))
    end = answered[-1]
    assert isinstance(end, StreamError)
    assert isinstance(end.error, UnsupportedError)
    assert "cannot take tool answers" in str(end.error)
    assert provider.capabilities.tool_calls is False


async def test_the_emulator_setting_makes_its_main_devs_api_speak_2024(
    server_config: Callable[..., ServerConfig], emulator: EmulatorServer
) -> None:
    emulator.state.options.devs_dialect = "2024"
    provider = create_provider(server_config("devs"), sleep=_no_sleep)
    try:
        events = await collect(provider.send(SendRequest(assistant_id="echo", text="plain please")))
    finally:
        await provider.aclose()
    done = events[-1]
    assert isinstance(done, Done)
    assert done.metadata == {USAGE_UNREPORTED: True}
    assert [r.auth_header for r in recorded(emulator)][:2] == ["authorization", "x-authorization"]


async def test_a_text_answer_past_max_stream_bytes_is_cut_there_as_every_stream_is(
    config_for: Callable[..., ServerConfig], dialect: str
) -> None:
    if dialect != "2024":
        pytest.skip("the event stream's cap is tested in tests/providers/test_devs.py")
    provider = create_provider(config_for(max_stream_bytes=40), sleep=_no_sleep)
    try:
        events = await collect(provider.send(SendRequest(assistant_id="echo", text="a long one " * 20)))
    finally:
        await provider.aclose()
    end = events[-1]
    assert isinstance(end, StreamError)
    assert isinstance(end.error, AnswerTooLongError)
    assert "max_stream_bytes" in str(end.error)
    assert text_of(events)  # what came before the cut is kept
