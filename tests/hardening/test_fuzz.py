"""Fuzzing with hypothesis: no server answer and no file on disk crashes the app. Bad input is an
error value: a ProviderError (or a StreamError event carrying one) from the decoders and providers,
a TranscriptError (the file quarantined) from the transcript loader."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devic_tui.config import ServerConfig
from devic_tui.providers import devic_answers as devic
from devic_tui.providers.base import Provider, SendRequest
from devic_tui.providers.errors import ProviderError
from devic_tui.providers.events import Done, StreamError
from devic_tui.providers.http import HttpClient
from devic_tui.providers.registry import provider_class
from devic_tui.providers.sse import event_json, iter_sse
from devic_tui.store import codecs
from devic_tui.store.transcripts import TranscriptError, TranscriptStore
from tests.unit.store_helpers import conversation, json_values

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

KEYS = st.sampled_from(
    [
        "choices", "delta", "content", "text", "message", "messages", "data", "error", "usage", "id",
        "chatUid", "conversationId", "role", "type", "status", "finish_reason", "toolCalls", "messageId",
        "chatId", "files", "name", "createdAt", "inputTokens", "total_tokens", "answer", "response",
    ]
)  # fmt: skip
shaped_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["assistant", "user", "completed", "[DONE]"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=16,
)  # fmt: skip
"""JSON that looks like what the APIs send: their keys, any values, any nesting."""


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


sse_event = st.tuples(
    st.none() | st.sampled_from(["message", "message.delta", "message.completed", "error", "done", "x"]),
    st.one_of(shaped_json.map(lambda v: json.dumps(v)), st.text(max_size=30), st.just("[DONE]")),
)  # fmt: skip
sse_body = st.lists(sse_event, max_size=6).map(
    lambda events: "".join(
        (f"event: {name}\n" if name else "") + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
        for name, data in events
    ).encode()
)
bodies = st.one_of(
    st.binary(max_size=300), shaped_json.map(json_bytes), json_values.map(json_bytes), sse_body
)
content_types = st.sampled_from(["application/json", "text/event-stream", "text/html", "text/plain", ""])


# --- SSE ---------------------------------------------------------------------------------------------


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: Sequence[bytes]) -> None:
        self.chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


async def read_events(chunks: Sequence[bytes], cap: int) -> int:
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Chunks(chunks))
    count = 0
    try:
        async for event in iter_sse(response, server="fuzz", max_bytes=cap):
            count += 1
            with contextlib.suppress(ProviderError):
                event_json(event, server="fuzz")
    except ProviderError:
        pass
    return count


@FUZZ
@given(chunks=st.lists(st.binary(max_size=80) | sse_body, max_size=8), cap=st.integers(1, 2000))
def test_iter_sse_never_raises_anything_but_provider_errors(chunks: list[bytes], cap: int) -> None:
    asyncio.run(read_events(chunks, cap))


# --- Devic's parse functions ---------------------------------------------------------------------------

PARSERS: list[Callable[[Any], Any]] = [
    devic.content_text,
    devic.parse_tool_calls,
    devic.parse_message,
    devic.parse_messages,
    devic.parse_answer,
    devic.parse_realtime,
    devic.async_chat_uid,
    devic.parse_assistants,
    lambda body: devic.parse_chat_list(body, "a1"),
    lambda body: devic.parse_stored_chat(body, "a1", "c1"),
    devic.parse_upload,
]


@FUZZ
@given(body=st.one_of(shaped_json, json_values))
def test_devic_parsers_return_or_raise_provider_errors(body: Any) -> None:
    for parse in PARSERS:
        with contextlib.suppress(ProviderError):
            parse(body)


# --- every provider, against a server answering anything ---------------------------------------------


def fuzz_provider(kind: str, status: int, body: bytes, content_type: str) -> Provider:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type} if content_type else {}
        return httpx.Response(status, headers=headers, content=body)

    fields: dict[str, Any] = {"name": "fuzz", "kind": kind, "token": "t-fuzz", "max_retries": 0}
    fields["base_url"] = {"agent": "https://a.example/v1/api", "openai": "https://o.example/v1"}.get(
        kind, "https://d.example"
    )
    if kind == "devic":
        fields["async_mode"] = False
    server = ServerConfig(**fields)
    http = HttpClient(server, transport=httpx.MockTransport(answer))
    return provider_class(kind)(server, http)


async def exercise(kind: str, status: int, body: bytes, content_type: str) -> None:
    provider = fuzz_provider(kind, status, body, content_type)
    try:
        for conversation_id in (None, "c1"):
            request = SendRequest(assistant_id="a1", text="hi", conversation_id=conversation_id)
            events = [event async for event in provider.send(request)]
            assert events
            assert isinstance(events[-1], Done | StreamError), events[-1:]
        calls: list[Callable[[], Awaitable[object]]] = [
            provider.list_assistants,
            lambda: provider.list_chats("a1"),
            lambda: provider.get_chat("a1", "c1"),
        ]
        for call in calls:
            with contextlib.suppress(ProviderError):
                await call()
    finally:
        await provider.aclose()


@pytest.mark.parametrize("kind", ["devic", "devs", "agent", "openai"])
@FUZZ
@given(
    status=st.sampled_from([200, 200, 200, 201, 400, 401, 404, 429, 500, 503]),
    body=bodies,
    content_type=content_types,
)
def test_providers_turn_any_answer_into_events_or_provider_errors(
    kind: str, status: int, body: bytes, content_type: str
) -> None:
    asyncio.run(exercise(kind, status, body, content_type))


# --- the transcript loader -----------------------------------------------------------------------------

VALID_SNAPSHOT = codecs.encode_snapshot(conversation("c1", 3), "json", folded_journal=None)
VALID_TOML = codecs.encode_snapshot(conversation("c1", 3), "toml", folded_journal=None)


def mutated(data: bytes) -> st.SearchStrategy[bytes]:
    def apply(cuts: list[tuple[int, int]]) -> bytes:
        out = bytearray(data)
        for where, value in cuts:
            if out:
                out[where % len(out)] = value
        return bytes(out)

    return st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4).map(apply)


file_bodies = st.one_of(
    st.binary(max_size=400),
    json_values.map(json_bytes),
    shaped_json.map(json_bytes),
    mutated(VALID_SNAPSHOT),
    mutated(VALID_TOML),
    st.integers(0, len(VALID_SNAPSHOT)).map(lambda n: VALID_SNAPSHOT[:n]),
)
names = st.sampled_from(["c1.json", "c1.toml", "c1.journal.jsonl"])


@FUZZ
@given(files=st.dictionaries(names, file_bodies, min_size=1, max_size=3))
def test_the_transcript_loader_only_raises_transcript_errors(
    tmp_path_factory: Any, files: dict[str, bytes]
) -> None:
    directory: Path = tmp_path_factory.mktemp("fuzz") / "transcripts"
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    store = TranscriptStore(directory)
    try:
        summaries = store.summaries()
        try:
            loaded = store.load("c1")
        except TranscriptError:
            pass
        else:
            assert loaded.id == "c1"
        assert all(s.id == "c1" for s in summaries)
        store.rebuild_index()
        fresh = conversation("c2", 2)  # whatever happened, history still records
        store.save(fresh)
        assert store.load("c2") == fresh
    finally:
        store.close()
