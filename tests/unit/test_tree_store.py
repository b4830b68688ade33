"""Conversations as trees on disk (schema 2): a version-1 file reads as one branch and is left as it
is until its first change, which rewrites it whole as version 2; the tree and the branch plan read
from the messages; JSON and TOML exports and the store keep every branch losslessly; the search
index holds every branch, not only the one on screen.

SIGKILL during an answer on a branch is in tests/unit/test_store_kill.py."""

from __future__ import annotations

import json
import tempfile
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devic_tui.branches import ConversationTree, branch_plan, show
from devic_tui.config import ServerConfig
from devic_tui.providers.base import Capabilities, Provider, SendRequest
from devic_tui.providers.events import Done, SendEvent, TextDelta
from devic_tui.records import ROOT, SCHEMA_VERSION, Conversation, StoredMessage
from devic_tui.service import ChatService
from devic_tui.store import codecs
from devic_tui.store.codecs import EXPORT_KIND
from devic_tui.store.export import from_export, import_conversation
from devic_tui.store.transcripts import NewerSchemaError, TranscriptStore
from devic_tui.turn import Turn
from tests.unit.store_helpers import BASE, conversation, message

FORMATS = ["json", "toml"]


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ids(messages: list[StoredMessage]) -> list[str]:
    return [m.id for m in messages]


def file_version(path: Path) -> int | None:
    return codecs.peek_schema(path.read_bytes()[:256])


# --- version-1 files, written as version 1 wrote them ---------------------------------------------
# Version 1 (`git show 4f742ee:devic_tui/records.py`) had no `shown_id` on a conversation and no
# `parent_id` nor `remote_chat_id` on a message; its codecs were the ones of today (JSON: fields one a
# line, messages one a line; TOML: `None` left out), with `schema_version = 1`.


def _v1_header(conv: Conversation) -> dict[str, Any]:
    plain = codecs.header_plain(conv)
    del plain["shown_id"]
    return plain


def _v1_message(item: StoredMessage) -> dict[str, Any]:
    plain = codecs.message_plain(item)
    del plain["parent_id"], plain["remote_chat_id"]
    return plain


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def v1_snapshot(conv: Conversation, fmt: str) -> bytes:
    head = {"schema_version": 1, **_v1_header(conv)}
    messages = [_v1_message(m) for m in conv.messages]
    if fmt == "toml":
        return tomli_w.dumps(_without_none({**head, "messages": messages}), multiline_strings=True).encode()
    lines = ["{", *(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items())]
    body = ",\n    ".join(json.dumps(m, ensure_ascii=False) for m in messages)
    lines.append(f'  "messages": [\n    {body}\n  ]' if messages else '  "messages": []')
    lines.append("}\n")
    return "\n".join(lines).encode()


def v1_journal(conv: Conversation, messages: list[StoredMessage]) -> bytes:
    """A version-1 journal: its header line, then one record per message with the header fields."""
    records: list[dict[str, Any]] = [{"journal": "0123456789abcdef", "schema_version": 1}]
    records += [{"conversation": _v1_header(conv), "message": _v1_message(m)} for m in messages]
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


