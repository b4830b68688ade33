"""Reading what a provider's send yielded, shared by the provider tests: the events in order, the
answer's text, and the error a failed send ended with."""

from __future__ import annotations

from collections.abc import AsyncIterator

from devic_tui.providers.events import SendEvent, StreamError, TextDelta


async def collect_events(stream: AsyncIterator[SendEvent]) -> list[SendEvent]:
    return [event async for event in stream]


def text_of(events: list[SendEvent]) -> str:
    """The text deltas joined, as they arrived."""
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def error_of(events: list[SendEvent]) -> Exception:
    """The error of the StreamError a failed send must end with."""
    assert events, "no events"
    final = events[-1]
    assert isinstance(final, StreamError), f"expected a StreamError, got {final!r}"
    return final.error
