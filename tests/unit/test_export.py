"""Export to Markdown, JSON and TOML; import a JSON export back, losslessly; import a server chat."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from devic_tui.models import (
    AssistantInfo,
    Attachment,
    RemoteChat,
    RemoteChatDetail,
    RemoteFile,
    RemoteMessage,
    Usage,
)
from devic_tui.records import SCHEMA_VERSION, Conversation
from devic_tui.store.export import from_json, from_remote, import_conversation, to_json, to_markdown, to_toml
from devic_tui.store.transcripts import TranscriptError, TranscriptStore
from tests.unit.store_helpers import conversation, conversations, message


def rich() -> Conversation:
    conv = conversation("c1", 1, title="Trip", assistant_name="Planner", remote_id="chat-9", tags=["travel"])
    attachment = Attachment(
        name="map.pdf",
        size=2048,
        sha256="ab" * 32,
        mime_type="application/pdf",
        remote=RemoteFile(id="f-1", name="map.pdf"),
    )
    conv.messages.append(message(1, "Here is the map", attachments=[attachment]))
    conv.messages.append(
        message(
            2,
            "Partial answer",
            role="assistant",
            status="failed",
            error="The server went away.",
            usage=Usage(total_tokens=12),
        )
    )
    return conv


def test_markdown_has_a_header_and_every_message() -> None:
    text = to_markdown(rich())
    assert text.startswith("# Trip\n")
    expected = (
        "Server: local", "Assistant: Planner (`helper`)", "Created: 2025-03-01 12:00:00", "Tags: travel",
        "chat-9", "## User", "## Assistant", "failed", "The server went away.", "`map.pdf`",
        "application/pdf", "2.0 KB", "file id f-1", "Here is the map", "12 tokens",
    )  # fmt: skip
    for part in expected:
        assert part in text


def test_json_and_toml_exports_are_marked() -> None:
    data = json.loads(to_json(rich()))
    assert data["kind"] == "devic-tui-conversation"
    assert data["schema_version"] == SCHEMA_VERSION
    toml = tomllib.loads(to_toml(rich()))
    assert toml["kind"] == "devic-tui-conversation"
    assert toml["messages"][2]["error"] == "The server went away."


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(original=conversations)
def test_json_export_round_trip(original: Conversation) -> None:
    assert from_json(to_json(original)) == original


def test_wrong_files_are_refused_clearly() -> None:
    with pytest.raises(TranscriptError, match="not valid JSON"):
        from_json("nope")
    with pytest.raises(TranscriptError, match="marker"):
        from_json('{"id": "x"}')
    newer = json.loads(to_json(rich()))
    newer["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(TranscriptError, match="newer"):
        from_json(json.dumps(newer))
    broken = json.loads(to_json(rich()))
    del broken["server"]
    with pytest.raises(TranscriptError, match="server"):
        from_json(json.dumps(broken))


def test_import_round_trip(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "t")
    original = rich()
    imported = import_conversation(store, from_json(to_json(original)), new_id=False)
    assert store.load("c1") == original == imported
    with pytest.raises(TranscriptError, match="already"):
        import_conversation(store, original, new_id=False)
    copy = import_conversation(store, original, new_id=True)
    assert copy.id != "c1"
    assert store.load(copy.id).model_copy(update={"id": "c1"}) == original
    assert len(store.summaries()) == 2
    assert len(store.search("map")) == 2
    store.close()


def test_from_remote() -> None:
    stamp = datetime(2025, 1, 2, tzinfo=UTC)
    detail = RemoteChatDetail(
        chat=RemoteChat(id="chat-1", title="Remote", assistant_id="a1", created_at=stamp),
        messages=[
            RemoteMessage(role="user", content="hi", id="r1", created_at=stamp),
            RemoteMessage(
                role="assistant", content="hello", files=[RemoteFile(id="f", name="x.txt", size=3)]
            ),
        ],
    )
    conv = from_remote(detail, server="devic", assistant=AssistantInfo(id="a1", name="Helper"))
    assert (conv.remote_id, conv.title, conv.server, conv.assistant_name) == (
        "chat-1",
        "Remote",
        "devic",
        "Helper",
    )
    assert [m.content for m in conv.messages] == ["hi", "hello"]
    assert conv.messages[0].remote_ids == ["r1"]
    assert conv.messages[1].attachments[0].remote is not None