def write_v1(directory: Path, fmt: str, *, journal: bool, remote_id: str | None = "chat-1") -> Conversation:
    """A version-1 chat of four messages (six with `journal`: two more in a version-1 journal beside
    the snapshot); returns it as it must load."""
    directory.mkdir(parents=True)
    whole = conversation("old", 6 if journal else 4, title="Old chat 🦜", remote_id=remote_id)
    whole.messages[1].content = "An answer with שלום and a word: pelican"
    snapshot = whole.model_copy(update={"messages": whole.messages[:4]})
    if journal:
        snapshot.updated_at = BASE  # the journal's header records carry the later time
    (directory / f"old.{fmt}").write_bytes(v1_snapshot(snapshot, fmt))
    if journal:
        whole.messages[5].content = "the journal says: cormorant"
        (directory / "old.journal.jsonl").write_bytes(v1_journal(whole, whole.messages[4:]))
    return whole


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "with-journal"])
def test_a_version_1_file_reads_as_one_branch_and_reading_leaves_it_as_it_is(
    tmp_path: Path, fmt: str, journal: bool
) -> None:
    directory = tmp_path / "transcripts"
    expected = write_v1(directory, fmt, journal=journal)
    before = files_of(directory)
    assert file_version(directory / f"old.{fmt}") == 1

    store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    loaded = store.load("old")
    assert loaded == expected
    assert all(x.parent_id is None and x.remote_chat_id is None for x in loaded.messages)
    assert loaded.shown_id is None
    tree = ConversationTree(loaded)
    assert tree.shown_path() == loaded.messages
    assert tree.leaves() == [loaded.messages[-1].id]
    assert [tree.parent[m.id] for m in loaded.messages] == [ROOT, *ids(loaded.messages)[:-1]]
    [summary] = store.summaries()
    assert (summary.id, summary.message_count, summary.title) == (
        "old",
        len(expected.messages),
        "Old chat 🦜",
    )
    assert [hit.message_id for hit in store.search("pelican")] == ["m00001"]
    if journal:
        assert [hit.message_id for hit in store.search("cormorant")] == ["m00005"]

    second = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    assert second.read_only_reason
    assert second.load("old") == expected
    assert [s.id for s in second.summaries()] == ["old"]
    assert [hit.message_id for hit in second.search("pelican")] == ["m00001"]
    second.close()
    store.close()

    again = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    assert again.load("old") == expected
    assert again.rebuild_index() == 1
    again.close()
    assert files_of(directory) == before
    assert again.notices == []
    assert [n for n in store.notices if "search index was missing" not in n] == []  # built at first use


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "with-journal"])
def test_a_new_message_rewrites_a_version_1_file_as_version_2_with_every_message(
    tmp_path: Path, fmt: str, journal: bool
) -> None:
    directory = tmp_path / "transcripts"
    expected = write_v1(directory, fmt, journal=journal)
    store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    conv = store.load("old")
    new = message(
        len(conv.messages), "a new question", parent_id=conv.messages[-1].id, remote_chat_id="chat-1"
    )
    conv.messages.append(new)
    store.save_message(conv, new, final=True)

    snapshot = directory / f"old.{fmt}"
    assert file_version(snapshot) == SCHEMA_VERSION == 2
    assert not (directory / "old.journal.jsonl").exists()
    on_disk = codecs.decode_snapshot(snapshot.read_bytes(), fmt, "test").conversation  # type: ignore[arg-type]
    assert on_disk == conv
    assert ids(on_disk.messages) == [*ids(expected.messages), new.id]
    assert on_disk.messages[:-1] == expected.messages
    store.close()

    reopened = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    loaded = reopened.load("old")
    assert loaded == conv
    assert ConversationTree(loaded).shown_path() == loaded.messages
    assert reopened.summaries()[0].message_count == len(expected.messages) + 1
    assert reopened.notices == []
    reopened.close()


@pytest.mark.parametrize("change", ["rename", "set_shown"])
@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "with-journal"])
def test_a_header_change_rewrites_a_version_1_file_as_version_2(
    tmp_path: Path, fmt: str, journal: bool, change: str
) -> None:
    directory = tmp_path / "transcripts"
    expected = write_v1(directory, fmt, journal=journal)
    store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    if change == "rename":
        store.rename("old", "A new title")
        expected.title = "A new title"
    else:
        store.set_shown("old", "m00002")
        expected.shown_id = "m00002"

    snapshot = directory / f"old.{fmt}"
    assert file_version(snapshot) == 2
    assert not (directory / "old.journal.jsonl").exists()
    assert codecs.decode_snapshot(snapshot.read_bytes(), fmt, "test").conversation == expected  # type: ignore[arg-type]
    assert store.load("old") == expected
    assert store.summaries()[0].title == expected.title
    store.close()
    reopened = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    assert reopened.load("old") == expected
    reopened.close()


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "with-journal"])
def test_an_instance_without_the_lock_appends_and_leaves_the_rewrite_to_the_other(
    tmp_path: Path, fmt: str, journal: bool
) -> None:
    directory = tmp_path / "transcripts"
    expected = write_v1(directory, fmt, journal=journal)
    snapshot_bytes = (directory / f"old.{fmt}").read_bytes()
    first = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    first.summaries()
    second = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    assert second.read_only_reason
    conv = second.load("old")
    new = message(len(conv.messages), "from the second instance", parent_id=conv.messages[-1].id)
    conv.messages.append(new)
    second.save_message(conv, new, final=True)
    second.close()
    assert (directory / f"old.{fmt}").read_bytes() == snapshot_bytes
    assert first.load("old") == conv

    first.rename("old", "renamed")
    assert file_version(directory / f"old.{fmt}") == 2
    assert not (directory / "old.journal.jsonl").exists()
    loaded = first.load("old")
    assert ids(loaded.messages) == [*ids(expected.messages), new.id]
    assert loaded.title == "renamed"
    first.close()


