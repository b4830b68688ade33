"""Server-sent events off an httpx response, decoded with httpx-sse's decoders (bytes to lines to
events, by the WHATWG rules: CRLF, comments, multi-line data), with a cap on how many bytes the
stream may take on the wire (the answer's text has its own cap: `limits.py`)."""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder  # the WHATWG line and event rules

from devic_tui.providers.errors import MalformedResponseError
from devic_tui.providers.limits import stream_too_long


async def iter_sse(
    response: httpx.Response, *, server: str, max_bytes: int
) -> AsyncIterator[ServerSentEvent]:
    """Yield each event of `response`; raise AnswerTooLongError past `max_bytes` read off the wire
    (framing included: the server's `max_stream_bytes`, not its `max_answer_bytes`).

    The cap is checked on every chunk read, not per event, so a stream that never sends a blank
    line (one endless data line, or only keep-alive comments) cannot fill memory. Whatever the
    content type says, the body is read as an event stream: servers in the wild label them
    text/plain or application/json.
    """
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    events = SSEDecoder()
    async for chunk in response.aiter_bytes():
        if response.num_bytes_downloaded > max_bytes:
            raise stream_too_long(server, max_bytes)
        for line in lines.decode(text.decode(chunk)):
            event = events.decode(line.rstrip("\n"))
            if event is not None:
                yield event
    for line in [*lines.decode(text.decode(b"", final=True)), *lines.flush()]:
        event = events.decode(line.rstrip("\n"))
        if event is not None:
            yield event


def is_done_marker(event: ServerSentEvent) -> bool:
    return event.data.strip() == "[DONE]"


def event_json(event: ServerSentEvent, *, server: str) -> Any:
    """The event's data as JSON; an event whose data is not JSON is a malformed response."""
    try:
        return json.loads(event.data)
    except ValueError:
        snippet = event.data[:80]
        raise MalformedResponseError(
            f"server '{server}' sent an event that is not JSON: {snippet!r}", server=server
        ) from None
