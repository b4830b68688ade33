"""The one typed event stream every send yields, whatever the API.

A send yields `TextDelta`s (and, for message-by-message APIs, `MessageBoundary` between messages),
optional `Progress`, `UsageReport`, `ToolCallRequest` and `Notice`, and ends with exactly one `Done` or
`StreamError`. A `StreamError` carries a ProviderError; the text received before it stays valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devic_tui.models import Usage
from devic_tui.providers.errors import ProviderError


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class TextDelta(Event):
    """More text of the answer."""

    kind: Literal["text"] = "text"
    text: str
    message_id: str | None = None


class MessageBoundary(Event):
    """A new assistant message begins (Devic's polling delivers whole messages one after another)."""

    kind: Literal["boundary"] = "boundary"
    message_id: str | None = None


class Progress(Event):
    """The server's own state while no text arrives: queued, processing, waiting for a tool."""

    kind: Literal["progress"] = "progress"
    status: str
    conversation_id: str | None = None


class UsageReport(Event):
    kind: Literal["usage"] = "usage"
    usage: Usage


class ToolField(Event):
    """One input the assistant asks the person for."""

    name: str
    label: str = ""
    type: Literal["string", "number", "boolean", "choice"] = "string"
    required: bool = False
    choices: list[str] = Field(default_factory=list)


class ToolCall(Event):
    id: str
    name: str
    description: str = ""
    arguments: str = ""
    fields: list[ToolField] = Field(default_factory=list)


class ToolCallRequest(Event):
    """The assistant needs answers before it goes on; the stream ends after this event."""

    kind: Literal["tool_call"] = "tool_call"
    conversation_id: str | None = None
    system_message_id: str | None = None
    calls: list[ToolCall]


class Notice(Event):
    """Something worth telling the person that is not part of the answer (rate limit running low)."""

    kind: Literal["notice"] = "notice"
    text: str


class Done(Event):
    """The answer is complete."""

    kind: Literal["done"] = "done"
    conversation_id: str | None = None
    message_ids: list[str] = Field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    final_text: str | None = None
    """When the server sends the whole answer at the end, it wins over the deltas."""
    metadata: dict[str, Any] = Field(default_factory=dict)


class StreamError(Event):
    """The send failed; text received before it is kept by the caller, marked by `error`'s class."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kind: Literal["error"] = "error"
    error: ProviderError
    conversation_id: str | None = None


SendEvent = (
    TextDelta | MessageBoundary | Progress | UsageReport | ToolCallRequest | Notice | Done | StreamError
)