@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "with-journal"])
def test_the_rewrite_keeps_what_another_instance_recorded_meanwhile(
    tmp_path: Path, fmt: str, journal: bool
) -> None:
    """The app (holding the lock) has a version-1 chat open; a second instance records a message in
    it; the app's next message, the first change it makes, rewrites the file: both messages stay, as
    they would with a version-2 file (where both are journal lines)."""
    directory = tmp_path / "transcripts"
    expected = write_v1(directory, fmt, journal=journal)
    app = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    open_in_app = app.load("old")
    other = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    assert other.read_only_reason
    elsewhere = other.load("old")
    theirs = message(50, "recorded by the other instance", parent_id=elsewhere.messages[-1].id)
    elsewhere.messages.append(theirs)
    other.save_message(elsewhere, theirs, final=True)
    other.close()

    mine = message(60, "recorded by the app", parent_id=open_in_app.messages[-1].id)
    open_in_app.messages.append(mine)
    open_in_app.title = "the app's title"
    app.save_message(open_in_app, mine, final=True)
    assert file_version(directory / f"old.{fmt}") == 2
    loaded = app.load("old")
    assert ids(loaded.messages) == [*ids(expected.messages), theirs.id, mine.id]
    assert loaded.title == "the app's title"
    tree = ConversationTree(loaded)
    assert tree.siblings(mine.id) == [theirs.id, mine.id]  # both follow the last version-1 message
    app.close()


def journal_only(directory: Path, version: int) -> Conversation:
    """A conversation held by a journal alone (as an instance without the lock records a new chat),
    its header line naming schema `version`."""
    directory.mkdir(parents=True)
    conv = conversation("alone", 2)
    text = v1_journal(conv, conv.messages).replace(
        b'"schema_version": 1', f'"schema_version": {version}'.encode()
    )
    (directory / "alone.journal.jsonl").write_bytes(text)
    return conv


def test_a_version_1_journal_without_a_snapshot_is_read_then_rewritten_as_version_2(
    tmp_path: Path, fmt: str
) -> None:
    directory = tmp_path / "transcripts"
    expected = journal_only(directory, 1)
    before = files_of(directory)
    store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    conv = store.load("alone")
    assert conv == expected
    assert store.summaries()[0].message_count == 2
    assert files_of(directory) == before
    new = message(2, "the first change", parent_id=conv.messages[-1].id)
    conv.messages.append(new)
    store.save_message(conv, new, final=True)
    assert sorted(files_of(directory)) == [f"alone.{fmt}"]
    assert file_version(directory / f"alone.{fmt}") == 2
    assert store.load("alone") == conv
    store.close()


def test_a_journal_from_a_newer_schema_is_refused_and_left_as_it_is(tmp_path: Path, fmt: str) -> None:
    directory = tmp_path / "transcripts"
    conv = journal_only(directory, SCHEMA_VERSION + 1)
    before = files_of(directory)
    store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    with pytest.raises(NewerSchemaError):
        store.load("alone")
    conv.messages.append(message(2))
    with pytest.raises(NewerSchemaError):
        store.save_message(conv, conv.messages[-1], final=True)
    with pytest.raises(NewerSchemaError):
        store.save(conv)
    store.close()
    assert files_of(directory) == before


class FakeProvider(Provider):
    """Answers every message with the same two pieces of text, in the chat asked for or a new one."""

    kind = "fake"
    capabilities = Capabilities(streams=True, server_history=True)

    def __init__(self, new_chat: str | None = None) -> None:
        super().__init__(ServerConfig(name="fake", kind="openai"), None)  # type: ignore[arg-type]
        self.new_chat = new_chat
        self.requests: list[SendRequest] = []

    async def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        self.requests.append(request)
        yield TextDelta(text="An answer ")
        yield TextDelta(text="on the branch.")
        yield Done(conversation_id=request.conversation_id or self.new_chat)


