"""The Devs provider against the loopback emulator (contract §4): AIs and chats, the send stream, exact
request bodies, uploads, tool calls, chat management and every fault mode; plus stream shapes the
emulator does not send (unknown events, `content` as a string, error events) through a mock transport."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from devic_tui.config import AssistantConfig, ServerConfig
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.scripts import ASSISTANTS, long_answer
from devic_tui.models import Attachment
from devic_tui.providers import devs as devs_module
from devic_tui.providers.base import Provider, SendRequest, ToolOutput
from devic_tui.providers.devs import MAX_UPLOAD_BYTES, DevsProvider
from devic_tui.providers.errors import (
    AnswerTooLongError,
    AuthError,
    FileRejectedError,
    MalformedResponseError,
    NotFoundError,
    PayloadTooLargeError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
    StreamInterruptedError,
)
from devic_tui.providers.events import (
    Done,
    MessageBoundary,
    Progress,
    SendEvent,
    StreamError,
    TextDelta,
    ToolCallRequest,
    UsageReport,
)
from devic_tui.providers.http import HttpClient
from tests.providers.events import collect_events as collect
from tests.providers.events import text_of

MakeProvider = Callable[..., Provider]


def devs(make_provider: MakeProvider, **fields: Any) -> DevsProvider:
    provider = make_provider("devs", **fields)
    assert isinstance(provider, DevsProvider)
    return provider


def last(events: list[SendEvent]) -> SendEvent:
    assert events, "no events"
    return events[-1]


def finished(events: list[SendEvent]) -> Done:
    end = last(events)
    assert isinstance(end, Done), f"expected Done, got {end!r}"
    return end


def chat_of(events: list[SendEvent]) -> str:
    chat_id = finished(events).conversation_id
    assert chat_id
    return chat_id


def failure(events: list[SendEvent]) -> StreamError:
    end = last(events)
    assert isinstance(end, StreamError), f"expected a StreamError, got {end!r}"
    return end


def sends(emulator: EmulatorServer) -> list[Any]:
    return [
        r
        for r in emulator.state.requests_for("devs")
        if r.method == "POST" and r.path.startswith("/api/v1/chats/") and r.path.count("/") == 4
    ]


def attachment(name: str, content: bytes, mime: str = "text/plain") -> Attachment:
    return Attachment(
        name=name, size=len(content), sha256=hashlib.sha256(content).hexdigest(), mime_type=mime
    )


# --------------------------------------------------------------------------------------- browsing


async def test_lists_every_scripted_ai_and_the_configured_ones(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider, assistants=[AssistantConfig(id="my-own", name="Mine")])
    listed = await provider.list_assistants()
    assert [a.id for a in listed] == [*ASSISTANTS, "my-own"]
    echo = next(a for a in listed if a.id == "echo")
    assert echo.name == "echo"
    assert echo.description == ASSISTANTS["echo"]
    assert echo.extra["userName"] == "emulator"
    (request,) = emulator.state.requests_for("devs")
    assert (request.method, request.path, request.query) == ("GET", "/api/v1/me/ai", {"scope": "ALL"})


async def test_reads_a_bare_array_of_ais(
    make_provider: MakeProvider, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(devs_module.PATHS, "assistants", "/api/v1/ai")  # this route answers `[AI]`
    listed = await devs(make_provider).list_assistants()
    assert [a.id for a in listed] == list(ASSISTANTS)


async def test_refused_listing_falls_back_to_configured_ais_or_says_why(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    configured = devs(make_provider, token="bad-token", assistants=[AssistantConfig(id="echo")])
    assert [a.id for a in await configured.list_assistants()] == ["echo"]
    bare = devs(make_provider, token="bad-token")
    with pytest.raises(AuthError, match=r"refused the token \(401\).*invalid token"):
        await bare.list_assistants()


# ------------------------------------------------------------------------------------------- send


async def test_send_creates_the_chat_then_streams_the_answer(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    events = await collect(provider.send(SendRequest(assistant_id="echo", text="hello there")))

    created = events[0]
    assert isinstance(created, Progress)
    assert created.status == "chat created"
    chat_id = created.conversation_id
    assert chat_id
    assert isinstance(events[1], MessageBoundary)
    message_id = events[1].message_id
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3  # streamed in chunks of 12 characters
    assert all(d.message_id == message_id for d in deltas)
    answer = text_of(events)
    assert "> hello there" in answer
    assert "message 1 of this chat" in answer
    usage = next(e for e in events if isinstance(e, UsageReport)).usage
    assert usage.input_tokens == 2
    assert usage.output_tokens == len(answer.split())
    done = finished(events)
    assert done.conversation_id == chat_id
    assert done.message_ids == [message_id]
    assert done.final_text == answer
    assert done.started_at
    assert done.finished_at

    create, send = emulator.state.requests_for("devs")
    assert (create.method, create.path, create.body) == ("POST", "/api/v1/ai/echo/chats", None)
    assert (send.method, send.path) == ("POST", f"/api/v1/chats/{chat_id}")
    assert set(send.body) == {"date", "prompt"}
    assert send.body["prompt"] == "hello there"
    assert datetime.fromisoformat(send.body["date"].replace("Z", "+00:00")).tzinfo is not None
    assert send.headers["accept"] == "text/event-stream"


async def test_continuation_reuses_the_chat_and_the_server_keeps_history(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    first = await collect(provider.send(SendRequest(assistant_id="echo", text="one")))
    chat_id = chat_of(first)
    second = await collect(
        provider.send(SendRequest(assistant_id="echo", text="two", conversation_id=chat_id))
    )
    assert not any(isinstance(e, Progress) for e in second)
    assert "message 2 of this chat" in text_of(second)
    assert chat_of(second) == chat_id
    assert [r.path for r in emulator.state.requests_for("devs")].count("/api/v1/ai/echo/chats") == 1

    chats = await provider.list_chats("echo")
    assert [(c.id, c.title, c.assistant_id) for c in chats] == [(chat_id, "one", "echo")]
    assert chats[0].created_at is not None
    detail = await provider.get_chat("echo", chat_id)
    assert detail.chat.id == chat_id
    assert [m.role for m in detail.messages] == ["user", "assistant", "user", "assistant"]
    assert [m.content for m in detail.messages][::2] == ["one", "two"]
    assert detail.messages[3].content == text_of(second)
    assert all(m.id and m.created_at for m in detail.messages)


async def test_unknown_ai_and_unknown_chat_are_not_found(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    with pytest.raises(NotFoundError, match="chat 'chat_9999' not found"):
        await provider.get_chat("echo", "chat_9999")
    events = await collect(provider.send(SendRequest(assistant_id="nobody", text="hi")))
    assert isinstance(failure(events).error, NotFoundError)


# ---------------------------------------------------------------------------------------- uploads


async def test_upload_with_progress_then_send_referencing_the_file(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    content = b"line\n" * 40_000  # 200 KB: several progress steps
    local = attachment("notes.txt", content)
    progress: list[tuple[int, int]] = []
    result = await provider.upload(
        "echo", None, local, content, lambda sent, total: progress.append((sent, total))
    )

    chat_id = result.conversation_id
    assert chat_id
    file = result.file
    assert file.id
    assert file.name == "notes.txt"
    assert file.size == len(content)
    assert file.mime_type == "text/plain"
    assert file.url
    assert file.id in file.url
    assert len(progress) > 2
    assert progress[-1][0] == progress[-1][1] > len(content)
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)

    create, upload = emulator.state.requests_for("devs")
    assert create.path == "/api/v1/ai/echo/chats"
    assert (upload.method, upload.path) == ("POST", f"/api/v1/chats/{chat_id}/files")
    assert upload.headers["content-type"].startswith("multipart/form-data")

    (listed,) = await provider.list_files(chat_id)
    assert (listed.id, listed.name, listed.extra["source"]) == (file.id, "notes.txt", "USER")

    sent = local.model_copy(update={"remote": file})
    events = await collect(
        provider.send(
            SendRequest(assistant_id="echo", text="read this", conversation_id=chat_id, attachments=[sent])
        )
    )
    assert isinstance(last(events), Done)
    assert "- `notes.txt`" in text_of(events)
    assert sends(emulator)[-1].body["prompt"] == [
        {"type": "text", "text": "read this"},
        {"type": "file", "id": file.id},
    ]
    detail = await provider.get_chat("echo", chat_id)
    assert detail.messages[0].content == "read this"
    assert [f.id for f in detail.messages[0].files] == [file.id]


async def test_upload_into_an_existing_chat_creates_nothing(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    first = await collect(provider.send(SendRequest(assistant_id="echo", text="hi")))
    chat_id = chat_of(first)
    result = await provider.upload("echo", chat_id, attachment("a.md", b"# a"), b"# a")
    assert result.conversation_id is None
    assert [f.id for f in await provider.list_files(chat_id)] == [result.file.id]


async def test_file_over_5_mb_is_refused_before_sending(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    content = b"x" * (MAX_UPLOAD_BYTES + 1)
    with pytest.raises(FileRejectedError, match=r"'big.bin' is 5,242,881 bytes.*5 MB"):
        await devs(make_provider).upload("echo", None, attachment("big.bin", content), content)
    assert emulator.state.requests_for("devs") == []
    assert DevsProvider.capabilities.max_upload_bytes == MAX_UPLOAD_BYTES


async def test_server_refusal_413_is_payload_too_large(
    make_provider: MakeProvider, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devs_module, "MAX_UPLOAD_BYTES", 50 * 1024 * 1024)  # let it reach the server
    content = b"x" * (5 * 1024 * 1024 + 1)
    with pytest.raises(PayloadTooLargeError, match=r"too large \(413\).*the limit is 5,242,880"):
        await devs(make_provider).upload("echo", None, attachment("big.bin", content), content)


# ------------------------------------------------------------------------------------- tool calls


async def test_tool_call_round_trip(make_provider: MakeProvider, emulator: EmulatorServer) -> None:
    provider = devs(make_provider)
    events = await collect(provider.send(SendRequest(assistant_id="tools", text="weather please")))
    request = next(e for e in events if isinstance(e, ToolCallRequest))
    chat_id = request.conversation_id
    assert chat_id
    assert request.system_message_id
    (call,) = request.calls
    assert call.id
    assert call.name == "collect_details"
    city, units = call.fields
    assert (city.name, city.label, city.type, city.required) == ("city", "City", "string", True)
    assert (units.name, units.type, units.choices) == ("units", "choice", ["metric", "imperial"])
    assert text_of(events) == ""
    done = finished(events)
    assert done.conversation_id == chat_id

    output = json.dumps({"city": "Lisbon", "units": "metric"})
    answer = await collect(
        provider.submit_tool_outputs(
            "tools", chat_id, request.system_message_id, [ToolOutput(tool_call_id=call.id, output=output)]
        )
    )
    text = text_of(answer)
    assert "city: Lisbon" in text
    assert "units: metric" in text
    assert finished(answer).final_text == text
    submitted = emulator.state.requests_for("devs")[-1]
    assert submitted.path == f"/api/v1/chats/{chat_id}/tool-outputs"
    assert submitted.body == {
        "systemMessageId": request.system_message_id,
        "outputs": [{"toolCallId": call.id, "output": output, "status": "success"}],
    }
    # The chat goes on like echo afterwards; the tool-only system message is not shown as history.
    after = await collect(
        provider.send(SendRequest(assistant_id="tools", text="thanks", conversation_id=chat_id))
    )
    assert "> thanks" in text_of(after)
    detail = await provider.get_chat("tools", chat_id)
    assert [m.role for m in detail.messages] == ["user", "assistant", "user", "assistant"]


async def test_wrong_tool_outputs_are_refused(make_provider: MakeProvider, emulator: EmulatorServer) -> None:
    provider = devs(make_provider)
    events = await collect(provider.send(SendRequest(assistant_id="tools", text="x")))
    request = next(e for e in events if isinstance(e, ToolCallRequest))
    assert request.conversation_id
    answer = await collect(
        provider.submit_tool_outputs(
            "tools", request.conversation_id, "msg_wrong", [ToolOutput(tool_call_id="nope", output="1")]
        )
    )
    error = failure(answer)
    assert error.conversation_id == request.conversation_id
    assert "systemMessageId must be" in str(error.error)


# ----------------------------------------------------------------------------------- chat actions


async def test_duplicate_reset_delete_files_and_usage(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    events = await collect(provider.send(SendRequest(assistant_id="echo", text="keep me")))
    chat_id = chat_of(events)
    assert chat_id
    await provider.upload("echo", chat_id, attachment("a.txt", b"a"), b"a")

    copy = await provider.duplicate(chat_id)
    assert copy.id != chat_id
    assert copy.assistant_id == "echo"
    copied = await provider.get_chat("echo", copy.id)
    assert next(m.content for m in copied.messages) == "keep me"
    assert len(copied.messages) == 2
    assert [f.name for f in await provider.list_files(copy.id)] == ["a.txt"]

    emptied = await provider.reset(chat_id)
    assert emptied.id == chat_id
    assert (await provider.get_chat("echo", chat_id)).messages == []
    reset_request = emulator.state.requests_for("devs")[-2]
    assert (reset_request.method, reset_request.path) == ("PUT", f"/api/v1/chats/{chat_id}/reset")

    await provider.delete_chat(chat_id)
    with pytest.raises(NotFoundError):
        await provider.get_chat("echo", chat_id)
    assert [c.id for c in await provider.list_chats("echo")] == [copy.id]

    usage = await provider.usage()
    (echo_usage,) = usage["aiUsages"]
    assert echo_usage["aiId"] == "echo"
    assert echo_usage["aiApiTokensUsed"] == usage["orgUsage"]["tokensUsed"] > 0


async def test_emulator_also_resets_under_post(make_provider: MakeProvider, emulator: EmulatorServer) -> None:
    provider = devs(make_provider)
    events = await collect(provider.send(SendRequest(assistant_id="echo", text="x")))
    chat_id = chat_of(events)
    body = await provider.http.request_json("POST", f"/api/v1/chats/{chat_id}/reset")
    assert body["id"] == chat_id
    assert body["messages"] == []


# ------------------------------------------------------------------------------------- fault modes


@pytest.mark.parametrize(
    ("ai", "fields", "error_class", "words"),
    [
        (
            "ratelimit-once",
            {"max_retries": 0},
            RateLimitedError,
            "rate limiting requests (429); try again in 1 s",
        ),
        ("flaky", {"max_retries": 0}, ServerError, "failed (500): internal error"),
        ("unauthorized", {}, AuthError, "refused the token (401)"),
        ("missing", {}, NotFoundError, "has no such thing (404): assistant 'missing' not found"),
        ("junk", {}, MalformedResponseError, "sent an event that is not JSON"),
        ("cut", {}, StreamInterruptedError, "broke off"),
        ("hang", {"read_timeout": 0.3}, ProviderTimeoutError, "stayed silent for 0.3 s"),
        ("huge", {"max_answer_bytes": 200_000}, AnswerTooLongError, "more than 200,000 bytes"),
    ],
)
async def test_fault_modes_end_in_the_right_error(
    make_provider: MakeProvider,
    emulator: EmulatorServer,
    ai: str,
    fields: dict[str, Any],
    error_class: type[ProviderError],
    words: str,
) -> None:
    events = await collect(devs(make_provider, **fields).send(SendRequest(assistant_id=ai, text="hello")))
    end = failure(events)
    assert isinstance(end.error, error_class), repr(end.error)
    assert "server 'emu-devs'" in str(end.error)
    assert words in str(end.error)
    chat_created = ai not in ("unauthorized", "missing")
    assert (end.conversation_id is not None) == chat_created
    if ai in ("cut", "hang", "huge"):
        partial = text_of(events)
        assert partial, "text before the failure is kept"
        assert not any(isinstance(e, Done) for e in events)
    if ai in ("cut", "hang"):
        full = emulator.state.apis["devs"].chats[end.conversation_id].messages[-1]["content"]
        assert full.startswith(partial)
        assert len(partial) < len(full)


async def test_ratelimit_once_and_flaky_recover_with_retries(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    for ai, attempts in (("ratelimit-once", 2), ("flaky", 3)):
        events = await collect(provider.send(SendRequest(assistant_id=ai, text="again")))
        chat_id = chat_of(events)
        assert "> again" in text_of(events)
        assert len([r for r in sends(emulator) if r.path.endswith(chat_id)]) == attempts


async def test_answer_cap_counts_the_text_not_the_framing(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    emulator.reset(EmulatorOptions(chunk_size=4))  # some 80 bytes of framing for every 4 characters
    events = await collect(
        devs(make_provider, max_answer_bytes=90_000).send(SendRequest(assistant_id="long", text="x"))
    )
    assert text_of(events) == long_answer()
    assert finished(events).final_text == long_answer()


async def test_bad_token_says_where_the_token_comes_from(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    events = await collect(
        devs(make_provider, token="bad-token").send(SendRequest(assistant_id="echo", text="x"))
    )
    error = failure(events).error
    assert isinstance(error, AuthError)
    assert "check the token in the config file" in str(error)
    assert "invalid token" in str(error)


# ------------------------------------------------------------------- stream shapes off the emulator


def mock_provider(body: str, *, content_type: str = "text/event-stream") -> DevsProvider:
    server = ServerConfig(name="mock", kind="devs", base_url="http://127.0.0.1:9", token="t", max_retries=0)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=body.encode())

    return DevsProvider(server, HttpClient(server, transport=httpx.MockTransport(handler)))


def sse(*pairs: tuple[str | None, Any]) -> str:
    out = []
    for name, data in pairs:
        line = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {line}\n\n")
    return "".join(out)


async def send_to_mock(body: str, **options: Any) -> list[SendEvent]:
    provider = mock_provider(body, **options)
    try:
        return await collect(provider.send(SendRequest(assistant_id="a", text="q", conversation_id="c1")))
    finally:
        await provider.aclose()


async def test_unknown_events_are_ignored_and_every_text_shape_is_read() -> None:
    body = sse(
        ("message.created", {"messageId": "m1", "role": "assistant"}),
        ("ping", "not json at all"),
        ("message.delta", {"messageId": "m1", "content": {"text": "a"}}),
        ("message.delta", {"messageId": "m1", "content": "b"}),
        ("message.status", {"state": "thinking"}),
        ("message.delta", {"messageId": "m1", "text": "c"}),
        ("message.delta", {"messageId": "m1", "delta": "d"}),
        ("tool.delta", {"name": "search", "status": "running"}),
    )
    events = await send_to_mock(body)  # ends at EOF, without a done event
    assert text_of(events) == "abcd"
    assert [e.status for e in events if isinstance(e, Progress)] == ["tool.delta search running"]
    done = finished(events)
    assert done.conversation_id == "c1"
    assert done.message_ids == ["m1"]
    assert done.final_text is None


async def test_completed_text_wins_and_done_marker_ends_the_stream() -> None:
    body = sse(
        ("message.created", {"messageId": "m1"}),
        ("message.delta", {"messageId": "m1", "content": {"text": "Hel"}}),
        (
            "message.completed",
            {"messageId": "m1", "content": "Hello, world", "usage": {"inputTokens": 3, "outputTokens": 5}},
        ),
        (None, "[DONE]"),
        ("message.delta", {"messageId": "m1", "content": {"text": "after the end"}}),
    )
    events = await send_to_mock(body)
    assert text_of(events) == "Hello, world"  # the missing tail arrives as a delta
    usage = next(e for e in events if isinstance(e, UsageReport)).usage
    assert (usage.input_tokens, usage.output_tokens, usage.total) == (3, 5, 8)
    done = finished(events)
    assert done.final_text == "Hello, world"

    rewritten = await send_to_mock(
        sse(
            ("message.delta", {"content": {"text": "draft"}}),
            ("message.completed", {"content": {"text": "final"}}),
            ("done", {}),
        )
    )
    assert text_of(rewritten) == "draft"
    assert finished(rewritten).final_text == "final"


async def test_two_messages_in_one_stream() -> None:
    body = sse(
        ("message.created", {"messageId": "m1"}),
        ("message.completed", {"messageId": "m1", "content": "first"}),
        ("message.created", {"messageId": "m2"}),
        ("message.delta", {"messageId": "m2", "content": {"text": "sec"}}),
        ("message.completed", {"messageId": "m2", "content": "second"}),
        ("done", {}),
    )
    events = await send_to_mock(body)
    assert [e.message_id for e in events if isinstance(e, MessageBoundary)] == ["m1", "m2"]
    done = finished(events)
    assert done.message_ids == ["m1", "m2"]
    assert done.final_text == "first\n\nsecond"


@pytest.mark.parametrize(
    ("data", "error_class", "words"),
    [
        ({"error": "RATE_LIMITED", "message": "slow down"}, RateLimitedError, "slow down"),
        ({"error": "INTERNAL", "message": "the model crashed"}, ServerError, "the model crashed"),
        ({"statusCode": 401, "message": "expired"}, AuthError, "expired"),
        ("plain words", ServerError, "plain words"),
    ],
)
async def test_error_event_raises_the_right_error_and_keeps_the_text(
    data: Any, error_class: type[ProviderError], words: str
) -> None:
    body = sse(("message.delta", {"content": {"text": "partial "}}), ("error", data), ("done", {}))
    events = await send_to_mock(body)
    assert text_of(events) == "partial "
    end = failure(events)
    assert isinstance(end.error, error_class)
    assert words in str(end.error)
    assert end.conversation_id == "c1"


async def test_a_json_answer_instead_of_a_stream_is_read() -> None:
    body = json.dumps({"id": "m9", "content": "whole answer", "usage": {"inputTokens": 1, "outputTokens": 2}})
    events = await send_to_mock(body, content_type="application/json")
    assert text_of(events) == "whole answer"
    done = finished(events)
    assert done.final_text == "whole answer"
    assert done.message_ids == ["m9"]
