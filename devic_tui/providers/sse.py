"""Server-sent events off an httpx response, decoded by httpx-sse (bytes to lines to events, by the
WHATWG rules: CRLF, comments, multi-line data), with a cap on how many bytes an answer may take."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent

from devic_tui.providers.errors import AnswerTooLongError, MalformedResponseError


class _LenientEventSource(EventSource):
    def _check_content_type(self) -> None:
        # Servers in the wild label event streams text/plain or application/json; parse them anyway.
        return None


async def iter_sse(
    response: httpx.Response, *, server: str, max_bytes: int
) -> AsyncIterator[ServerSentEvent]:
    """Yield each event of `response`; raise AnswerTooLongError past `max_bytes`."""
    async for event in _LenientEventSource(response).aiter_sse():
        if response.num_bytes_downloaded > max_bytes:
            raise AnswerTooLongError(
                f"server '{server}' sent more than {max_bytes:,} bytes; the answer was cut there",
                server=server,
            )
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
