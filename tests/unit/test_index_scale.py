"""The index at scale (issue "History scale"): a search's filters are tokens of the full-text index
(exact, case-folded for tags, kept current as chats are renamed, retagged or moved), the snippet
still comes from the text; dates bound the rowid through `days`; a tag lists its chats from the
`tags` table; the archived section is one query; an index of an older version is rebuilt; a rebuilt
index numbers messages in the order their files were written; the check at open compares the same
stamps as before."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from devic_tui.config import ServerConfig, Settings
from devic_tui.models import AssistantInfo, RemoteChat
from devic_tui.providers.base import Capabilities, Provider, SendRequest
from devic_tui.providers.events import SendEvent
from devic_tui.records import Conversation
from devic_tui.service import ChatService
from devic_tui.store.index import INDEX_VERSION, SNIPPET_TOKENS, filter_token
from devic_tui.store.transcripts import TranscriptStore
from tests.unit.store_helpers import BASE, conversation, message

V3_SCHEMA = """
CREATE TABLE conversations(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, server TEXT NOT NULL, assistant_id TEXT NOT NULL,
    assistant_name TEXT NOT NULL, remote_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    updated_ts REAL NOT NULL, message_count INTEGER NOT NULL, tags TEXT NOT NULL, archived INTEGER NOT NULL,
    snap_mtime INTEGER, snap_size INTEGER, journal_mtime INTEGER, journal_size INTEGER);
CREATE INDEX conversations_updated ON conversations(updated_ts);
CREATE TABLE messages(
    rowid INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, id TEXT NOT NULL, role TEXT NOT NULL,
    created_at TEXT NOT NULL, created_ts REAL NOT NULL, remote_chat_id TEXT, UNIQUE(conversation_id, id));
