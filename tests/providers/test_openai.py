"""The OpenAI-compatible provider against the emulator over loopback: the exact request, streamed and
whole answers, history, usage, the model list merged with the config, every fault mode, and (through
httpx.MockTransport) the Devs-style stream and finish reasons the emulator does not produce."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from devic_tui.config import AssistantConfig, ServerConfig, Settings
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.scripts import ASSISTANTS, long_answer
from devic_tui.models import AssistantInfo, HistoryMessage, Usage
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
from devic_tui.providers.openai_compat import OpenAIProvider, devs_text, usage_from
from devic_tui.providers.registry import create_provider
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.turn import Turn
from tests.conftest import TEST_TOKEN
from tests.providers.events import collect_events, error_of, text_of

HISTORY = [
    HistoryMessage(role="user", content="first question"),
    HistoryMessage(role="assistant", content="first answer"),
]


async def collect(provider: Provider, request: SendRequest) -> list[SendEvent]:
    return await collect_events(provider.send(request))


def last(events: list[SendEvent]) -> SendEvent:
    assert events, "no events"
    return events[-1]


def ask(model: str, text: str = "hello there", history: list[HistoryMessage] | None = None) -> SendRequest:
    return SendRequest(assistant_id=model, text=text, history=history or [])


# --- the request ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_sends_exactly_model_messages_and_stream(
    make_provider: Callable[..., Provider], emulator: EmulatorServer, stream: bool
) -> None:
    provider = make_provider("openai", stream=stream)
    events = await collect(provider, ask("echo", "and now?", HISTORY))
    assert isinstance(last(events), Done)
    [sent] = emulator.state.requests_for("openai")
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    assert sent.body == {
        "model": "echo",
        "messages": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": "and now?"},
        ],
        "stream": stream,
    }
    assert sent.headers["user-agent"].startswith("devic-tui/")


async def test_the_chats_system_prompt_and_parameters_are_sent_and_kept_across_a_restart(
    emulator: EmulatorServer, server_config: Callable[..., ServerConfig], tmp_path: Path
) -> None:
    """The config's values (the assistant's over the server's) go into the chat when it starts; the
    request carries the system prompt first and the parameters set; a later change to the config
    does not change what the chat, reopened, sends."""
    echo = AssistantConfig(id="echo", system_prompt="Answer in French.", temperature=0.3)
    server = server_config("openai", top_p=0.9, max_tokens=512, assistants=[echo])
    store_dir = tmp_path / "transcripts"
    service = ChatService(Settings(servers=[server]), store=TranscriptStore(store_dir))
    conversation = service.new_conversation("emu-openai", AssistantInfo(id="echo", name="Echo"))
    turn = await service.start_turn(conversation, "bonjour", [])
    await collect_events(turn.events())
    await service.aclose()
    [sent] = emulator.state.requests_for("openai")
    assert sent.body["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "bonjour"},
    ]
    assert (sent.body["temperature"], sent.body["top_p"], sent.body["max_tokens"]) == (0.3, 0.9, 512)
    said = turn.answer.content  # the emulator's echo says what the request carried
    assert "Its system prompt: “Answer in French.”" in said
    assert "Its parameters: temperature 0.3, top_p 0.9, max_tokens 512." in said

    changed = server.model_copy(update={"assistants": [], "top_p": None, "max_tokens": None})
    service = ChatService(Settings(servers=[changed]), store=TranscriptStore(store_dir))
    reopened = await service.open(conversation.id)
    assert reopened.settings is not None
    assert reopened.settings.system_prompt == "Answer in French."
    turn = await service.start_turn(reopened, "encore", [])
    await collect_events(turn.events())
    await service.aclose()
    again = emulator.state.requests_for("openai")[-1].body
    assert again["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert (again["temperature"], again["top_p"], again["max_tokens"]) == (0.3, 0.9, 512)


async def test_unset_parameters_are_not_sent(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    await collect(make_provider("openai"), ask("echo"))
    [sent] = emulator.state.requests_for("openai")
    assert not {"temperature", "top_p", "max_tokens"} & sent.body.keys()
    assert [m["role"] for m in sent.body["messages"]] == ["user"]


async def test_streamed_answer_in_pieces_with_usage_and_done(make_provider: Callable[..., Provider]) -> None:
    provider = make_provider("openai", stream=True)
    events = await collect(provider, ask("echo", "quote me", HISTORY))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3  # chunk_size 12: many pieces
    text = text_of(events)
    assert "> quote me" in text
    assert "The request carried 3 messages: 2 of history and this one." in text
    [usage] = [e for e in events if isinstance(e, UsageReport)]
    assert usage.usage.input_tokens == 6  # words in all three messages
    assert usage.usage.output_tokens == len(text.split())
    assert usage.usage.total == 6 + len(text.split())
    done = last(events)
    assert isinstance(done, Done)
    assert done.conversation_id is None
    assert done.metadata == {"model": "echo", "finish_reason": "stop"}
    assert not [e for e in events if isinstance(e, Notice)]


async def test_whole_answer_when_not_streamed(make_provider: Callable[..., Provider]) -> None:
    provider = make_provider("openai", stream=False)
    assert provider.capabilities.streams is False
    events = await collect(provider, ask("echo", "one shot"))
    assert [type(e) for e in events] == [TextDelta, UsageReport, Done]
    assert "> one shot" in text_of(events)
    assert "carried 1 message: 0 of history" in text_of(events)
    done = last(events)
    assert isinstance(done, Done)
    assert done.conversation_id is None
    assert done.metadata["finish_reason"] == "stop"
    assert done.started_at is not None
    assert done.finished_at is not None


async def test_streamed_and_whole_answers_agree(make_provider: Callable[..., Provider]) -> None:
    streamed = await collect(make_provider("openai", stream=True), ask("markdown"))
    whole = await collect(make_provider("openai", stream=False, name="whole"), ask("markdown"))
    assert text_of(streamed) == text_of(whole)
    assert text_of(whole).startswith("# A short tour")


async def test_capabilities_follow_the_stream_setting(make_provider: Callable[..., Provider]) -> None:
    provider = make_provider("openai")
    caps = provider.capabilities
    assert (caps.streams, caps.lists_assistants, caps.usage) == (True, True, True)
    assert (caps.upload, caps.lists_chats, caps.server_history, caps.tool_calls) == (False,) * 4


async def test_usage_totals_over_the_session(make_provider: Callable[..., Provider]) -> None:
    provider = make_provider("openai")
    first = await collect(provider, ask("echo", "one"))
    second = await collect(provider, ask("echo", "two"))
    reports = [e.usage for e in first + second if isinstance(e, UsageReport)]
    totals = await provider.usage()
    assert totals["answers"] == 2
    assert totals["input_tokens"] == sum(u.input_tokens or 0 for u in reports)
    assert totals["output_tokens"] == sum(u.output_tokens or 0 for u in reports)


async def test_history_after_failures_alternates_user_and_assistant(
    emulator: EmulatorServer, server_config: Callable[..., ServerConfig], tmp_path: Path
) -> None:
    # `flaky` refuses the first two sends (500), then answers like `echo`, a chunk every 20 ms.
    emulator.reset(EmulatorOptions(chunk_delay=0.02))
    settings = Settings(servers=[server_config("openai", max_retries=0)])
    service = ChatService(settings, store=TranscriptStore(tmp_path / "transcripts"))
    conversation = service.new_conversation("emu-openai", AssistantInfo(id="flaky", name="Flaky"))

    async def run(text: str, *, stop_at_first_text: bool = False) -> Turn:
        turn = await service.start_turn(conversation, text, [])
        first_text = asyncio.Event()

        async def read() -> None:
            async for event in turn.events():
                if isinstance(event, TextDelta):
                    first_text.set()

        task = asyncio.create_task(read())
        if stop_at_first_text:
            await asyncio.wait_for(first_text.wait(), 10)
            task.cancel()  # what Esc and Ctrl+C do
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return turn

    statuses = [(await run(text)).answer.status for text in ("one", "two")]
    assert statuses == ["failed", "failed"]
    stopped = await run("three", stop_at_first_text=True)
    assert stopped.answer.status == "stopped"
    partial = stopped.answer.content
    assert partial
    assert "The request carried" not in partial  # the rest never came
    finished = await run("four")
    assert finished.answer.status == "complete"
    await service.aclose()

    bodies = [r.body for r in emulator.state.requests_for("openai")]
    assert [m["content"] for m in bodies[-1]["messages"]] == ["three", partial, "four"]
    for body in bodies:
        roles = [m["role"] for m in body["messages"]]
        assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"], roles
    assert [m["content"] for m in bodies[2]["messages"]] == ["three"]  # the failed exchanges left out


# --- models ----------------------------------------------------------------------------------------


async def test_models_listed_from_the_server(make_provider: Callable[..., Provider]) -> None:
    assistants = await make_provider("openai").list_assistants()
    assert [a.id for a in assistants] == list(ASSISTANTS)
    assert assistants[0].name == "echo"
    assert assistants[0].description == ASSISTANTS["echo"]
    assert assistants[0].extra == {
        "object": "model",
        "created": 1_700_000_000,
        "owned_by": "devic-emulator",
        "max_model_len": 32768,
    }


async def test_models_merged_with_configured_ones_first(make_provider: Callable[..., Provider]) -> None:
    configured = [
        AssistantConfig(id="my-own-model", name="Mine", description="not on the server"),
        AssistantConfig(id="echo", name="Echo (configured)"),
    ]
    assistants = await make_provider("openai", assistants=configured).list_assistants()
    ids = [a.id for a in assistants]
    assert ids[:2] == ["my-own-model", "echo"]
    assert ids.count("echo") == 1
    assert set(ids[2:]) == set(ASSISTANTS) - {"echo"}
    assert (assistants[0].name, assistants[0].description) == ("Mine", "not on the server")
    assert assistants[1].name == "Echo (configured)"


async def test_models_failure_leaves_the_configured_ones(make_provider: Callable[..., Provider]) -> None:
    configured = [AssistantConfig(id="gpt-x", name="X")]
    provider = make_provider("openai", token="bad-token", assistants=configured)
    assistants = await provider.list_assistants()
    assert [(a.id, a.name) for a in assistants] == [("gpt-x", "X")]


# --- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_ratelimit_once_is_retried_after_retry_after(
    server_config: Callable[..., ServerConfig], emulator: EmulatorServer, stream: bool
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    provider = create_provider(server_config("openai", stream=stream), sleep=sleep)
    try:
        events = await collect(provider, ask("ratelimit-once"))
    finally:
        await provider.aclose()
    assert isinstance(last(events), Done)
    assert waits == [1.0]
    assert len(emulator.state.requests_for("openai")) == 2


async def test_ratelimit_without_retries_is_rate_limited_error(
    make_provider: Callable[..., Provider],
) -> None:
    events = await collect(make_provider("openai", max_retries=0), ask("ratelimit-once"))
    error = error_of(events)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 1.0
    assert "rate limit exceeded" in str(error)
    assert text_of(events) == ""


async def test_flaky_recovers_within_retries(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    events = await collect(make_provider("openai"), ask("flaky"))
    assert isinstance(last(events), Done)
    assert len(emulator.state.requests_for("openai")) == 3


async def test_flaky_beyond_retries_is_server_error(make_provider: Callable[..., Provider]) -> None:
    error = error_of(await collect(make_provider("openai", max_retries=1), ask("flaky")))
    assert isinstance(error, ServerError)
    assert error.status == 500
    assert "flaky assistant fails twice" in str(error)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("model", "token", "expected", "words"),
    [
        ("unauthorized", TEST_TOKEN, AuthError, "refuses every token"),
        ("echo", "bad-token", AuthError, "invalid token"),
        ("missing", TEST_TOKEN, NotFoundError, "The model 'missing' does not exist"),
        ("no-such-model", TEST_TOKEN, NotFoundError, "does not exist"),
        ("junk", TEST_TOKEN, MalformedResponseError, "not JSON"),
    ],
)
async def test_refusals_map_to_their_error_class(
    make_provider: Callable[..., Provider],
    stream: bool,
    model: str,
    token: str,
    expected: type[Exception],
    words: str,
) -> None:
    events = await collect(make_provider("openai", stream=stream, token=token), ask(model))
    error = error_of(events)
    assert type(error) is expected
    assert words in str(error)
    assert text_of(events) == ""


async def test_auth_error_says_where_the_token_comes_from(make_provider: Callable[..., Provider]) -> None:
    error = error_of(await collect(make_provider("openai", token="bad-token"), ask("echo")))
    assert "check the token in the config file" in str(error)


async def test_cut_stream_keeps_the_partial_text(make_provider: Callable[..., Provider]) -> None:
    events = await collect(make_provider("openai", stream=True), ask("cut", "one two three four five six"))
    error = error_of(events)
    assert isinstance(error, StreamInterruptedError)
    partial = text_of(events)
    assert partial
    full = text_of(await collect(make_provider("openai", stream=False, name="full"), ask("echo", "x")))
    assert len(partial) < len(full)
    assert partial.startswith("You said (message 1 of this chat):")


async def test_cut_whole_answer_is_interrupted(make_provider: Callable[..., Provider]) -> None:
    error = error_of(await collect(make_provider("openai", stream=False), ask("cut")))
    assert isinstance(error, StreamInterruptedError)


@pytest.mark.parametrize("stream", [True, False])
async def test_hang_times_out(make_provider: Callable[..., Provider], stream: bool) -> None:
    events = await collect(make_provider("openai", stream=stream, read_timeout=0.3), ask("hang"))
    error = error_of(events)
    assert isinstance(error, ProviderTimeoutError)
    assert "0.3 s" in str(error)
    if stream:
        assert text_of(events)  # what came before the silence is kept


@pytest.mark.parametrize("stream", [True, False])
async def test_huge_answer_is_cut_at_the_cap(make_provider: Callable[..., Provider], stream: bool) -> None:
    events = await collect(make_provider("openai", stream=stream, max_answer_bytes=200_000), ask("huge"))
    error = error_of(events)
    assert isinstance(error, AnswerTooLongError)
    assert "200,000 bytes" in str(error)
    assert len(text_of(events)) <= 200_000


async def test_long_answer_in_small_chunks_arrives_whole(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    # 4 characters an event: about 150 bytes of framing for each, some 15 MB on the wire in all,
    # well past the 10 MB the answer's text may take.
    emulator.reset(EmulatorOptions(long_chars=400_000, chunk_size=4))
    events = await collect(make_provider("openai", stream=True), ask("long"))
    assert isinstance(last(events), Done), last(events)
    expected = long_answer(target_chars=400_000)
    assert len(expected) >= 400_000
    assert text_of(events) == expected


async def test_answer_cap_counts_the_text_not_the_framing(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(chunk_size=4))
    events = await collect(make_provider("openai", stream=True, max_answer_bytes=50_001), ask("long"))
    error = error_of(events)
    assert isinstance(error, AnswerTooLongError)
    assert "50,001 bytes (max_answer_bytes)" in str(error)
    assert text_of(events) == long_answer()[:50_001]  # up to the cap exactly, not a chunk short


async def test_wire_guard_stops_an_endless_stream_and_keeps_the_text(
    make_provider: Callable[..., Provider],
) -> None:
    provider = make_provider("openai", stream=True, max_stream_bytes=300_000)
    events = await collect(provider, ask("huge"))
    error = error_of(events)
    assert isinstance(error, AnswerTooLongError)
    assert "sent more than 300,000 bytes without ending the answer (max_stream_bytes)" in str(error)
    partial = text_of(events)
    assert 0 < len(partial) < 300_000
    assert long_answer(target_chars=len(partial), seed=7).startswith(partial)


# --- the emulator's side of the protocol -----------------------------------------------------------


def _raw(emulator: EmulatorServer, token: str | None = TEST_TOKEN) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=emulator.base_url + "/v1", headers=headers)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "missing_model"),
        ({"model": "echo"}, "missing_messages"),
        ({"model": "echo", "messages": []}, "missing_messages"),
        ({"model": "echo", "messages": [{"role": "user"}]}, "invalid_message"),
        (
            {"model": "echo", "messages": [{"role": "user", "content": "x"}], "stream": "yes"},
            "invalid_stream",
        ),
        ([1, 2], "invalid_request"),
    ],
)
async def test_emulator_validates_the_body(emulator: EmulatorServer, body: Any, code: str) -> None:
    async with _raw(emulator) as client:
        response = await client.post("/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code"}
    assert (error["type"], error["code"]) == ("invalid_request_error", code)


@pytest.mark.parametrize(
    ("token", "model", "status", "code"),
    [
        (None, "echo", 401, "invalid_api_key"),
        ("bad-token", "echo", 401, "invalid_api_key"),
        (TEST_TOKEN, "missing", 404, "model_not_found"),
        (TEST_TOKEN, "ratelimit-once", 429, "rate_limit_exceeded"),
        (TEST_TOKEN, "flaky", 500, "internal_error"),
    ],
)
async def test_emulator_errors_in_openai_shape(
    emulator: EmulatorServer, token: str | None, model: str, status: int, code: str
) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with _raw(emulator, token) as client:
        response = await client.post("/chat/completions", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status == 429:
        assert response.headers["retry-after"] == "1"


async def test_emulator_stream_is_chat_completion_chunks(emulator: EmulatorServer) -> None:
    body = {"model": "echo", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with _raw(emulator) as client:
        response = await client.post("/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in response.text.split("\n\n") if b]
    assert all(b.startswith("data: ") for b in blocks)
    assert blocks[-1] == "data: [DONE]"
    chunks = [json.loads(b.removeprefix("data: ")) for b in blocks[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]]
    assert max(len(p) for p in pieces) == emulator.state.options.chunk_size
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert set(chunks[-1]["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


async def test_emulator_accepts_content_parts(emulator: EmulatorServer) -> None:
    body = {"model": "echo", "messages": [{"role": "user", "content": [{"type": "text", "text": "parts"}]}]}
    async with _raw(emulator) as client:
        response = await client.post("/chat/completions", json=body)
    assert "> parts" in response.json()["choices"][0]["message"]["content"]


async def test_emulator_models_list(emulator: EmulatorServer) -> None:
    async with _raw(emulator) as client:
        response = await client.get("/models")
    body = response.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == list(ASSISTANTS)
    assert {m["object"] for m in body["data"]} == {"model"}


# --- what the emulator does not produce, through a mock transport -------------------------------------


def mock_provider(
    handler: Callable[[httpx.Request], httpx.Response], **fields: Any
) -> tuple[OpenAIProvider, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    fields.setdefault("base_url", "https://devs.example/api/v1")
    server = ServerConfig(name="mock", kind="openai", token=TEST_TOKEN, **fields)
    http = HttpClient(server, transport=httpx.MockTransport(recording))
    return OpenAIProvider(server, http), seen


def sse_response(body: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


DEVS_STREAM = (
    'event: message.created\ndata: {"messageId": "m1", "role": "assistant"}\n\n'
    'event: message.delta\ndata: {"messageId": "m1", "content": {"text": "Hel"}}\n\n'
    ": a comment between events\n\n"
    'event: message.delta\ndata: {"messageId": "m1", "content": "lo, "}\n\n'
    'event: message.delta\ndata: {"messageId": "m1", "text": "wor"}\n\n'
    'event: message.delta\ndata: {"messageId": "m1", "delta": "ld"}\n\n'
    'event: tool.progress\ndata: {"whatever": true}\n\n'
    'event: message.completed\ndata: {"messageId": "m1", "content": "Hello, world!", "chatId": "c-9",'
    ' "usage": {"inputTokens": 7, "outputTokens": 3}}\n\n'
    "event: done\ndata: {}\n\n"
    'event: message.delta\ndata: {"content": {"text": "after done: never read"}}\n\n'
)


async def test_devs_style_stream_is_accepted() -> None:
    provider, seen = mock_provider(lambda request: sse_response(DEVS_STREAM))
    events = await collect(provider, ask("ai-123", "hi"))
    await provider.aclose()
    assert text_of(events) == "Hello, world"
    assert {e.message_id for e in events if isinstance(e, TextDelta)} == {"m1"}
    [usage] = [e for e in events if isinstance(e, UsageReport)]
    assert usage.usage == Usage(input_tokens=7, output_tokens=3)
    done = last(events)
    assert isinstance(done, Done)
    assert done.final_text == "Hello, world!"
    assert done.message_ids == ["m1"]
    assert done.metadata == {"chatId": "c-9"}
    assert done.conversation_id is None
    assert seen[0].url.path == "/api/v1/chats/completions"  # the Devs platform's own path first
    assert seen[0].headers["authorization"] == f"Bearer {TEST_TOKEN}"


async def test_devs_style_error_event_fails_the_send() -> None:
    body = (
        'event: message.delta\ndata: {"content": {"text": "partial"}}\n\n'
        'event: error\ndata: {"error": "quota", "message": "the AI is out of credits"}\n\n'
    )
    provider, _ = mock_provider(lambda request: sse_response(body))
    events = await collect(provider, ask("ai-1"))
    await provider.aclose()
    assert text_of(events) == "partial"
    error = error_of(events)
    assert isinstance(error, ServerError)
    assert "the AI is out of credits" in str(error)


async def test_openai_stream_ending_at_eof_without_done_marker() -> None:
    body = 'data: {"choices": [{"delta": {"content": "ok"}}]}\n\n'
    provider, _ = mock_provider(lambda request: sse_response(body))
    events = await collect(provider, ask("m"))
    await provider.aclose()
    assert text_of(events) == "ok"
    assert isinstance(last(events), Done)


async def test_length_finish_reason_in_a_stream_gives_a_notice() -> None:
    body = (
        'data: {"model": "gpt-test", "choices": [{"delta": {"content": "Once upon"}, '
        '"finish_reason": null}]}\n\n'
        'data: {"choices": [{"delta": {}, "finish_reason": "length"}]}\n\n'
        'data: {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}\n\n'
        "data: [DONE]\n\n"
    )
    provider, _ = mock_provider(lambda request: sse_response(body))
    events = await collect(provider, ask("gpt-test"))
    await provider.aclose()
    assert [type(e) for e in events] == [TextDelta, Notice, UsageReport, Done]
    notice = events[1]
    assert isinstance(notice, Notice)
    assert "cut off by the model's length limit" in notice.text
    done = last(events)
    assert isinstance(done, Done)
    assert done.metadata == {"model": "gpt-test", "finish_reason": "length"}


async def test_length_finish_reason_in_a_whole_answer_gives_a_notice() -> None:
    answer = {
        "model": "gpt-test",
        "chatId": "chat-1",
        "choices": [{"message": {"role": "assistant", "content": "Once"}, "finish_reason": "length"}],
    }
    provider, seen = mock_provider(lambda request: httpx.Response(200, json=answer), stream=False)
    events = await collect(provider, ask("gpt-test"))
    await provider.aclose()
    assert [type(e) for e in events] == [TextDelta, Notice, Done]
    done = last(events)
    assert isinstance(done, Done)
    assert done.metadata == {"model": "gpt-test", "finish_reason": "length", "chatId": "chat-1"}
    assert json.loads(seen[0].content)["stream"] is False


async def test_error_object_inside_a_stream_fails_the_send() -> None:
    body = (
        'data: {"choices": [{"delta": {"content": "a"}}]}\n\ndata: {"error": {"message": "overloaded"}}\n\n'
    )
    provider, _ = mock_provider(lambda request: sse_response(body))
    events = await collect(provider, ask("m"))
    await provider.aclose()
    assert text_of(events) == "a"
    error = error_of(events)
    assert isinstance(error, ServerError)
    assert "overloaded" in str(error)


async def test_whole_answer_without_content_is_malformed() -> None:
    provider, _ = mock_provider(lambda request: httpx.Response(200, json={"choices": []}), stream=False)
    error = error_of(await collect(provider, ask("m")))
    await provider.aclose()
    assert isinstance(error, MalformedResponseError)


async def test_json_answer_to_a_streamed_request_is_read_whole() -> None:
    answer = {"choices": [{"message": {"content": "no stream here"}, "finish_reason": "stop"}]}
    provider, _ = mock_provider(lambda request: httpx.Response(200, json=answer), stream=True)
    events = await collect(provider, ask("m"))
    await provider.aclose()
    assert text_of(events) == "no stream here"
    assert isinstance(last(events), Done)


def test_usage_and_text_readers() -> None:
    assert usage_from({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}) == Usage(
        input_tokens=1, output_tokens=2, total_tokens=3
    )
    assert usage_from({"inputTokens": 4, "outputTokens": 5}) == Usage(input_tokens=4, output_tokens=5)
    assert usage_from({"prompt_tokens": True}) is None
    assert usage_from(None) is None
    assert devs_text({"content": {"text": "a"}}) == "a"
    assert devs_text({"content": "b"}) == "b"
    assert devs_text({"text": "c"}) == "c"
    assert devs_text({"delta": "d"}) == "d"
    assert devs_text({"content": {"data": 1}}) is None


def test_emulator_reset_works_on_a_fresh_server() -> None:
    server = EmulatorServer()
    try:
        state = server.reset()
        assert state.requests == []
    finally:
        server.stop()
