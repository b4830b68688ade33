"""Conversations with fixed content and times for the UI tests and snapshots, saved through the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devic_tui.emulator.scripts import MARKDOWN_TOUR
from devic_tui.models import Usage
from devic_tui.records import Conversation, StoredMessage
from devic_tui.store.transcripts import TranscriptStore

BASE_TIME = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def tour_conversation(conversation_id: str = "tour0001") -> Conversation:
    conversation = Conversation(
        id=conversation_id,
        title="A tour of Markdown",
        server="demo-agent",
        assistant_id="markdown",
        assistant_name="markdown",
        remote_id="conv_9999",
        created_at=BASE_TIME,
        updated_at=BASE_TIME + timedelta(minutes=1),
    )
    conversation.messages = [
        StoredMessage(id="m1", role="user", content="Show me some Markdown", created_at=BASE_TIME),
        StoredMessage(
            id="m2",
            role="assistant",
            content=MARKDOWN_TOUR,
            created_at=BASE_TIME + timedelta(seconds=2),
            usage=Usage(input_tokens=12, output_tokens=240),
        ),
        # An earlier try at the second question, kept as a branch beside the one on screen.
        StoredMessage(id="m3a", role="user", content="And now a table", parent_id="m2", created_at=BASE_TIME),
        StoredMessage(
            id="m4a",
            role="assistant",
            content="| a | b |\n|---|---|\n| 1 | 2 |",
            parent_id="m3a",
            created_at=BASE_TIME + timedelta(seconds=3),
        ),
        StoredMessage(
            id="m3", role="user", content="And now cut it short", parent_id="m2", created_at=BASE_TIME
        ),
        StoredMessage(
            id="m4",
            role="assistant",
            content="Here is the start of an answer that",
            status="interrupted",
            error="the connection to server 'demo-agent' broke off (RemoteProtocolError)",
            parent_id="m3",
            created_at=BASE_TIME + timedelta(seconds=5),
        ),
    ]
    return conversation


def long_conversation(count: int, conversation_id: str = "long0001") -> Conversation:
    conversation = Conversation(
        id=conversation_id,
        title=f"{count} messages",
        server="demo-agent",
        assistant_id="echo",
        assistant_name="echo",
        created_at=BASE_TIME,
        updated_at=BASE_TIME,
    )
    for index in range(count):
        role = "user" if index % 2 == 0 else "assistant"
        conversation.messages.append(
            StoredMessage(
                id=f"msg{index:05d}",
                role=role,
                content=f"Message number {index}: " + "words " * 20,
                created_at=BASE_TIME + timedelta(seconds=index),
            )
        )
    return conversation


def save_all(store: TranscriptStore, *conversations: Conversation) -> None:
    for conversation in conversations:
        store.save(conversation)