async def run(turn: Turn) -> None:
    async for _ in turn.events():
        pass
    assert turn.answer.status == "complete", turn.answer.error


@pytest.mark.parametrize("remote_id", ["chat-1", None], ids=["server-history", "no-server-history"])
@pytest.mark.parametrize("journal", [False, True], ids=["snapshot", "with-journal"])
async def test_a_version_1_chat_continued_by_a_turn_keeps_every_message(
    tmp_path: Path, fmt: str, journal: bool, remote_id: str | None
) -> None:
    directory = tmp_path / "transcripts"
    expected = write_v1(directory, fmt, journal=journal, remote_id=remote_id)
    store = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    conv = store.load("old")
    provider = FakeProvider(new_chat=None)
    turn = Turn(provider, store, conv, "and one more", [])
    await run(turn)

    [request] = provider.requests
    assert request.conversation_id == remote_id  # the one chat a version-1 conversation lives in
    if remote_id:
        assert not request.carry_history
    else:  # the history is sent: every exchange of the one branch
        assert [h.content for h in request.history] == [m.content for m in expected.messages]
    store.close()

    reopened = TranscriptStore(directory, fmt)  # type: ignore[arg-type]
    loaded = reopened.load("old")
    assert file_version(directory / f"old.{fmt}") == 2
    assert ids(loaded.messages) == [*ids(expected.messages), turn.user.id, turn.answer.id]
    for old, new in zip(expected.messages, loaded.messages, strict=False):
        assert (old.content, old.role, old.created_at) == (new.content, new.role, new.created_at)
        assert new.remote_chat_id == remote_id
    assert loaded.messages[-2].parent_id == expected.messages[-1].id
    assert loaded.messages[-1].parent_id == turn.user.id
    assert loaded.messages[-1].content == "An answer on the branch."
    assert loaded.shown_id == turn.answer.id
    assert ConversationTree(loaded).shown_path() == loaded.messages
    assert reopened.notices == []
    reopened.close()


# --- the tree and the branch plan ------------------------------------------------------------------


def chat(*parents: str | None, chats: list[str | None] | None = None, **fields: Any) -> Conversation:
    """A conversation whose message i (`m0000i`) names `parents[i]` (None: the one before it),
    user and assistant in turn, in the server chat `chats[i]`."""
    conv = conversation("tree", 0, **fields)
    for index, parent in enumerate(parents):
        role = "user" if index % 2 == 0 else "assistant"
        remote = chats[index] if chats else None
        conv.messages.append(message(index, role=role, parent_id=parent, remote_chat_id=remote))
    return conv


def m(index: int) -> str:
    return f"m{index:05d}"


def test_a_linear_chat_is_one_branch() -> None:
    conv = chat(None, None, None, None, None)
    tree = ConversationTree(conv)
    assert tree.shown_path() == conv.messages
    assert tree.leaves() == [m(4)]
    assert tree.branch_count() == 1
    assert tree.newest_leaf() == tree.newest_leaf(m(1)) == m(4)
    assert tree.siblings(m(0)) == [m(0)]
    assert tree.siblings(m(3)) == [m(3)]
    assert tree.sibling_position(m(2)) == (1, 1)
    assert tree.sibling(m(2), 1) == tree.sibling(m(2), -1) == m(2)
    assert tree.depth(m(4)) == 5
    assert show(conv, m(2)) == m(4)
    assert conv.shown_id == m(4)
    assert show(conv, "missing") is None
    assert conv.shown_id == m(4)
    assert ConversationTree(chat()).shown_path() == []
    assert ConversationTree(chat()).newest_leaf() is None


def mixed() -> Conversation:
    """m0 m1 (version-1 style), then m2 m3 (None), m4 an edit of m2 (parent m1) and m5 after it (None),
    then m6 back on the old branch (parent m3) and m7 after it (None).

    m0 ─ m1 ┬ m2 ─ m3 ─ m6 ─ m7
            └ m4 ─ m5
    """
    return chat(None, None, None, None, m(1), None, m(3), None)


