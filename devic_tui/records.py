"""What a transcript holds: a conversation and its messages as stored on disk, and the one-line summary
the sidebar and `chats` list, and a search hit. Pydantic models, so a file read from disk is validated
at the boundary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from devic_tui.models import Attachment, MessageStatus, Role, Usage

SCHEMA_VERSION = 1
"""Bumped when the layout changes incompatibly; a file from a newer schema is refused, not clobbered."""


class StoredMessage(BaseModel):
    """One message as it happened: what was said, when, how it ended, and the server's own ids."""

    model_config = ConfigDict(validate_assignment=False)

    id: str
    role: Role
    content: str = ""
    status: MessageStatus = "complete"
    created_at: datetime
    """When the message was written (user) or asked for (assistant)."""
    first_byte_at: datetime | None = None
    """When the first text of an answer arrived."""
    done_at: datetime | None = None
    """When an answer finished, stopped or failed."""
    error: str | None = None
    """Why an answer is not complete, in words a person understands."""
    attachments: list[Attachment] = Field(default_factory=list)
    usage: Usage | None = None
    remote_ids: list[str] = Field(default_factory=list)
    """The server's ids for this message (Devic message uids, Devs message ids)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """What else the server said about it (model, unknown fields)."""


class Conversation(BaseModel):
    """A local conversation: where it lives on the server, and every message in order."""

    id: str
    title: str = ""
    server: str
    assistant_id: str
    assistant_name: str = ""
    remote_id: str | None = None
    """The server's conversation id: Devic chatUid, agent conversationId, Devs chatId; None for
    APIs that keep no history (OpenAI-compatible: the history is sent each time)."""
    created_at: datetime
    updated_at: datetime
    tags: list[str] = Field(default_factory=list)
    archived: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    messages: list[StoredMessage] = Field(default_factory=list)

    def summary(self) -> ConversationSummary:
        return ConversationSummary(
            id=self.id,
            title=self.title,
            server=self.server,
            assistant_id=self.assistant_id,
            assistant_name=self.assistant_name,
            remote_id=self.remote_id,
            created_at=self.created_at,
            updated_at=self.updated_at,
            message_count=len(self.messages),
            tags=list(self.tags),
            archived=self.archived,
        )


class ConversationSummary(BaseModel):
    """What a list of conversations shows of one, without its messages."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str = ""
    server: str
    assistant_id: str
    assistant_name: str = ""
    remote_id: str | None = None
    created_at: datetime
    updated_at: datetime
    message_count: int = 0
    tags: list[str] = Field(default_factory=list)
    archived: bool = False


def now() -> datetime:
    """The time records are stamped with (UTC)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new id for a conversation or a message."""
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class SearchHit:
    """One message that matches a search, with a snippet and where its matches are in the snippet."""

    conversation_id: str
    message_id: str
    title: str
    server: str
    assistant_id: str
    role: str
    created_at: datetime
    snippet: str
    highlights: list[tuple[int, int]] = field(default_factory=list)
    """(start, end) character spans within `snippet`."""
    tags: list[str] = field(default_factory=list)
    """The conversation's tags."""
    archived: bool = False
    """Whether the conversation is archived (search reaches archived chats too)."""
