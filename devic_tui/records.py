"""What a transcript holds: a conversation and its messages as stored on disk, and the one-line summary
the sidebar and `chats` list, and a search hit. Pydantic models, so a file read from disk is validated
at the boundary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from devic_tui.models import Attachment, ChatSettings, MessageStatus, Role, Usage

SCHEMA_VERSION = 2
"""Bumped when the layout changes; a file from a newer schema is refused, not clobbered. Version 2
made a conversation a tree (`StoredMessage.parent_id`, `Conversation.shown_id`); a version-1 file is
read as one branch, as it is, and written as version 2 at its next change."""

COPY_OF = "copy_of"
"""The `StoredMessage.metadata` key of a message copied into another conversation (a fork, a
duplicate): the id of the message it copies. Its usage was spent once, by the original."""

USAGE_UNREPORTED = "usage_unreported"
"""The `StoredMessage.metadata` key of an answer whose server reports no usage (the Devs 2024
server's text/plain answers): set to true, so "usage not reported" is said rather than nothing."""

EMPTY_SERVER_CHAT = "empty_server_chat"
"""The `Conversation.metadata` key naming a server chat made for this conversation that holds none
of its messages (a duplicate the server made empty): the next message that needs a chat of its own
goes there, carrying the branch's earlier exchange. Ignored once a message names that chat."""

ROOT = ""
"""The `parent_id` of a message that starts the conversation (a first message, or an edit of it)."""


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
    parent_id: str | None = None
    """The message this one answers or follows: `ROOT` for a first message; None (every message of a
    version-1 file, and of a chat that never branched) means the message before it in the list."""
    remote_chat_id: str | None = None
    """The server's conversation this message belongs to, where a branch has its own (Devic chatUid,
    Devs chatId, agent conversationId); None means the conversation's `remote_id`."""

    @property
    def model(self) -> str | None:
        """The model that answered, as the server named it in `metadata` (None when it did not)."""
        model = self.metadata.get("model")
        return model if isinstance(model, str) and model else None

    @property
    def is_copy(self) -> bool:
        """Copied from another conversation (`COPY_OF`): its usage was spent by the original."""
        return COPY_OF in self.metadata


class Conversation(BaseModel):
    """A local conversation: where it lives on the server, and every message in order."""

    id: str
    title: str = ""
    server: str
    assistant_id: str
    assistant_name: str = ""
    remote_id: str | None = None
    """The server's conversation id: Devic chatUid, agent conversationId, Devs chatId; None for
    APIs that keep no history (OpenAI-compatible: the history is sent each time). With branches,
    the one of the branch used last; each message records its own (`remote_chat_id`)."""
    created_at: datetime
    updated_at: datetime
    tags: list[str] = Field(default_factory=list)
    archived: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    settings: ChatSettings | None = None
    """How this chat asks its assistant to answer (system prompt, parameters, Devic metadata): taken
    from the config when the chat first sends, then kept, so it sends the same after a restart;
    None for a chat that has not sent since they were introduced."""
    shown_id: str | None = None
    """The last message of the branch on screen; None (or an id no longer held) means the newest
    message's branch."""
    messages: list[StoredMessage] = Field(default_factory=list)
    """Every message of every branch, in the order they were written."""

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
