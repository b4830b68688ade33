"""The Devic provider against the emulated Devic API over loopback (request shapes, both prefixes,
sync and async sends, stop, tool calls, uploads, browsing, every fault mode), its answer-shape
readers on literal JSON of each shape the contract lists, and the poll loop's endings on a mock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devic_tui.config import ServerConfig
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.devic import split_parts
from devic_tui.emulator.scripts import echo_answer
from devic_tui.models import Attachment, HistoryMessage
from devic_tui.providers.base import Provider, SendRequest, ToolOutput, UnsupportedError
from devic_tui.providers.devic import DevicProvider
from devic_tui.providers.devic_answers import (
    Anchor,
    async_chat_uid,
    content_text,
    file_type_for,
    parse_answer,
    parse_assistants,
    parse_chat_list,
    parse_realtime,
    parse_stored_chat,
    parse_upload,
    reply_messages,
)
from devic_tui.providers.errors import (
    AuthError,
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
    Notice,
    Progress,
    SendEvent,
    StreamError,
    TextDelta,
    ToolCallRequest,
    UsageReport,
)
from devic_tui.providers.http import HttpClient
from tests.conftest import TEST_TOKEN

MakeProvider = Callable[..., Provider]


def devic(make_provider: MakeProvider, **fields: Any) -> DevicProvider:
    fields.setdefault("poll_interval", 0.01)
    provider = make_provider("devic", **fields)
    assert isinstance(provider, DevicProvider)
    return provider


async def collect(events: Any) -> list[SendEvent]:
    return [event async for event in events]


def text_of(events: list[SendEvent]) -> str:
    """The answer as the service builds it: messages joined by a blank line at each boundary."""
    text = ""
    for event in events:
        if isinstance(event, MessageBoundary) and text and not text.endswith("\n\n"):
            text += "\n\n"
        elif isinstance(event, TextDelta):
            text += event.text
    return text


def ending(events: list[SendEvent]) -> SendEvent:
    assert events, "no events"
    return events[-1]


def chat_of(events: list[SendEvent]) -> str | None:
    """The conversation id the last event names."""
    found = getattr(ending(events), "conversation_id", None)
    assert found is None or isinstance(found, str)
    return found


def error_of(events: list[SendEvent]) -> ProviderError:
    last = ending(events)
    assert isinstance(last, StreamError), f"expected a StreamError, got {last!r}"
    assert TEST_TOKEN not in str(last.error)
    return last.error


def sends(emulator: EmulatorServer) -> list[Any]:
    return [r for r in emulator.state.requests_for("devic") if r.path.endswith("/messages")]


def ask(text: str, conversation_id: str | None = None, assistant: str = "echo", **kw: Any) -> SendRequest:
    return SendRequest(assistant_id=assistant, text=text, conversation_id=conversation_id, **kw)


# --------------------------------------------------------------------------- request shapes


async def test_message_shape_body_and_continuation(
    emulator: EmulatorServer, make_provider: MakeProvider
) -> None:
    provider = devic(
        make_provider, async_mode=False, metadata={"userId": "u1"}, tenant_id="acme", subtenant_id="ignored"
    )
    first = await collect(provider.send(ask("hello there")))
    done = ending(first)
    assert isinstance(done, Done)
    assert done.conversation_id
    assert text_of(first) == echo_answer("hello there", turn=1)
    second = await collect(provider.send(ask("again", done.conversation_id)))
    assert text_of(second) == echo_answer("again", turn=2)
    assert isinstance(ending(second), Done)
    assert chat_of(second) == done.conversation_id
    bodies = [r.body for r in sends(emulator)]
    assert bodies[0] == {"message": "hello there", "metadata": {"userId": "u1"}, "tenantId": "acme"}
    assert bodies[1] == {
        "message": "again",
        "chatUid": done.conversation_id,
        "metadata": {"userId": "u1"},
        "tenantId": "acme",
    }
    assert all(r.query == {} for r in sends(emulator))


@pytest.mark.parametrize("shape", ["message", "messages"])
async def test_answers_without_the_message_sent_show_the_new_reply(
    emulator: EmulatorServer, make_provider: MakeProvider, shape: str
) -> None:
    # As a server generated from the OpenAPI document answers: the replies so far, then its example
    # user message; never the message sent.
    emulator.reset(EmulatorOptions(devic_generated_answers=True))
    provider = devic(make_provider, async_mode=False, request_shape=shape)
    first = await collect(provider.send(ask("hello there")))
    done = ending(first)
    assert isinstance(done, Done), done
    assert done.conversation_id == "chat_0001"
    assert text_of(first) == echo_answer("hello there", turn=1)
    history = [
        HistoryMessage(role="user", content="hello there"),
        HistoryMessage(role="assistant", content=text_of(first)),
    ]
    second = await collect(provider.send(ask("again", done.conversation_id, history=history)))
    assert isinstance(ending(second), Done), ending(second)
    assert chat_of(second) == "chat_0001"
    assert text_of(second) == echo_answer("again", turn=2)  # the new reply alone
    assert sends(emulator)[-1].body["chatUid"] == "chat_0001"  # the chat went on


async def test_messages_shape_body(emulator: EmulatorServer, make_provider: MakeProvider) -> None:
    provider = devic(
        make_provider, async_mode=False, request_shape="messages", tenant_id="acme", subtenant_id="bob"
    )
    first = await collect(provider.send(ask("hi")))
    chat = chat_of(first)
    second = await collect(provider.send(ask("more", chat)))
    assert text_of(second) == echo_answer("more", turn=2)
    bodies = [r.body for r in sends(emulator)]
    assert bodies[0] == {
        "messages": [{"role": "user", "content": "hi"}],
        "tenantId": "acme",
        "subtenantId": "bob",
    }
    assert bodies[1] == {
        "messages": [{"role": "user", "content": "more"}],
        "chatUid": chat,
        "tenantId": "acme",
        "subtenantId": "bob",
    }


async def test_legacy_shape_body_and_usage(emulator: EmulatorServer, make_provider: MakeProvider) -> None:
    provider = devic(make_provider, async_mode=False, request_shape="legacy", tenant_id="not-sent")
    first = await collect(provider.send(ask("old style")))
    assert text_of(first) == echo_answer("old style", turn=1)
    usage = [e for e in first if isinstance(e, UsageReport)]
    assert usage
    assert usage[0].usage.total_tokens == len(echo_answer("old style").split())
    chat = chat_of(first)
    await collect(provider.send(ask("next", chat)))
    bodies = [r.body for r in sends(emulator)]
    assert bodies == [{"message": "old style", "chatUuid": None}, {"message": "next", "chatUuid": chat}]


@pytest.mark.parametrize(("prefix", "expected"), [(None, "/api/v1"), ("/v1", "/v1"), ("api/v1/", "/api/v1")])
async def test_path_prefixes(
    emulator: EmulatorServer, make_provider: MakeProvider, prefix: str | None, expected: str
) -> None:
    provider = devic(make_provider, path_prefix=prefix)
    events = await collect(provider.send(ask("prefix")))
    assert isinstance(ending(events), Done)
    paths = {r.path for r in emulator.state.requests_for("devic")}
    assert f"{expected}/assistants/echo/messages" in paths
    assert all(path.startswith(expected + "/") for path in paths)


def test_capabilities_follow_shape_and_mode(server_config: Callable[..., ServerConfig]) -> None:
    http = HttpClient(server_config("devic"))

    def caps(**fields: Any) -> Any:
        return DevicProvider(server_config("devic", **fields), http).capabilities

    default = caps()
    assert default.upload
    assert default.max_upload_bytes == 25 * 1024 * 1024
    assert default.stop
    assert default.tool_calls
    assert not default.streams
    assert default.lists_assistants
    assert default.lists_chats
    assert default.server_history
    assert not caps(request_shape="messages").upload
    assert not caps(request_shape="legacy").upload
    sync = caps(async_mode=False)
    assert not sync.stop
    assert not sync.tool_calls
    assert sync.upload


# --------------------------------------------------------------------------- async progress


async def test_async_send_message_by_message(emulator: EmulatorServer, make_provider: MakeProvider) -> None:
    provider = devic(make_provider)
    events = await collect(provider.send(ask("one two three")))
    done = ending(events)
    assert isinstance(done, Done)
    assert done.conversation_id
    answer = echo_answer("one two three")
    parts = split_parts(answer)
    assert len(parts) >= 2
    assert [e.text for e in events if isinstance(e, TextDelta)] == parts
    boundaries = [e for e in events if isinstance(e, MessageBoundary)]
    assert len(boundaries) == len(parts) - 1
    assert isinstance(events[0], Progress)
    assert events[0].conversation_id == done.conversation_id
    assert not isinstance(events[1], MessageBoundary)
    statuses = [e.status for e in events if isinstance(e, Progress)]
    assert statuses[-1] == "completed"
    assert "processing" in statuses
    assert len(statuses) == len(set(statuses))
    assert text_of(events) == answer
    assert len(done.message_ids) == len(parts)
    assert sends(emulator)[0].query == {"async": "true"}


async def test_async_continuation_shows_only_the_new_answer(
    emulator: EmulatorServer, make_provider: MakeProvider
) -> None:
    provider = devic(make_provider)
    first = await collect(provider.send(ask("first")))
    chat = chat_of(first)
    second = await collect(provider.send(ask("second", chat)))
    assert text_of(second) == echo_answer("second", turn=2)
    assert chat_of(second) == chat


async def test_stop_keeps_the_text_so_far(make_provider: MakeProvider, emulator: EmulatorServer) -> None:
    emulator.reset(EmulatorOptions(message_delay=0.3))
    provider = devic(make_provider)
    events: list[SendEvent] = []
    following = ""
    async for event in provider.send(ask("stop me please")):
        events.append(event)
        if isinstance(event, Progress) and event.conversation_id:
            following = event.conversation_id
        if isinstance(event, TextDelta) and len(events) < 4:
            await provider.stop("echo", following)  # the person stops after the first message
    assert isinstance(ending(events), Done)
    assert text_of(events) == split_parts(echo_answer("stop me please"))[0]
    chat = chat_of(events)
    assert chat
    await provider.stop("echo", chat)  # not processing any more: a 400 that is ignored
    stops = [r for r in emulator.state.requests_for("devic") if r.path.endswith("/stop")]
    assert len(stops) == 2
    assert stops[0].path == f"/api/v1/assistants/echo/chats/{chat}/stop"


async def test_tool_call_round_trip(emulator: EmulatorServer, make_provider: MakeProvider) -> None:
    provider = devic(make_provider)
    events = await collect(provider.send(ask("weather please", assistant="tools")))
    request = ending(events)
    assert isinstance(request, ToolCallRequest)
    assert not any(isinstance(e, TextDelta) for e in events)
    assert [e.status for e in events if isinstance(e, Progress)][-1] == "waiting_for_tool_response"
    (call,) = request.calls
    assert call.name == "ask_details"
    assert "question" in json.loads(call.arguments)
    assert request.conversation_id
    answer = await collect(
        provider.submit_tool_outputs(
            "tools", request.conversation_id, None, [ToolOutput(tool_call_id=call.id, output="Lisbon")]
        )
    )
    assert isinstance(ending(answer), Done)
    text = text_of(answer)
    assert "> Lisbon" in text
    assert "weather please" in text
    (posted,) = [r for r in emulator.state.requests_for("devic") if r.path.endswith("/tool-response")]
    assert posted.body == {"responses": [{"tool_call_id": call.id, "content": "Lisbon", "role": "tool"}]}


async def test_expired_live_record_reads_the_stored_chat(
    emulator: EmulatorServer, make_provider: MakeProvider
) -> None:
    emulator.reset(EmulatorOptions(message_delay=0.02, realtime_ttl=0.0))
    provider = devic(make_provider)
    events = await collect(provider.send(ask("expire")))
    assert isinstance(ending(events), Done)
    assert text_of(events) == echo_answer("expire")
    paths = [r.path for r in emulator.state.requests_for("devic")]
    chat = chat_of(events)
    assert paths[-1] == f"/api/v1/assistants/echo/chats/{chat}"


# --------------------------------------------------------------------------- files


def attachment(name: str, size: int, mime: str = "text/plain") -> Attachment:
    return Attachment(name=name, size=size, sha256="0" * 64, mime_type=mime)


async def test_upload_with_progress_then_attach(
    emulator: EmulatorServer, make_provider: MakeProvider
) -> None:
    provider = devic(make_provider, async_mode=False)
    content = b"x" * 200_000
    seen: list[tuple[int, int]] = []
    result = await provider.upload(
        "echo", None, attachment("notes.txt", len(content)), content, lambda a, b: seen.append((a, b))
    )
    assert result.file.name == "notes.txt"
    assert result.file.url
    assert result.file.file_type == "document"
    assert seen
    assert seen[-1][0] == seen[-1][1]
    assert len(seen) > 1
    uploaded = attachment("notes.txt", len(content)).model_copy(update={"remote": result.file})
    events = await collect(provider.send(ask("see file", attachments=[uploaded])))
    assert "`notes.txt`" in text_of(events)
    body = sends(emulator)[0].body
    assert body["files"] == [
        {
            "name": "notes.txt",
            "downloadUrl": result.file.url,
            "donwloadUrl": result.file.url,
            "fileType": "document",
        }
    ]


async def test_upload_refused_in_other_shapes(make_provider: MakeProvider) -> None:
    provider = devic(make_provider, request_shape="messages")
    with pytest.raises(UnsupportedError):
        await provider.upload("echo", None, attachment("a.txt", 1), b"a")


async def test_upload_over_25_mb_is_413(make_provider: MakeProvider) -> None:
    provider = devic(make_provider)
    content = b"\0" * (25 * 1024 * 1024 + 1)
    with pytest.raises(PayloadTooLargeError) as caught:
        await provider.upload(
            "echo", None, attachment("big.bin", len(content), "application/octet-stream"), content
        )
    assert "25 MB" in str(caught.value)


# --------------------------------------------------------------------------- browsing


async def test_list_assistants_chats_and_get_chat(
    emulator: EmulatorServer, make_provider: MakeProvider
) -> None:
    provider = devic(make_provider, async_mode=False)
    assistants = {a.id: a for a in await provider.list_assistants()}
    assert "echo" in assistants
    assert assistants["echo"].extra["model"] == "emulator-1"
    assert assistants["echo"].description
    listing = [r for r in emulator.state.requests_for("devic") if r.path == "/api/v1/assistants"]
    assert listing[0].query == {"external": "true"}
    first = await collect(provider.send(ask("remember me")))
    chat = chat_of(first)
    assert chat
    chats = await provider.list_chats("echo")
    assert [c.id for c in chats] == [chat]
    assert chats[0].title == "remember me"
    assert chats[0].created_at
    assert chats[0].assistant_id == "echo"
    detail = await provider.get_chat("echo", chat)
    assert detail.chat.id == chat
    assert detail.chat.title == "remember me"
    assert detail.messages[0].role == "user"
    assert detail.messages[0].content == "remember me"
    assert "\n\n".join(m.content for m in detail.messages[1:]) == echo_answer("remember me")
    assert all(m.created_at for m in detail.messages)
    with pytest.raises(NotFoundError):
        await provider.get_chat("echo", "chat_nope")


# --------------------------------------------------------------------------- fault modes


@pytest.mark.parametrize("async_mode", [False, True])
async def test_unauthorized_and_missing(make_provider: MakeProvider, async_mode: bool) -> None:
    provider = devic(make_provider, async_mode=async_mode)
    error = error_of(await collect(provider.send(ask("x", assistant="unauthorized"))))
    assert isinstance(error, AuthError)
    assert "401" in str(error)
    error = error_of(await collect(provider.send(ask("x", assistant="missing"))))
    assert isinstance(error, NotFoundError)
    assert "not found" in str(error)


async def test_bad_token_is_never_shown(make_provider: MakeProvider) -> None:
    provider = devic(make_provider, token="bad-token", name="devic-bad")
    error = error_of(await collect(provider.send(ask("x"))))
    assert isinstance(error, AuthError)
    assert "bad-token" not in str(error)
    with pytest.raises(AuthError) as caught:
        await provider.list_assistants()
    assert "bad-token" not in str(caught.value)
    assert "invalid token" in str(caught.value)


async def test_ratelimit_once_is_retried(emulator: EmulatorServer, make_provider: MakeProvider) -> None:
    provider = devic(make_provider)
    events = await collect(provider.send(ask("patience", assistant="ratelimit-once")))
    assert text_of(events) == echo_answer("patience")
    assert len(sends(emulator)) == 2
    strict = devic(make_provider, name="strict", max_retries=0)
    await collect(strict.send(ask("again", assistant="ratelimit-once")))
    emulator.reset()
    error = error_of(await collect(strict.send(ask("again", assistant="ratelimit-once"))))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 1
    assert "rate limit exceeded" in str(error)


async def test_flaky_fails_twice_then_answers(emulator: EmulatorServer, make_provider: MakeProvider) -> None:
    strict = devic(make_provider, name="strict", max_retries=0, async_mode=False)
    error = error_of(await collect(strict.send(ask("x", assistant="flaky"))))
    assert isinstance(error, ServerError)
    assert "flaky" in str(error)
    provider = devic(make_provider, async_mode=False)
    events = await collect(provider.send(ask("x", assistant="flaky")))
    assert isinstance(ending(events), Done)


@pytest.mark.parametrize("async_mode", [False, True])
async def test_junk_is_malformed(make_provider: MakeProvider, async_mode: bool) -> None:
    provider = devic(make_provider, async_mode=async_mode)
    error = error_of(await collect(provider.send(ask("x", assistant="junk"))))
    assert isinstance(error, MalformedResponseError)
    assert ("not JSON" in str(error)) != async_mode
    assert "chatUid" in str(error) or not async_mode


async def test_cut_sync_is_interrupted(make_provider: MakeProvider) -> None:
    provider = devic(make_provider, async_mode=False)
    error = error_of(await collect(provider.send(ask("x", assistant="cut"))))
    assert isinstance(error, StreamInterruptedError)
    assert "broke off" in str(error)


async def test_cut_async_keeps_the_first_message(make_provider: MakeProvider) -> None:
    provider = devic(make_provider)
    events = await collect(provider.send(ask("cut me", assistant="cut")))
    error = error_of(events)
    assert isinstance(error, StreamInterruptedError)
    assert text_of(events) == split_parts(echo_answer("cut me"))[0]
    assert chat_of(events)


async def test_hang_async_times_out_with_text_kept(make_provider: MakeProvider) -> None:
    provider = devic(make_provider, read_timeout=0.3)
    events = await collect(provider.send(ask("hang on", assistant="hang")))
    error = error_of(events)
    assert isinstance(error, ProviderTimeoutError)
    assert "processing" in str(error)
    assert text_of(events) == split_parts(echo_answer("hang on"))[0]


async def test_hang_sync_times_out(make_provider: MakeProvider) -> None:
    provider = devic(make_provider, async_mode=False, read_timeout=0.3, max_retries=0)
    error = error_of(await collect(provider.send(ask("x", assistant="hang"))))
    assert isinstance(error, ProviderTimeoutError)


# --------------------------------------------------------------------------- the emulator itself


async def test_emulator_validates_like_a_strict_server(emulator: EmulatorServer) -> None:
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as client:
        bodies: list[dict[str, Any]] = [
            {},
            {"message": 3},
            {"messages": []},
            {"messages": [{"role": "user"}]},
        ]
        for body in bodies:
            response = await client.post("/v1/assistants/echo/messages", json=body)
            assert response.status_code == 400, body
            assert response.json()["error"] == "BAD_REQUEST"
            assert "message" in response.json()["message"]
        sent = await client.post(
            "/v1/assistants/echo/messages", json={"messages": [{"role": "user", "content": "hi"}]}
        )
        history = sent.json()
        assert set(history) >= {"chatUid", "assistantIdentifier", "createdAt", "messages"}
        chat = history["chatUid"]
        stopped = await client.post(f"/v1/assistants/echo/chats/{chat}/stop")
        assert stopped.status_code == 400
        assert "not processing" in stopped.json()["message"]
        listed = (await client.get("/v1/assistants/echo/chats", params={"offset": 0, "limit": 5})).json()
        assert listed["total"] == 1
        assert listed["histories"][0]["chatUID"] == chat
        stored = (await client.get(f"/v1/assistants/echo/chats/{chat}")).json()
        assert stored["chatUID"] == chat
        assert stored["chatContent"][0]["role"] == "user"
        one = (await client.get("/api/v1/assistants/markdown")).json()
        assert one["identifier"] == "markdown"
        assert one["state"] == "active"
        unknown = await client.post(
            "/v1/assistants/echo/messages", json={"message": "x", "chatUid": "chat_9999"}
        )
        assert unknown.status_code == 404
        limited = await client.post("/v1/assistants/ratelimit-once/messages", json={"message": "x"})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        nobody = await client.get("/v1/assistants", headers={"Authorization": ""})
        assert nobody.status_code == 401
        assert nobody.json()["statusCode"] == 401


async def test_emulator_answers_409_while_processing(emulator: EmulatorServer) -> None:
    emulator.reset(EmulatorOptions(message_delay=5))
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as client:
        started = await client.post("/api/v1/assistants/echo/messages?async=true", json={"message": "a"})
        chat = started.json()["data"]["chatUid"]
        busy = await client.post("/api/v1/assistants/echo/messages", json={"message": "b", "chatUid": chat})
        assert busy.status_code == 409
        live = (await client.get(f"/api/v1/assistants/echo/chats/{chat}/realtime")).json()["data"]
        assert live["status"] == "buffering"
        assert live["chatUID"] == chat


def test_split_parts_keeps_fences_whole() -> None:
    text = "intro\n\n```python\na = 1\n\nb = 2\n```\n\nmiddle\n\nend"
    parts = split_parts(text)
    assert "\n\n".join(parts) == text
    assert 2 <= len(parts) <= 3
    assert all(part.count("```") % 2 == 0 for part in parts)
    assert split_parts("single") == ["single"]


# --------------------------------------------------------------------------- answer-shape readers


SEED_002_HISTORY = {
    "chatUid": "c-1",
    "assistantIdentifier": "support",
    "createdAt": "2025-10-29T14:58:25Z",
    "messages": [
        {"role": "system", "content": "be nice", "timestamp": "2025-10-29T14:58:20Z"},
        {"role": "user", "content": "hello", "timestamp": "2025-10-29T14:58:21Z"},
        {"role": "assistant", "content": "hi!", "timestamp": "2025-10-29T14:58:25Z"},
    ],
    "metadata": {"lang": "en"},
}
SEED_001_LEGACY = {
    "chatUuid": "e1f9d83b-7c9f-4d6b-8c1b-43b214f093e2",
    "message": "Claro, puedo ayudarte con el reporte técnico.",
    "tokens_used": 845,
    "timestamp": "2025-10-29T14:58:25Z",
}
SDK_ARRAY = [
    {
        "uid": "m1",
        "role": "user",
        "content": {"message": "hola"},
        "timestamp": 1761749901000,
        "chatUid": "c-9",
    },
    {
        "uid": "m2",
        "role": "assistant",
        "content": {"message": "first"},
        "timestamp": 1761749902000,
        "chatUid": "c-9",
    },
    {"uid": "m3", "role": "tool", "content": {"data": {"x": 1}}, "timestamp": 1761749903000},
    {"uid": "m4", "role": "assistant", "content": {"message": "second"}, "timestamp": 1761749904000},
]
SKILLS_ENVELOPE = {
    "success": True,
    "data": [{"role": "user", "content": "question"}, {"role": "assistant", "content": "answer"}],
}
STORED_CHAT = {
    "chatUID": "c-7",
    "clientUID": "cl",
    "name": "Budget",
    "assistantSpecializationIdentifier": "finance",
    "creationTimestampMs": 1761749900000,
    "lastEditTimestampMs": 1761749999000,
    "chatContent": [
        {
            "uid": "u1",
            "role": "user",
            "content": {
                "message": "sum it",
                "files": [{"name": "a.pdf", "url": "https://f/a", "type": "document"}],
            },
            "timestamp": 1761749900000,
        },
        {"uid": "u2", "role": "developer", "content": "internal", "timestamp": 1761749900500},
        {"uid": "u3", "role": "assistant", "content": {"message": "42"}, "timestamp": 1761749901000},
    ],
    "inputTokens": 10,
    "outputTokens": 5,
}


def test_content_text_accepts_string_and_object() -> None:
    assert content_text("plain") == "plain"
    assert content_text({"message": "inside", "data": 1}) == "inside"
    assert content_text({"data": {"x": 1}}) == ""
    assert content_text(None) == ""


def test_parse_chat_history() -> None:
    answer = parse_answer(SEED_002_HISTORY)
    assert answer is not None
    assert answer.chat_uid == "c-1"
    assert answer.metadata == {"lang": "en"}
    reply = reply_messages(answer.messages, Anchor(text="hello"))
    assert [m.text for m in reply] == ["hi!"]
    assert reply[0].created_at is not None
    assert reply[0].created_at.year == 2025


def test_parse_legacy() -> None:
    answer = parse_answer(SEED_001_LEGACY)
    assert answer is not None
    assert answer.chat_uid == SEED_001_LEGACY["chatUuid"]
    assert answer.tokens_used == 845
    assert [m.text for m in reply_messages(answer.messages, Anchor(text="Hola"))] == [
        SEED_001_LEGACY["message"]
    ]


def test_parse_bare_array_and_envelope() -> None:
    answer = parse_answer(SDK_ARRAY)
    assert answer is not None
    assert answer.chat_uid == "c-9"
    reply = reply_messages(answer.messages, Anchor(text="hola"))
    assert [m.text for m in reply] == ["first", "second"]
    assert [m.uid for m in reply] == ["m2", "m4"]
    wrapped = parse_answer({"success": True, "data": SDK_ARRAY})
    assert wrapped is not None
    assert len(wrapped.messages) == 4
    envelope = parse_answer(SKILLS_ENVELOPE)
    assert envelope is not None
    assert envelope.chat_uid is None
    assert [m.text for m in reply_messages(envelope.messages, Anchor(text="question"))] == ["answer"]


def test_parse_stored_chat_shapes() -> None:
    detail = parse_stored_chat(STORED_CHAT, "finance", "c-7")
    assert detail is not None
    assert detail.chat.title == "Budget"
    assert detail.chat.id == "c-7"
    assert detail.chat.created_at is not None
    assert detail.chat.updated_at is not None
    assert [m.role for m in detail.messages] == ["user", "system", "assistant"]
    assert detail.messages[1].extra == {"role": "developer"}
    assert detail.messages[0].files[0].name == "a.pdf"
    assert detail.messages[0].files[0].url == "https://f/a"
    stored = parse_answer(STORED_CHAT)
    assert stored is not None
    assert stored.tokens_used == 15
    history = parse_stored_chat(SEED_002_HISTORY, "support", "c-1")
    assert history is not None
    assert history.chat.assistant_id == "support"
    assert len(history.messages) == 3


def test_reply_is_never_a_user_or_system_message() -> None:
    answer = parse_answer(
        {"chatUid": "c", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}
    )
    assert answer is not None
    assert reply_messages(answer.messages, Anchor(text="q")) == []
    earlier = parse_answer(
        [
            {"role": "user", "content": "old"},
            {"role": "assistant", "content": "old answer"},
            {"role": "user", "content": "new"},
        ]
    )
    assert earlier is not None
    assert reply_messages(earlier.messages, Anchor(text="new")) == []
    # our message not in the history yet: nothing while going on, the last user turn once final
    assert reply_messages(earlier.messages[:2], Anchor(text="new"), final=False) == []


@pytest.mark.parametrize("junk", [None, "text", 42, [1, 2], {"foo": 1}, {"message": "error only"}])
def test_parse_answer_refuses_junk(junk: Any) -> None:
    assert parse_answer(junk) is None


def test_parse_realtime_and_async_answer() -> None:
    state = parse_realtime(
        {
            "success": True,
            "data": {
                "chatUID": "c-2",
                "status": "waiting_for_tool_response",
                "lastUpdatedAt": 1761749904000,
                "chatHistory": SDK_ARRAY,
                "pendingToolCalls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q": 1}'},
                    }
                ],
            },
        }
    )
    assert state is not None
    assert state.chat_uid == "c-2"
    assert state.status == "waiting_for_tool_response"
    assert [(c.id, c.name, c.arguments) for c in state.pending_tool_calls] == [
        ("call_1", "lookup", '{"q": 1}')
    ]
    assert len(state.messages) == 4
    assert state.last_updated is not None
    assert parse_realtime({"success": True, "data": {"chatUID": "x"}}) is None
    assert async_chat_uid({"success": True, "data": {"chatUid": "c-3"}}) == "c-3"
    assert async_chat_uid({"success": True, "data": {}}) is None


def test_parse_assistants_chats_and_upload() -> None:
    item = {
        "identifier": "a1",
        "name": "Alpha",
        "description": "d",
        "state": "active",
        "model": "gpt",
        "provider": "openai",
    }
    for body in ([item], {"success": True, "data": [item]}):
        (found,) = parse_assistants(body)
        assert found.id == "a1"
        assert found.name == "Alpha"
        assert found.extra == {"model": "gpt", "provider": "openai", "state": "active"}
    histories = {
        "histories": [{"chatUID": "h1", "name": "N", "creationTimestampMs": 1761749900000}],
        "total": 1,
    }
    nested = {"data": {"chats": [{"chatUid": "h2", "createdAt": "2025-01-01T00:00:00Z"}], "hasMore": False}}
    assert [c.id for c in parse_chat_list(histories, "a1")] == ["h1"]
    (chat,) = parse_chat_list(nested, "a1")
    assert chat.id == "h2"
    assert chat.created_at is not None
    assert chat.assistant_id == "a1"
    uploaded = parse_upload({"name": "a.png", "downloadUrl": "https://f/a.png", "fileType": "image"})
    assert uploaded is not None
    assert uploaded.url == "https://f/a.png"
    assert uploaded.file_type == "image"
    assert parse_upload({"name": "a.png"}) is None
    assert file_type_for("image/png") == "image"
    assert file_type_for("application/pdf") == "document"
    assert file_type_for("application/zip") == "other"
    assert file_type_for("text/plain") == "document"


# --------------------------------------------------------------------------- poll endings on a mock


def mock_provider(
    realtime: list[dict[str, Any]],
    *,
    listed: Any = None,
    sync_body: Any = None,
    stored: Any = None,
    **fields: Any,
) -> DevicProvider:
    """A provider whose server answers the async send, then each realtime poll in turn (404 once
    they run out), and the stored chat with `stored`."""
    polls = iter(realtime)

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/messages"):
            if sync_body is not None:
                return httpx.Response(200, json=sync_body)
            return httpx.Response(200, json={"success": True, "data": {"chatUid": "c-m"}})
        if path.endswith("/realtime"):
            poll = next(polls, None)
            if poll is None:
                return httpx.Response(404, json={"error": "NOT_FOUND", "message": "expired"})
            return httpx.Response(200, json={"success": True, "data": poll})
        if path.endswith("/chats/c-m") and stored is not None:
            return httpx.Response(200, json=stored)
        if path.endswith("/assistants"):
            return httpx.Response(200, json=listed)
        return httpx.Response(404, json={"error": "NOT_FOUND", "message": "nothing here"})

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    server = ServerConfig(name="mock", kind="devic", token=TEST_TOKEN, poll_interval=0.01, **fields)
    return DevicProvider(server, HttpClient(server, transport=httpx.MockTransport(handler), sleep=no_sleep))


def live(status: str, *messages: tuple[str, str], **extra: Any) -> dict[str, Any]:
    history = [
        {"role": role, "content": {"message": text}, "uid": f"m{i}"}
        for i, (role, text) in enumerate(messages)
    ]
    return {"chatUID": "c-m", "status": status, "chatHistory": history, **extra}


@pytest.mark.parametrize(
    ("status", "extra", "error_class", "words"),
    [
        ("error", {"error": {"message": "model crashed"}}, ServerError, "run failed: model crashed"),
        ("limit_exceeded", {"limitExceeded": {"message": "monthly cap"}}, RateLimitedError, "usage limit"),
    ],
)
async def test_failed_runs_end_in_a_clear_error(
    status: str, extra: dict[str, Any], error_class: type[ProviderError], words: str
) -> None:
    provider = mock_provider(
        [
            live("processing", ("user", "q"), ("assistant", "partial")),
            live(status, ("user", "q"), ("assistant", "partial"), **extra),
        ]
    )
    events = await collect(provider.send(ask("q")))
    error = error_of(events)
    assert isinstance(error, error_class)
    assert words in str(error)
    assert text_of(events) == "partial"
    assert chat_of(events) == "c-m"
    await provider.aclose()


async def test_handed_off_ends_with_a_notice() -> None:
    provider = mock_provider(
        [live("buffering", ("user", "q")), live("handed_off", ("user", "q"), ("assistant", "bye"))]
    )
    events = await collect(provider.send(ask("q")))
    assert isinstance(ending(events), Done)
    assert isinstance(events[-2], Notice)
    assert "handed" in events[-2].text
    assert text_of(events) == "bye"
    await provider.aclose()


async def test_progress_only_when_the_status_changes() -> None:
    provider = mock_provider(
        [
            live("buffering", ("user", "q")),
            live("buffering", ("user", "q")),
            live("processing", ("user", "q"), ("assistant", "a")),
            live("processing", ("user", "q"), ("assistant", "a"), ("assistant", "b")),
            live("completed", ("user", "q"), ("assistant", "a"), ("assistant", "b")),
        ]
    )
    events = await collect(provider.send(ask("q")))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Progress", "Progress", "TextDelta", "MessageBoundary", "TextDelta", "Progress", "Done"]
    done = ending(events)
    assert isinstance(done, Done)
    assert done.message_ids == ["m1", "m2"]
    await provider.aclose()


async def test_sync_answer_without_a_reply_says_so() -> None:
    body = {
        "chatUid": "c",
        "messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "note"}],
    }
    provider = mock_provider([], sync_body=body, async_mode=False)
    error = error_of(await collect(provider.send(ask("q"))))
    assert isinstance(error, MalformedResponseError)
    assert "without an assistant message" in str(error)
    await provider.aclose()


async def test_sync_answer_without_any_reply_keeps_the_chat() -> None:
    generated = {
        "chatUid": "c-generated",
        "assistantIdentifier": "string",
        "createdAt": "2019-08-24T14:15:22Z",
        "messages": [{"role": "user", "content": "string", "timestamp": "2019-08-24T14:15:22Z"}],
    }
    provider = mock_provider([], sync_body=generated, async_mode=False)
    events = await collect(provider.send(ask("q")))
    assert isinstance(error_of(events), MalformedResponseError)
    assert chat_of(events) == "c-generated"
    await provider.aclose()


def test_a_history_without_our_message_answers_with_its_new_replies() -> None:
    def messages(*pairs: tuple[str, str]) -> list[Any]:
        parsed = parse_answer([{"role": role, "content": text} for role, text in pairs])
        assert parsed is not None
        return parsed.messages

    def reply(found: list[Any], known: str = "") -> list[str]:
        return [m.text for m in reply_messages(found, Anchor(text="ours", known=known))]

    assert reply(messages(("assistant", "new"))) == ["new"]
    assert reply(messages(("assistant", "a"), ("assistant", "b"), ("user", "string"))) == ["a", "b"]
    old = messages(("user", "q1"), ("assistant", "a1"), ("assistant", "a2"), ("assistant", "new"))
    assert reply(old, known="a1\n\na2") == ["new"]
    assert reply(old, known="earlier\n\na1 \n\n a2") == ["new"]  # whitespace aside
    assert reply(old, known="something else") == ["a1", "a2", "new"]
    again = messages(("assistant", "OK"))
    assert reply(again, known="OK") == ["OK"]  # said again: never nothing
    assert reply(messages(("user", "string"), ("system", "s"))) == []


async def test_list_assistants_falls_back_to_the_config() -> None:
    provider = mock_provider([], listed={"success": True, "data": []}, assistants=[{"id": "configured"}])
    assert [a.id for a in await provider.list_assistants()] == ["configured"]
    await provider.aclose()


async def test_expired_record_without_a_stored_reply_says_so() -> None:
    stored = {"chatUID": "c-m", "chatContent": [{"role": "user", "content": "q"}]}
    provider = mock_provider([live("buffering", ("user", "q"))], stored=stored)
    events = await collect(provider.send(ask("q")))
    error = error_of(events)
    assert isinstance(error, MalformedResponseError)
    assert "reply is missing" in str(error)
    await provider.aclose()


async def test_expired_record_finishes_from_the_stored_chat() -> None:
    stored = {
        "chatUID": "c-m",
        "chatContent": [
            {"uid": "m0", "role": "user", "content": "q"},
            {"uid": "m1", "role": "assistant", "content": {"message": "a"}},
            {"uid": "m2", "role": "assistant", "content": {"message": "b"}},
        ],
        "inputTokens": 3,
        "outputTokens": 4,
    }
    provider = mock_provider([live("processing", ("user", "q"), ("assistant", "a"))], stored=stored)
    events = await collect(provider.send(ask("q")))
    assert text_of(events) == "a\n\nb"
    done = ending(events)
    assert isinstance(done, Done)
    assert done.message_ids == ["m1", "m2"]
    assert [e.usage.total for e in events if isinstance(e, UsageReport)] == [7]
    await provider.aclose()