def test_a_mixed_tree_reads_none_as_the_message_before() -> None:
    conv = mixed()
    tree = ConversationTree(conv)
    assert tree.parent == {
        m(0): ROOT, m(1): m(0), m(2): m(1), m(3): m(2), m(4): m(1), m(5): m(4), m(6): m(3), m(7): m(6),
    }  # fmt: skip
    assert tree.leaves() == [m(5), m(7)]
    assert tree.newest_leaf() == m(7)
    assert ids(tree.shown_path()) == [m(0), m(1), m(2), m(3), m(6), m(7)]
    assert tree.siblings(m(4)) == [m(2), m(4)]
    assert tree.sibling_position(m(2)) == (1, 2)
    assert tree.sibling_position(m(4)) == (2, 2)
    assert tree.sibling(m(2), 1) == m(4)
    assert tree.sibling(m(4), 1) == m(2)
    assert tree.sibling(m(2), -1) == m(4)
    assert tree.sibling(m(2), 2) == m(2)
    assert tree.newest_leaf(m(4)) == m(5)
    assert tree.newest_leaf(m(1)) == m(7)

    assert show(conv, m(4)) == m(5)
    assert ids(ConversationTree(conv).shown_path()) == [m(0), m(1), m(4), m(5)]
    conv.shown_id = m(2)  # a message inside a branch: the newest branch under it
    assert ids(ConversationTree(conv).shown_path()) == [m(0), m(1), m(2), m(3), m(6), m(7)]
    conv.shown_id = "gone"  # an id no longer held: the newest message's branch
    assert ConversationTree(conv).shown_leaf() == m(7)


def test_an_explicit_tree_with_two_first_messages() -> None:
    """Three first messages: m0 (then m1, then m2 m3 or m5), m4 (an edit of m0, then m6), and m7,
    whose parent is gone (a damaged file), which starts a branch of its own."""
    conv = chat(ROOT, m(0), m(1), m(2), ROOT, m(1), m(4), "gone")
    tree = ConversationTree(conv)
    assert tree.children[ROOT] == [m(0), m(4), m(7)]
    assert tree.siblings(m(0)) == [m(0), m(4), m(7)]
    assert tree.sibling(m(7), 1) == m(0)
    assert tree.sibling(m(0), -1) == m(7)
    assert tree.sibling_position(m(4)) == (2, 3)
    assert tree.siblings(m(5)) == [m(2), m(5)]
    assert tree.leaves() == [m(3), m(5), m(6), m(7)]
    assert tree.newest_leaf() == m(7)
    assert tree.newest_leaf(m(0)) == m(5)
    assert tree.newest_leaf(m(4)) == m(6)
    assert ids(tree.path_to(m(6))) == [m(4), m(6)]
    assert show(conv, m(0)) == m(5)
    assert ids(ConversationTree(conv).shown_path()) == [m(0), m(1), m(5)]
    assert show(conv, m(2)) == m(3)
    assert ids(ConversationTree(conv).shown_path()) == [m(0), m(1), m(2), m(3)]


def test_branch_plan_continues_a_linear_chat() -> None:
    conv = chat(ROOT, m(0), m(1), m(2), chats=["X"] * 4)
    plan = branch_plan(conv)
    assert (plan.after, plan.remote_chat_id, plan.new_chat, plan.carries_history) == (m(3), "X", False, False)
    assert plan.path == conv.messages


def test_branch_plan_for_an_edit_of_an_early_message_needs_a_new_chat() -> None:
    conv = chat(ROOT, m(0), m(1), m(2), chats=["X"] * 4)
    plan = branch_plan(conv, after=m(1))
    assert plan.new_chat
    assert plan.carries_history
    assert plan.remote_chat_id is None
    assert ids(plan.path) == [m(0), m(1)]
    first = branch_plan(conv, after=ROOT)  # an edit of the first message: a new chat, nothing to carry
    assert (first.after, first.path, first.new_chat, first.carries_history) == (ROOT, [], True, False)
    with pytest.raises(KeyError):
        branch_plan(conv, after="missing")


def two_chats() -> Conversation:
    """m0 m1 m2 m3 in chat X; m4 (an edit of m2) and m5 in chat Y, made for that branch."""
    return chat(ROOT, m(0), m(1), m(2), m(1), m(4), chats=["X", "X", "X", "X", "Y", "Y"])


