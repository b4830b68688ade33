"""How long an answer may grow, counted two ways.

`max_answer_bytes` caps the answer's own text (its UTF-8 bytes), whatever the wire carried to
deliver it: a server that sends a few characters per event spends far more bytes on framing than on
text, and such an answer must not be cut at a fraction of the cap. `max_stream_bytes` caps the bytes
read off the wire, a much larger guard against a stream that never ends (`sse.iter_sse` and whole
JSON bodies check it). Either cap keeps the text that arrived before it and says where it cut."""

from __future__ import annotations

from collections.abc import AsyncIterator

from devic_tui.providers.errors import AnswerTooLongError
from devic_tui.providers.events import Done, SendEvent, TextDelta


def answer_too_long(server: str, max_bytes: int) -> AnswerTooLongError:
    return AnswerTooLongError(
        f"server '{server}' sent an answer of more than {max_bytes:,} bytes (max_answer_bytes); "
        "the answer was cut there",
        server=server,
    )


def stream_too_long(server: str, max_bytes: int) -> AnswerTooLongError:
    return AnswerTooLongError(
        f"server '{server}' sent more than {max_bytes:,} bytes without ending the answer "
        "(max_stream_bytes); the answer was cut there",
        server=server,
    )


def _utf8_prefix(text: str, max_bytes: int) -> str:
    """The longest start of `text` that fits in `max_bytes` UTF-8 bytes (no character split)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


async def capped_text(
    events: AsyncIterator[SendEvent], *, server: str, max_bytes: int
) -> AsyncIterator[SendEvent]:
    """Pass a send's events on while its text stays within `max_bytes`; the delta that crosses the
    cap is passed on up to the cap, then AnswerTooLongError is raised. A final text (`Done`) over
    the cap is refused the same way, the deltas before it kept."""
    used = 0
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                size = len(event.text.encode("utf-8"))
                if used + size > max_bytes:
                    kept = _utf8_prefix(event.text, max_bytes - used)
                    if kept:
                        yield event.model_copy(update={"text": kept})
                    raise answer_too_long(server, max_bytes)
                used += size
            elif isinstance(event, Done) and len((event.final_text or "").encode("utf-8")) > max_bytes:
                raise answer_too_long(server, max_bytes)
            yield event
    finally:
        # Close the provider's stream (its HTTP response with it) now, not whenever it is collected.
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
