"""Server-sent events at the byte level (providers/sse.py): bodies split at awkward places (mid-line,
mid-UTF-8 character, between CR and LF), comments, multi-line data, unknown event names, the byte cap,
and a property: however a valid body is split into chunks, it decodes to the same events."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devic_tui.providers.errors import AnswerTooLongError, MalformedResponseError
from devic_tui.providers.sse import event_json, is_done_marker, iter_sse

Decoded = tuple[str, str, str, int | None]
CAP = 1_000_000


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: Sequence[bytes]) -> None:
        self.chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def response_of(chunks: Sequence[bytes], content_type: str = "text/event-stream") -> httpx.Response:
    return httpx.Response(200, headers={"content-type": content_type}, stream=Chunks(chunks))


async def decode_async(chunks: Sequence[bytes], max_bytes: int = CAP) -> list[Decoded]:
    response = response_of(chunks)
    return [
        (e.event, e.data, e.id, e.retry) async for e in iter_sse(response, server="s", max_bytes=max_bytes)
    ]


def decode(chunks: Sequence[bytes], max_bytes: int = CAP) -> list[Decoded]:
    return asyncio.run(decode_async(chunks, max_bytes))


def split_at(body: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(points) if b > a]


BODY = (
    b": a comment first\n"
    b"event: message.created\n"
    b'data: {"messageId": "m1"}\n'
    b"\n"
    b'data: {"chunk": "h\xc3\xa9llo \xf0\x9f\x98\x80 w\xc3\xb6rld"}\n'
    b"\n"
    b"event: message.delta\r\n"
    b"id: 7\r\n"
    b"data: line one\r\n"
    b"data: line two\r\n"
    b"\r\n"
    b"retry: 1500\n"
    b"event: some.future.event\n"
    b"data:no-space\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED: list[Decoded] = [
    ("message.created", '{"messageId": "m1"}', "", None),
    ("message", '{"chunk": "héllo 😀 wörld"}', "", None),
    ("message.delta", "line one\nline two", "7", None),
    ("some.future.event", "no-space", "7", 1500),
    ("message", "[DONE]", "7", None),
]


def test_whole_body_in_one_chunk() -> None:
    assert decode([BODY]) == EXPECTED


def test_one_byte_at_a_time() -> None:
    assert decode([BODY[i : i + 1] for i in range(len(BODY))]) == EXPECTED


def test_every_single_split_point() -> None:
    for cut in range(1, len(BODY)):
        assert decode([BODY[:cut], BODY[cut:]]) == EXPECTED, f"split at byte {cut}"


@pytest.mark.parametrize("char", ["é", "😀", "中", "\u2028"])
def test_split_inside_a_utf8_character(char: str) -> None:
    body = f"data: a{char}b\n\n".encode()
    start = body.index(char.encode())
    for offset in range(1, len(char.encode())):
        cut = start + offset
        assert decode([body[:cut], body[cut:]]) == [("message", f"a{char}b", "", None)]


def test_crlf_split_between_cr_and_lf() -> None:
    body = b"data: one\r\n\r\ndata: two\r\n\r\n"
    for cut in range(1, len(body)):
        assert decode([body[:cut], body[cut:]]) == [
            ("message", "one", "", None),
            ("message", "two", "", None),
        ], f"split at byte {cut}"


def test_bare_cr_line_endings() -> None:
    assert decode([b"data: a\rdata: b\r\r"]) == [("message", "a\nb", "", None)]


def test_comments_and_unknown_fields_are_ignored() -> None:
    body = b": keep-alive\n:another\nfoo: bar\ndata: x\n: between lines\n\n"
    assert decode([body]) == [("message", "x", "", None)]


def test_only_one_leading_space_is_stripped() -> None:
    assert decode([b"data:   indented\n\n"]) == [("message", "  indented", "", None)]


def test_empty_data_lines_keep_blank_lines() -> None:
    assert decode([b"data: a\ndata:\ndata: b\n\n"]) == [("message", "a\n\nb", "", None)]


def test_named_event_without_data_is_dispatched() -> None:
    # The Devs stream may end with a bare `event: done`; the provider needs to see it.
    assert decode([b"event: done\n\n"]) == [("done", "", "", None)]


def test_unterminated_last_event_is_dropped() -> None:
    assert decode([b"data: complete\n\ndata: incomplete"]) == [("message", "complete", "", None)]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", ""])
async def test_mislabelled_streams_are_still_read(content_type: str) -> None:
    response = response_of([b"data: ok\n\n"], content_type)
    events = [e.data async for e in iter_sse(response, server="s", max_bytes=CAP)]
    assert events == ["ok"]


async def test_byte_cap_stops_the_stream() -> None:
    chunks = [f'data: {{"chunk": "{i:04d}{"x" * 90}"}}\n\n'.encode() for i in range(100)]
    response = response_of(chunks)
    seen: list[str] = []

    async def read() -> None:
        async for event in iter_sse(response, server="srv", max_bytes=1_000):
            seen.append(event.data)

    with pytest.raises(AnswerTooLongError, match="more than 1,000 bytes") as caught:
        await read()
    assert caught.value.server == "srv"
    assert 0 < len(seen) < 10
    assert response.num_bytes_downloaded < 2_000  # it stopped reading, not just yielding


async def test_body_exactly_at_the_cap_passes() -> None:
    body = b"data: 12345\n\n"
    response = response_of([body])
    events = [e async for e in iter_sse(response, server="s", max_bytes=len(body))]
    assert len(events) == 1


async def test_byte_cap_holds_without_event_boundaries() -> None:
    chunks = [b"data: " + b"x" * 1000 for _ in range(1000)]  # 1 MB, never a newline
    response = response_of(chunks)
    with pytest.raises(AnswerTooLongError):
        async for _ in iter_sse(response, server="s", max_bytes=10_000):
            pass


async def test_done_marker_and_json() -> None:
    response = response_of([b'data: [DONE] \n\ndata: {"a": 1}\n\ndata: nope\n\n'])
    events = [e async for e in iter_sse(response, server="s", max_bytes=CAP)]
    assert is_done_marker(events[0])
    assert not is_done_marker(events[1])
    assert event_json(events[1], server="s") == {"a": 1}
    with pytest.raises(MalformedResponseError, match="not JSON: 'nope'"):
        event_json(events[2], server="s")


# --- the property ----------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12
)
_event = st.tuples(
    st.sampled_from(["", "message.delta", "done", "tool.call"]),
    st.lists(_text, min_size=1, max_size=3),
)
_newline = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def sse_bodies(draw: st.DrawFn) -> tuple[bytes, list[Decoded]]:
    events = draw(st.lists(_event, min_size=1, max_size=5))
    newline = draw(_newline)
    lines: list[str] = []
    expected: list[Decoded] = []
    for name, data_lines in events:
        if draw(st.booleans()):
            lines.append(": comment " + draw(_text))
        if name:
            lines.append(f"event: {name}")
        lines.extend(f"data: {line}" for line in data_lines)
        lines.append("")
        expected.append((name or "message", "\n".join(data_lines), "", None))
    return (newline.join(lines) + newline).encode(), expected


@settings(max_examples=150, deadline=None)
@given(body_and_events=sse_bodies(), data=st.data())
def test_any_split_decodes_to_the_same_events(
    body_and_events: tuple[bytes, list[Decoded]], data: st.DataObject
) -> None:
    body, expected = body_and_events
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=max(1, len(body) - 1)), max_size=12))
    assert decode([body]) == expected
    assert decode(split_at(body, cuts)) == expected