def test_branch_plan_continues_the_chat_of_the_branch() -> None:
    conv = two_chats()
    on_new = branch_plan(conv)  # the newest branch is on screen: m5's, in Y alone
    assert (on_new.after, on_new.remote_chat_id, on_new.new_chat) == (m(5), "Y", False)
    assert ids(on_new.path) == [m(0), m(1), m(4), m(5)]
    show(conv, m(3))
    back = branch_plan(conv)  # back on the old branch: X holds nothing but its path
    assert (back.after, back.remote_chat_id, back.new_chat, back.carries_history) == (m(3), "X", False, False)
    assert ids(back.path) == [m(0), m(1), m(2), m(3)]
    shared = branch_plan(conv, after=m(1))  # X holds m2 and m3 too: a third branch needs its own chat
    assert shared.new_chat
    assert shared.carries_history


def test_branch_plan_of_a_legacy_conversation_uses_its_remote_id() -> None:
    conv = chat(None, None, None, None, remote_id="L")
    plan = branch_plan(conv)
    assert (plan.after, plan.remote_chat_id, plan.new_chat) == (m(3), "L", False)
    early = branch_plan(conv, after=m(1))  # L holds m2 and m3, not on the path
    assert early.new_chat
    assert early.carries_history
    assert early.remote_chat_id is None
    assert branch_plan(chat(None, None)).new_chat  # no remote_id: every message starts a "new" chat
    empty = branch_plan(chat(remote_id="L"))
    assert (empty.after, empty.remote_chat_id, empty.new_chat) == (ROOT, "L", False)


# --- exports and the store keep the whole tree -----------------------------------------------------

texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    st.lists(
        st.sampled_from(
            ["🦜", "👩🏽‍💻", "🇺🇳", "שלום", "مرحبا", "\u200f", "\u202e", "é", "e\u0301", "\n", " ", '"', "\\"]
        ),
        max_size=12,
    ).map("".join),
)
message_ids = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=10)
chat_ids = st.none() | st.sampled_from(["X", "Y", "chat-ü", ""])


@st.composite
def trees(draw: st.DrawFn) -> Conversation:
    shape = draw(st.sampled_from(["random", "chain", "fan", "empty"]))
    size = {"random": (1, 25), "chain": (40, 55), "fan": (15, 22), "empty": (0, 0)}[shape]
    names = draw(st.lists(message_ids, min_size=size[0], max_size=size[1], unique=True))
    fan_root = draw(st.booleans())
    messages: list[StoredMessage] = []
    for index, name in enumerate(names):
        parent: str | None
        if shape == "chain":
            parent = draw(st.sampled_from([None, names[index - 1] if index else ROOT]))
        elif shape == "fan":
            parent = ROOT if fan_root or index == 0 else names[0]
        else:
            parent = draw(
                st.none() | st.just(ROOT) | (st.sampled_from(names[:index]) if index else st.just(ROOT))
            )
        messages.append(
            StoredMessage(
                id=name,
                role=draw(st.sampled_from(["user", "assistant"])),
                content=draw(texts),
                created_at=BASE + timedelta(seconds=index),
                parent_id=parent,
                remote_chat_id=draw(chat_ids),
            )
        )
    shown = draw(st.none() | st.just("gone") | (st.sampled_from(names) if names else st.none()))
    return Conversation(
        id="tree",
        title=draw(texts),
        server="local",
        assistant_id="helper",
        remote_id=draw(chat_ids),
        created_at=BASE,
        updated_at=BASE + timedelta(days=1),
        shown_id=shown,
        messages=messages,
    )


def tree_of(conv: Conversation) -> tuple[Any, ...]:
    tree = ConversationTree(conv)
    return (
        [(x.id, x.parent_id, x.content, x.role, x.remote_chat_id) for x in conv.messages],
        conv.shown_id,
        ids(tree.shown_path()),
        tree.parent,
        tree.children,
    )


def import_export(text: str, fmt: str) -> Conversation:
    """An export read back as `devic-tui import` reads it (JSON or TOML, told apart by the text)."""
    if fmt == "toml":
        assert tomllib.loads(text)["kind"] == EXPORT_KIND
    return from_export(text)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(original=trees())
