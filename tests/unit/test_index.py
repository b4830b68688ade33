"""The search index: rebuilt from the files when missing, corrupt or stale; full-text search with
highlights and filters; the query language kept safe."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from devic_tui.store.index import fts_query, split_highlights
from devic_tui.store.transcripts import TranscriptStore
from tests.unit.store_helpers import BASE, conversation, message


@pytest.fixture
def filled(tmp_path: Path) -> TranscriptStore:
    store = TranscriptStore(tmp_path / "transcripts")
    first = conversation("alpha", 0, server="devic", assistant_id="writer", title="Holiday plans")
    first.messages += [
        message(0, "Where should we go hiking in the Pyrénées?"),
        message(1, "The Pyrenees have great hiking trails; try the GR10.", role="assistant"),
    ]
    second = conversation("beta", 0, server="openai", assistant_id="coder", title="Python help")
    second.messages += [
        message(100, "How do I read a file in Python?"),
        message(101, "Use `open(path)` and read it; hiking not included.", role="assistant"),
    ]
    for conv in (first, second):
        store.save(conv)
    yield store  # type: ignore[misc]
    store.close()


def test_search_finds_words_with_highlights(filled: TranscriptStore) -> None:
    hits = filled.search("hiking")
    assert {h.conversation_id for h in hits} == {"alpha", "beta"}
    for hit in hits:
        assert hit.highlights
        for start, end in hit.highlights:
            assert hit.snippet[start:end].lower().startswith("hik")
    top = filled.search("trails")[0]
    assert (top.conversation_id, top.message_id, top.role, top.title) == (
        "alpha",
        "m00001",
        "assistant",
        "Holiday plans",
    )
    assert top.server == "devic"
    assert top.assistant_id == "writer"
    assert top.created_at == BASE + timedelta(seconds=1)


def test_search_filters(filled: TranscriptStore) -> None:
    assert {h.conversation_id for h in filled.search("hiking", server="openai")} == {"beta"}
    assert {h.conversation_id for h in filled.search("hiking", assistant_id="writer")} == {"alpha"}
    late = filled.search("hiking", since=BASE + timedelta(seconds=50))
    assert {h.message_id for h in late} == {"m00101"}
    early = filled.search("hiking", until=BASE + timedelta(seconds=0.5))
    assert {h.message_id for h in early} == {"m00000"}
    assert len(filled.search("hiking", limit=1)) == 1


def test_search_language(filled: TranscriptStore) -> None:
    assert filled.search("pyrenees")  # diacritics folded
    assert filled.search("hike")  # stemmed
    assert filled.search("pyth*")
    assert {h.message_id for h in filled.search('"read a file"')} == {"m00100"}
    assert {h.conversation_id for h in filled.search("GR10 OR python")} == {"alpha", "beta"}
    assert filled.search("holiday")  # the title matches too
    for odd in ('"', "-", "(", "AND", "OR", "NEAR(", "*", "col:umn", 'a"b', ""):
        filled.search(odd)  # never a syntax error


def test_fts_query_quotes_everything() -> None:
    assert fts_query('hello "big world" pre* OR x') == '"hello" "big world" "pre"* OR "x"'
    assert fts_query("a-b") == '"a-b"'
    assert fts_query("-- ?? OR") == '"OR"'  # a lone OR is a word


def test_split_highlights() -> None:
    text, spans = split_highlights("a \ufdd0bc\ufdd1 d \ufdd0e\ufdd1")
    assert text == "a bc d e"
    assert spans == [(2, 4), (7, 8)]


def test_streaming_updates_reindex_the_message(filled: TranscriptStore) -> None:
    conv = filled.load("beta")
    answer = message(102, "first draft", role="assistant", status="streaming")
    conv.messages.append(answer)
    filled.save_message(conv, answer)
    answer.content = "final zebra answer"
    filled.save_message(conv, answer, final=True)
    assert not filled.search("draft")
    assert [h.message_id for h in filled.search("zebra")] == ["m00102"]


def _reopen(store: TranscriptStore) -> TranscriptStore:
    return TranscriptStore(store.directory, store.fmt)


def test_rebuilt_when_deleted(filled: TranscriptStore) -> None:
    filled.close()
    filled.index_path.unlink()
    again = _reopen(filled)
    assert {s.id for s in again.summaries()} == {"alpha", "beta"}
    assert again.search("trails")
    assert any("rebuilt from 2" in n for n in again.notices)
    again.close()


def test_rebuilt_when_corrupt(filled: TranscriptStore) -> None:
    filled.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{filled.index_path}{suffix}").unlink(missing_ok=True)
    filled.index_path.write_bytes(b"this is not a database" * 100)
    again = _reopen(filled)
    assert {s.id for s in again.summaries()} == {"alpha", "beta"}
    assert any("corrupt" in n for n in again.notices)
    again.close()


def test_refreshed_when_stale(filled: TranscriptStore) -> None:
    filled.close()
    # another copy of the app (or a person) changed the files behind the index
    other_dir = filled.directory.parent / "elsewhere"
    other = TranscriptStore(other_dir, index_path=other_dir / "index.sqlite3")
    reader = _reopen(filled)
    changed = reader.load("alpha")
    reader.close()
    changed.messages.append(message(2, "a new word: quokka"))
    other.close()
    writer = TranscriptStore(filled.directory, index_path=filled.directory.parent / "scratch.sqlite3")
    writer.save(changed)
    writer.save(conversation("gamma", 1, title="Written elsewhere"))
    writer.delete("beta")
    writer.close()
    again = _reopen(filled)
    assert {s.id for s in again.summaries()} == {"alpha", "gamma"}
    assert [h.message_id for h in again.search("quokka")] == ["m00002"]
    assert not again.search("python")
    again.close()


def test_rebuild_index_counts(filled: TranscriptStore) -> None:
    assert filled.rebuild_index() == 2
    assert filled.search("trails")


def test_touching_a_file_is_enough_to_reread_it(filled: TranscriptStore) -> None:
    filled.close()
    path = filled.directory / "alpha.json"
    path.write_text(path.read_text().replace("GR10", "GR11"))
    os.utime(path, ns=(1, 1))
    again = _reopen(filled)
    assert again.search("GR11")
    assert not again.search("GR10")
    again.close()
