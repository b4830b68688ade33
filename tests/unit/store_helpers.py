"""Builders and hypothesis strategies shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from devic_tui.models import Attachment, RemoteFile, Usage
from devic_tui.records import Conversation, StoredMessage

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def message(index: int, content: str | None = None, *, role: str = "user", **fields: Any) -> StoredMessage:
    return StoredMessage(
        id=f"m{index:05d}",
        role=role,  # type: ignore[arg-type]
        content=content if content is not None else f"message number {index}",
        created_at=BASE + timedelta(seconds=index),
        **fields,
    )


def conversation(cid: str = "c1", count: int = 0, **fields: Any) -> Conversation:
    fields.setdefault("server", "local")
    fields.setdefault("assistant_id", "helper")
    fields.setdefault("title", f"Conversation {cid}")
    return Conversation(
        id=cid,
        created_at=BASE,
        updated_at=BASE + timedelta(seconds=count),
        messages=[message(i, role="user" if i % 2 == 0 else "assistant") for i in range(count)],
        **fields,
    )


# --- hypothesis ----------------------------------------------------------------------------------

texts = st.text(max_size=60)
moments = st.one_of(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
free_form = st.dictionaries(texts, json_values, max_size=4)
optional_text = st.none() | texts
remote_files = st.builds(
    RemoteFile,
    id=optional_text,
    name=texts,
    url=optional_text,
    size=st.none() | st.integers(min_value=0, max_value=2**40),
    mime_type=optional_text,
    file_type=optional_text,
    extra=free_form,
)
attachments = st.builds(
    Attachment,
    name=texts,
    size=st.integers(min_value=0, max_value=2**40),
    sha256=texts,
    mime_type=texts,
    path=optional_text,
    remote=st.none() | remote_files,
    inlined=st.booleans(),
)
usages = st.none() | st.builds(
    Usage,
    input_tokens=st.none() | st.integers(0, 10**9),
    output_tokens=st.none() | st.integers(0, 10**9),
    total_tokens=st.none() | st.integers(0, 10**9),
)
contents = st.one_of(
    st.text(),
    st.lists(st.sampled_from(["\x00", "\r", "\n", "\\", '"', "'''", '"""', "🦜", "é", "\u2028", " "])).map(
        "".join
    ),
    st.just(""),
)
messages = st.builds(
    StoredMessage,
    id=st.text(min_size=1, max_size=20),
    role=st.sampled_from(["user", "assistant", "system", "tool"]),
    content=contents,
    status=st.sampled_from(["complete", "streaming", "stopped", "interrupted", "failed"]),
    created_at=moments,
    first_byte_at=st.none() | moments,
    done_at=st.none() | moments,
    error=optional_text,
    attachments=st.lists(attachments, max_size=2),
    usage=usages,
    remote_ids=st.lists(texts, max_size=2),
    metadata=free_form,
)
conversations = st.builds(
    Conversation,
    id=st.from_regex(r"\A[A-Za-z0-9_-]{1,24}\Z"),
    title=texts,
    server=texts,
    assistant_id=texts,
    assistant_name=texts,
    remote_id=optional_text,
    created_at=moments,
    updated_at=moments,
    tags=st.lists(texts, max_size=3),
    archived=st.booleans(),
    metadata=free_form,
    messages=st.lists(messages, max_size=5, unique_by=lambda m: m.id),
)
