"""The agent chat provider (contract §2) against the emulator over loopback: JSON and streamed sends,
`conversationId` continuation, the rate-limit notice, error envelopes, fault modes and extra headers;
plus, through httpx.MockTransport, the shapes the emulator does not send."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devic_tui.config import ServerConfig
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.scripts import long_answer
from devic_tui.models import Usage
from devic_tui.providers.agent import AgentProvider
from devic_tui.providers.base import Provider, SendRequest
from devic_tui.providers.errors import (
    AnswerTooLongError,
    AuthError,
    MalformedResponseError,
    NotFoundError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
    StreamInterruptedError,
)
from devic_tui.providers.events import Done, Notice, SendEvent, TextDelta, UsageReport
from devic_tui.providers.http import HttpClient
from tests.conftest import TEST_TOKEN
from tests.providers.events import collect_events, error_of, text_of


async def collect(provider: Provider, request: SendRequest) -> list[SendEvent]:
    return await collect_events(provider.send(request))


def done_of(events: list[SendEvent]) -> Done:
    assert events, "no events"
    final = events[-1]
    assert isinstance(final, Done), f"expected Done, got {final!r}"
    return final


def ask(slug: str, text: str = "hello agent", conversation_id: str | None = None) -> SendRequest:
    return SendRequest(assistant_id=slug, text=text, conversation_id=conversation_id)


async def test_json_send(make_provider: Callable[..., Provider], emulator: EmulatorServer) -> None:
    events = await collect(make_provider("agent", stream=False), ask("echo", "plain json"))
    assert [type(e) for e in events] == [TextDelta, UsageReport, Done]
    text = text_of(events)
    assert "> plain json" in text
    usage = events[1]
    assert isinstance(usage, UsageReport)
    assert usage.usage == Usage(total_tokens=len(text.split()))
    done = done_of(events)
    assert done.conversation_id == "conv_0001"
    assert done.metadata == {"model": "emulator-1", "tokens": len(text.split())}
    [sent] = emulator.state.requests_for("agent")
    assert (sent.method, sent.path) == ("POST", "/v1/api/chat/echo")
    assert sent.body == {"message": "plain json", "stream": False}


async def test_streamed_send_learns_the_conversation_id(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    events = await collect(make_provider("agent"), ask("echo", "streamed please"))
    assert len([e for e in events if isinstance(e, TextDelta)]) > 3
    assert "> streamed please" in text_of(events)
    assert done_of(events).conversation_id == "conv_0001"
    [sent] = emulator.state.requests_for("agent")
    assert sent.body == {"message": "streamed please", "stream": True}
    assert sent.headers["accept"] == "text/event-stream"


@pytest.mark.parametrize("stream", [True, False])
async def test_conversation_continues_with_its_id(
    make_provider: Callable[..., Provider], emulator: EmulatorServer, stream: bool
) -> None:
    provider = make_provider("agent", stream=stream)
    first = done_of(await collect(provider, ask("echo", "one")))
    assert first.conversation_id
    events = await collect(provider, ask("echo", "two", first.conversation_id))
    assert "message 2 of this chat" in text_of(events)
    assert done_of(events).conversation_id == first.conversation_id
    second = emulator.state.requests_for("agent")[-1]
    assert second.body == {"message": "two", "stream": stream, "conversationId": first.conversation_id}


async def test_unknown_conversation_is_not_found(make_provider: Callable[..., Provider]) -> None:
    error = error_of(await collect(make_provider("agent"), ask("echo", conversation_id="conv_nope")))
    assert isinstance(error, NotFoundError)
    assert "Conversation 'conv_nope' not found" in str(error)


async def test_rate_limit_notice_when_few_requests_are_left(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    emulator.state.options.agent_rate_limit = 5
    provider = make_provider("agent")
    quiet = await collect(provider, ask("echo"))  # 4 of 5 left: no notice
    assert not [e for e in quiet if isinstance(e, Notice)]
    for _ in range(3):
        await collect(provider, ask("echo"))
    events = await collect(provider, ask("echo"))  # 0 of 5 left
    notice = events[0]
    assert isinstance(notice, Notice)
    assert notice.text == "server 'emu-agent': 0 of 5 requests left until 00:00 UTC"
    assert isinstance(events[-1], Done)


async def test_no_notice_with_plenty_left(make_provider: Callable[..., Provider]) -> None:
    events = await collect(make_provider("agent"), ask("echo"))
    assert not [e for e in events if isinstance(e, Notice)]


async def test_extra_headers_are_sent(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    provider = make_provider("agent", headers={"x-user-identifier": "user-42"})
    await collect(provider, ask("echo"))
    await provider.list_assistants()
    [sent] = emulator.state.requests_for("agent")
    assert sent.headers["x-user-identifier"] == "user-42"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("slug", "token", "expected", "words"),
    [
        ("missing", TEST_TOKEN, NotFoundError, "assistant 'missing' not found"),
        ("unauthorized", TEST_TOKEN, AuthError, "this assistant refuses every token"),
        ("echo", "bad-token", AuthError, "invalid token"),
        ("junk", TEST_TOKEN, MalformedResponseError, "not JSON"),
    ],
)
async def test_errors_carry_the_servers_message(
    make_provider: Callable[..., Provider],
    stream: bool,
    slug: str,
    token: str,
    expected: type[Exception],
    words: str,
) -> None:
    events = await collect(make_provider("agent", stream=stream, token=token), ask(slug))
    error = error_of(events)
    assert type(error) is expected
    assert words in str(error)


async def test_bodiless_429_and_500(make_provider: Callable[..., Provider]) -> None:
    limited = error_of(await collect(make_provider("agent", max_retries=0), ask("ratelimit-once")))
    assert isinstance(limited, RateLimitedError)
    assert limited.retry_after == 1.0
    assert "Too Many Requests" in str(limited)
    failed = error_of(await collect(make_provider("agent", max_retries=0, name="b"), ask("flaky")))
    assert isinstance(failed, ServerError)
    assert "Internal Server Error" in str(failed)


async def test_faults_recovered_by_retries(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    provider = make_provider("agent")
    assert isinstance((await collect(provider, ask("ratelimit-once")))[-1], Done)
    assert isinstance((await collect(provider, ask("flaky")))[-1], Done)
    assert len(emulator.state.requests_for("agent")) == 2 + 3


async def test_cut_stream_keeps_partial_text(make_provider: Callable[..., Provider]) -> None:
    events = await collect(make_provider("agent"), ask("cut", "a fairly long message to quote back"))
    assert isinstance(error_of(events), StreamInterruptedError)
    assert text_of(events).startswith("You said")


async def test_cut_json_body_is_interrupted(make_provider: Callable[..., Provider]) -> None:
    events = await collect(make_provider("agent", stream=False), ask("cut"))
    assert isinstance(error_of(events), StreamInterruptedError)
    assert text_of(events) == ""


async def test_hang_times_out(make_provider: Callable[..., Provider]) -> None:
    events = await collect(make_provider("agent", read_timeout=0.3), ask("hang"))
    error = error_of(events)
    assert isinstance(error, ProviderTimeoutError)
    assert "stayed silent for 0.3 s" in str(error)
    assert text_of(events)


async def test_huge_stream_is_cut_at_the_cap(make_provider: Callable[..., Provider]) -> None:
    events = await collect(make_provider("agent", max_answer_bytes=200_000), ask("huge"))
    error = error_of(events)
    assert isinstance(error, AnswerTooLongError)
    assert "200,000 bytes" in str(error)
    assert 0 < len(text_of(events)) <= 200_000


async def test_answer_cap_counts_the_text_not_the_framing(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(chunk_size=4))  # some 25 bytes of framing for every 4 characters
    events = await collect(make_provider("agent", max_answer_bytes=90_000), ask("long"))
    done_of(events)
    assert text_of(events) == long_answer()


# --- shapes the emulator does not send ----------------------------------------------------------------


def mock_agent(handler: Callable[[httpx.Request], httpx.Response], **fields: Any) -> AgentProvider:
    server = ServerConfig(
        name="mock", kind="agent", base_url="https://agents.example/v1/api", token=TEST_TOKEN, **fields
    )
    return AgentProvider(server, HttpClient(server, transport=httpx.MockTransport(handler)))


async def test_stream_without_conversation_id_keeps_the_local_one() -> None:
    body = b'data: {"chunk": "hi"}\n\ndata: [DONE]\n\n'
    provider = mock_agent(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    first = await collect(provider, ask("bot"))
    later = await collect(provider, ask("bot", conversation_id="kept"))
    await provider.aclose()
    assert text_of(first) == "hi"
    assert done_of(first).conversation_id is None
    assert done_of(later).conversation_id == "kept"


async def test_error_inside_a_200_envelope_is_a_server_error() -> None:
    body = {"data": None, "error": {"name": "Error", "message": "the agent crashed"}}
    provider = mock_agent(lambda r: httpx.Response(200, json=body), stream=False)
    error = error_of(await collect(provider, ask("bot")))
    await provider.aclose()
    assert isinstance(error, ServerError)
    assert "the agent crashed" in str(error)


async def test_403_envelope_message() -> None:
    body = {"data": None, "error": {"name": "ForbiddenError", "message": "workspace key needs a user"}}
    provider = mock_agent(lambda r: httpx.Response(403, json=body))
    error = error_of(await collect(provider, ask("bot")))
    await provider.aclose()
    assert "(403)" in str(error)
    assert "workspace key needs a user" in str(error)


async def test_400_validation_error_message() -> None:
    body = {"data": None, "error": {"name": "ValidationError", "message": "Message field is required"}}
    provider = mock_agent(lambda r: httpx.Response(400, json=body))
    error = error_of(await collect(provider, ask("bot")))
    await provider.aclose()
    assert "Message field is required" in str(error)
