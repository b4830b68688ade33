"""Typed data shared by the provider layer, the store and the UI: assistants, chats, messages,
attachments and usage figures. Pydantic models, so every boundary validates what crosses it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant", "system", "tool"]
MessageStatus = Literal["complete", "streaming", "stopped", "interrupted", "failed"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class AssistantInfo(Frozen):
    """Something a person can chat with: a Devic assistant, a Devs AI, an agent slug, a model."""

    id: str
    name: str
    description: str = ""
    introduction: str = ""
    """The greeting the assistant opens a new chat with, where the API has one (a Devs AI's)."""
    extra: dict[str, Any] = Field(default_factory=dict)


class RemoteChat(Frozen):
    """A conversation as the server lists it."""

    id: str
    title: str = ""
    assistant_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    message_count: int | None = None
    """How many messages the chat holds, where the answer says (a duplicate the server made empty: 0)."""


class RemoteMessage(Frozen):
    """One message of a conversation kept on the server."""

    role: Role
    content: str
    id: str | None = None
    created_at: datetime | None = None
    files: list[RemoteFile] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


class RemoteChatDetail(Frozen):
    """A stored conversation read back from the server."""

    chat: RemoteChat
    messages: list[RemoteMessage] = Field(default_factory=list)


class RemoteFile(Frozen):
    """A file the server holds, as returned by an upload or a listing."""

    id: str | None = None
    name: str
    url: str | None = None
    size: int | None = None
    mime_type: str | None = None
    file_type: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class Usage(Frozen):
    """Token figures as the server reports them (any may be unknown)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    """Input tokens the server read from its prompt cache (counted in `input_tokens` too)."""

    @property
    def total(self) -> int | None:
        if self.total_tokens is not None:
            return self.total_tokens
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


class Attachment(Frozen):
    """A file attached to a message: what was sent and, once uploaded, where it lives."""

    name: str
    size: int
    sha256: str
    mime_type: str
    path: str | None = None
    remote: RemoteFile | None = None
    inlined: bool = False


class ChatSettings(Frozen):
    """How a chat asks its assistant to answer: resolved from the config (the assistant's values over
    the server's) when the chat starts, then kept in its transcript so it sends the same later.
    None means "not set": nothing is sent and the server's own default applies."""

    system_prompt: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    context_window: int | None = Field(default=None, gt=0)
    metadata: dict[str, Any] = Field(default_factory=dict)


class HistoryMessage(Frozen):
    """A prior turn, for APIs that need the whole history with each send (OpenAI-compatible)."""

    role: Role
    content: str


RemoteMessage.model_rebuild()