CREATE VIRTUAL TABLE fts USING fts5(
    content, title, tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3');
PRAGMA user_version = 3;
"""


def chat(cid: str, when: int, text: str, **fields: object) -> Conversation:
    """A conversation of one message `text`, written `when` hours after BASE."""
    conv = conversation(cid, 0, **fields)
    conv.created_at = conv.updated_at = BASE + timedelta(hours=when)
    first = message(0, text)
    first.created_at = conv.created_at
    conv.messages.append(first)
    return conv


@pytest.fixture
def store(tmp_path: Path) -> TranscriptStore:
    store = TranscriptStore(tmp_path / "transcripts")
    yield store  # type: ignore[misc]
    store.close()


def ids(found: list[object]) -> list[str]:
    return [getattr(item, "conversation_id", None) or getattr(item, "id") for item in found]  # noqa: B009


def test_filter_tokens_stand_for_their_value_alone() -> None:
    values = ["a", "A", "a b", "a-b", "ab", "séver", "", "0", "000", "日本", "x" * 300]
    tokens = [filter_token(value) for value in values]
    assert len(set(tokens)) == len(values)
    for token in tokens:
        assert token.isdigit()
        assert token.startswith("000")


def test_filters_match_their_value_exactly(store: TranscriptStore) -> None:
    for n, server in enumerate(["a b", "a-b", "ab", "séver", "a"]):
        store.save(chat(f"c{n}", n, "the same words everywhere", server=server, assistant_id=server))
    for server in ["a b", "a-b", "ab", "séver", "a"]:
        assert {h.server for h in store.search("words", server=server)} == {server}
        assert {h.assistant_id for h in store.search("words", assistant_id=server)} == {server}
    assert store.search("words", server="b") == []
    assert store.search("words", server="nowhere") == []
    assert store.search("words", assistant_id="A") == []  # ids are exact, not case-folded


def test_the_words_never_match_the_filter_columns(store: TranscriptStore) -> None:
    store.save(chat("c1", 0, "nothing in common", server="devs", tags=["work"]))
    assert store.search(filter_token("devs")) == []
    assert store.search(filter_token("work")[:5] + "*") == []


def test_tags_filter_whatever_their_case_and_follow_changes(store: TranscriptStore) -> None:
    store.save(chat("c1", 0, "alpha words", tags=["Work", "ideas"]))
    store.save(chat("c2", 1, "alpha words", tags=["home"]))
    assert ids(store.search("alpha", tag="work")) == ["c1"]
    assert ids(store.search("alpha", tag="WORK")) == ["c1"]
    assert ids(store.summaries(tag="wOrK")) == ["c1"]
    store.set_tags("c1", ["other"])
    store.set_tags("c2", ["Work"])
    assert ids(store.search("alpha", tag="work")) == ["c2"]
    assert ids(store.summaries(tag="work")) == ["c2"]
    assert ids(store.search("alpha", tag="other")) == ["c1"]
    store.set_tags("c2", [])
    assert store.search("alpha", tag="work") == []
    assert store.summaries(tag="work") == []
    store.delete("c1")
    assert store.summaries(tag="other") == []
    store.close()
    again = TranscriptStore(store.directory)  # the files say the same
    assert again.rebuild_index() == 1
    assert ids(again.summaries(tag="work")) == []
    again.close()


def test_a_renamed_chat_keeps_its_filters(store: TranscriptStore) -> None:
    store.save(chat("c1", 0, "alpha words", server="devs", tags=["work"]))
    store.rename("c1", "Quokka plans")
    assert ids(store.search("quokka", server="devs", tag="work")) == ["c1"]
    conv = store.load("c1")
    later = message(1, "a later beta line")
    conv.messages.append(later)
    store.save_message(conv, later)
    assert ids(store.search("beta", server="devs", tag="work")) == ["c1"]


def test_tags_list_newest_first_with_the_other_filters(store: TranscriptStore) -> None:
    for n in range(6):
        store.save(chat(f"c{n}", n, "words", server="s1" if n % 2 else "s2", tags=["t"], archived=n == 4))
    assert ids(store.summaries(tag="t")) == ["c5", "c3", "c2", "c1", "c0"]
    assert ids(store.summaries(tag="t", limit=2)) == ["c5", "c3"]
    assert ids(store.summaries(tag="t", server="s2")) == ["c2", "c0"]
    assert ids(store.summaries(tag="t", only_archived=True)) == ["c4"]
    assert ids(store.summaries(tag="t", include_archived=True, server="s2")) == ["c4", "c2", "c0"]
    conv = store.load("c0")
    conv.updated_at = BASE + timedelta(hours=10)
    store.save(conv)
    assert ids(store.summaries(tag="t", limit=1)) == ["c0"]


@pytest.mark.parametrize("filters", [{}, {"server": "devs", "assistant_id": "helper", "tag": "work"}])
def test_the_snippet_comes_from_the_text_with_filters_too(
    store: TranscriptStore, filters: dict[str, str]
) -> None:
    # More tags than SNIPPET_TOKENS, the one asked for among the first of them (tokens sort "a" <
    # "work" < "zz…"), and a short text: unpadded, the tags column's start would win the snippet.
    many = ["a", *(f"zz{n}" for n in range(SNIPPET_TOKENS + 6)), "work", "Work"]
    conv = chat("c1", 0, "A line about hiking", server="devs", title="Zebra trip", tags=many)
    store.save(conv)
    other = chat("c2", 1, "only the title matches here", server="devs", title="Hiking zebra", tags=["work"])
    store.save(other)
    for word in ("hiking", "zebra"):
        hits = store.search(word, **filters)  # type: ignore[arg-type]
        assert hits
        for hit in hits:
            assert "000" not in hit.snippet
            assert hit.highlights
    titles = {h.snippet for h in store.search("zebra", **filters)}  # type: ignore[arg-type]
    assert titles == {"Zebra trip", "Hiking zebra"}  # matched in the title alone: the title shows
    assert [h.snippet for h in store.search("title", **filters)] == ["only the title matches here"]  # type: ignore[arg-type]
    plain = {h.message_id: h.snippet for h in store.search("hiking")}
    filtered = {h.message_id: h.snippet for h in store.search("hiking", **filters)}  # type: ignore[arg-type]
    assert plain == filtered


def test_dates_find_messages_written_out_of_order(store: TranscriptStore) -> None:
    store.save(chat("new", 100, "common word"))
    store.save(chat("old", 0, "common word"))  # imported later: a higher rowid for an older date
    store.save(chat("mid", 50, "common word"))
    day = timedelta(days=1)
    assert ids(store.search("common", until=BASE + timedelta(hours=1))) == ["old"]
    assert ids(store.search("common", since=BASE + timedelta(hours=49))) == ["mid", "new"]
    assert ids(
        store.search("common", since=BASE + timedelta(hours=49), until=BASE + timedelta(hours=51))
    ) == ["mid"]
    assert store.search("common", until=BASE - day) == []
    assert store.search("common", since=BASE + 10 * day) == []
    conv = store.load("old")
    conv.messages[0].created_at = BASE + timedelta(hours=200)  # a date changed in place
    store.save_message(conv, conv.messages[0])
    assert ids(store.search("common", since=BASE + timedelta(hours=199))) == ["old"]
    assert store.search("common", until=BASE + timedelta(hours=1)) == []


def test_archived_chats_of_several_servers_newest_first(store: TranscriptStore) -> None:
    for n in range(8):
        store.save(chat(f"c{n}", n, "words", server=f"s{n % 3}", archived=n != 5))
    assert ids(store.summaries(servers=["s0", "s1"], only_archived=True)) == [
        "c7",
        "c6",
        "c4",
        "c3",
        "c1",
        "c0",
    ]
    assert ids(store.summaries(servers=["s0", "s1"], only_archived=True, limit=2)) == ["c7", "c6"]
    assert ids(store.summaries(servers=["s2"], include_archived=True)) == ["c5", "c2"]
    assert store.summaries(servers=[], only_archived=True) == []


def test_by_prefix_reads_a_range_of_ids(store: TranscriptStore) -> None:
    for cid in ("c1", "c10", "c2", "d1"):
        store.save(chat(cid, 0, "words"))
    assert {s.id for s in store._index_ready().by_prefix("c1")} == {"c1", "c10"}  # type: ignore[union-attr]
    assert store.find("c10").id == "c10"
    assert store.find("d").id == "d1"
    for odd in ("~", "c1~", "é", "%", "_"):
        assert store._index_ready().by_prefix(odd) == []  # type: ignore[union-attr]


def test_branch_chats_among_some(store: TranscriptStore) -> None:
    conv = chat("c1", 0, "words", server="s", remote_id="chat-b")
    conv.messages[0].remote_chat_id = "chat-a"
    second = message(1, "more")
    second.remote_chat_id = "chat-b"
    conv.messages.append(second)
    store.save(conv)
    assert store.branch_chats("s") == {"chat-a", "chat-b"}
    assert store.branch_chats("s", ["chat-a", "chat-z"]) == {"chat-a"}
    assert store.branch_chats("s", []) == set()
    assert store.branch_chats("t", ["chat-a"]) == set()


def test_an_index_of_an_older_version_is_rebuilt(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "transcripts")
    store.save(chat("c1", 0, "alpha words", server="devs", tags=["work"]))
    store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store.index_path}{suffix}").unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(store.index_path)) as db:
        db.executescript(V3_SCHEMA)
    again = TranscriptStore(tmp_path / "transcripts")
    assert ids(again.search("alpha", server="devs", tag="work")) == ["c1"]
    assert ids(again.summaries(tag="work")) == ["c1"]
    assert any("from an older version" in notice for notice in again.notices)
    again.close()
    with contextlib.closing(sqlite3.connect(store.index_path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == INDEX_VERSION
        assert [row[1] for row in db.execute("PRAGMA table_info(fts)")] == [
            "content",
            "title",
            "server",
            "assistant",
            "tags",
        ]


def test_a_rebuilt_index_numbers_messages_in_the_order_files_were_written(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "transcripts")
    names = [f"z{n}" for n in range(8)]
    for n, cid in enumerate(reversed(names)):  # saved newest first: rowids against the dates
        store.save(chat(cid, 7 - n, "common word"))
    store.close()
    for n, cid in enumerate(names):
        stamp = int((BASE + timedelta(hours=n)).timestamp()) * 10**9
        os.utime(store.directory / f"{cid}.json", ns=(stamp, stamp))
    store.index_path.unlink()
    again = TranscriptStore(tmp_path / "transcripts")
    assert ids(again.search("common")) == list(reversed(names))  # newest first, by rowid
    again.close()


def test_the_check_at_open_compares_what_the_index_stamped(store: TranscriptStore) -> None:
    store.save(chat("snap", 0, "words"))
    journaled = chat("both", 1, "words")
    store.save(journaled)
    extra = message(1, "more")
    journaled.messages.append(extra)
    store.save_message(journaled, extra)
    store._index_ready()
    on_disk = store._on_disk()
    assert on_disk == {cid: store._stamp(cid).flat() for cid in ("snap", "both")}
    assert on_disk["both"][2] is not None
    assert store._index_ready().flat_stamps() == on_disk  # type: ignore[union-attr]


class Listing(Provider):
    kind = "fake"
    capabilities = Capabilities(lists_chats=True)

    def __init__(self, server: ServerConfig) -> None:
        super().__init__(server, None)  # type: ignore[arg-type]

    async def list_assistants(self) -> list[AssistantInfo]:
        return [AssistantInfo(id="helper", name="Helper")]

    async def list_chats(self, assistant_id: str) -> list[RemoteChat]:
        return [RemoteChat(id="chat-a"), RemoteChat(id="chat-new")]

    def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def test_the_service_lists_archived_chats_and_kept_branches(store: TranscriptStore) -> None:
    servers = [
        ServerConfig(name=name, kind="openai", base_url="http://127.0.0.1:9/v1") for name in ("s", "t")
    ]
    servers.append(ServerConfig(name="off", kind="openai", enabled=False))
    service = ChatService(Settings(servers=servers), store=store, provider_factory=Listing)
    for n, server in enumerate(["s", "t", "off", "s"]):
        store.save(chat(f"a{n}", n, "words", server=server, archived=True))
    branched = chat("b1", 9, "words", server="s", remote_id="chat-b")
    branched.messages[0].remote_chat_id = "chat-a"
    store.save(branched)
    assert ids(await service.archived_chats()) == ["a3", "a1", "a0"]
    listing = await service.listing(servers[0])
    assert listing.kept_remote == {"chat-a"}
    assert ids(listing.local_chats) == ["b1"]