def test_every_branch_survives_export_import_and_the_store(original: Conversation) -> None:
    expected = tree_of(original)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            back = import_export(ChatService.export_text(original, fmt), fmt)  # type: ignore[arg-type]
            assert tree_of(back) == expected
            assert back == original

            store = TranscriptStore(Path(tmp) / fmt, fmt)  # type: ignore[arg-type]
            if fmt == "json":
                imported = import_conversation(store, back, new_id=False)
                assert imported == original
            else:
                store.save(original)
            assert store.load("tree") == original
            store.close()
            reopened = TranscriptStore(Path(tmp) / fmt, fmt)  # type: ignore[arg-type]
            assert tree_of(reopened.load("tree")) == expected
            assert reopened.notices == []
            reopened.close()


def test_a_tree_recorded_message_by_message_loads_the_same(tmp_path: Path, fmt: str) -> None:
    original = mixed()
    original.messages[5].remote_chat_id = "Y"
    original.shown_id = m(4)
    store = TranscriptStore(tmp_path / "t", fmt)  # type: ignore[arg-type]
    growing = original.model_copy(update={"messages": []})
    for item in original.messages:
        growing.messages.append(item)
        store.save_message(growing, item, final=True)
    assert store.load("tree") == original
    store.close()  # folds the journal
    reopened = TranscriptStore(tmp_path / "t", fmt)  # type: ignore[arg-type]
    assert tree_of(reopened.load("tree")) == tree_of(original)
    reopened.close()


# --- the search index holds every branch -----------------------------------------------------------


def test_search_finds_words_on_branches_not_on_screen(tmp_path: Path, fmt: str) -> None:
    conv = mixed()
    conv.messages[4].content = "an edit that mentions a zebracorn"  # m4: a branch not on screen
    conv.messages[3].content = "the old branch speaks of a narwhal"  # m3: on screen
    assert m(4) not in ids(ConversationTree(conv).shown_path())
    store = TranscriptStore(tmp_path / "t", fmt)  # type: ignore[arg-type]
    store.save(conv)
    [hit] = store.search("zebracorn")
    assert (hit.conversation_id, hit.message_id) == ("tree", m(4))

    # a third branch recorded through the journal (an edit of the first message)
    third = message(8, "a first message rewritten with a quokkaberry", parent_id=ROOT)
    conv.messages.append(third)
    store.save_message(conv, third, final=True)
    assert [h.message_id for h in store.search("quokkaberry")] == [m(8)]
    store.set_shown("tree", m(5))
    assert [h.message_id for h in store.search("narwhal")] == [m(3)]
    store.close()

    store.index_path.unlink()  # the index rebuilt from the files holds every branch too
    reopened = TranscriptStore(tmp_path / "t", fmt)  # type: ignore[arg-type]
    found = {
        word: [h.message_id for h in reopened.search(word)]
        for word in ("zebracorn", "quokkaberry", "narwhal")
    }
    assert found == {"zebracorn": [m(4)], "quokkaberry": [m(8)], "narwhal": [m(3)]}
    assert reopened.summaries()[0].message_count == 9
    reopened.close()


def test_the_index_knows_the_server_chat_of_every_branch(tmp_path: Path) -> None:
    """A server chat used by any branch leads to its conversation (the sidebar lists it once and
    opening it from the server's list opens the local copy)."""
    store = TranscriptStore(tmp_path / "transcripts")
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    conversation = Conversation(
        id="branched", server="s", assistant_id="a", remote_id="chat-new", created_at=stamp, updated_at=stamp
    )
    conversation.messages = [
        StoredMessage(
            id="u1", role="user", content="q", created_at=stamp, parent_id=ROOT, remote_chat_id="chat-old"
        ),
        StoredMessage(
            id="a1",
            role="assistant",
            content="x",
            created_at=stamp,
            parent_id="u1",
            remote_chat_id="chat-old",
        ),
        StoredMessage(
            id="u2", role="user", content="q2", created_at=stamp, parent_id=ROOT, remote_chat_id="chat-new"
        ),
    ]
    store.save(conversation)
    assert store.branch_chats("s") == {"chat-old", "chat-new"}
    assert store.branch_chats("other") == set()
    found = store.by_remote_id("s", "chat-old")
    assert found is not None
    assert found.id == "branched"
    store.close()
