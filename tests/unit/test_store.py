"""The transcript store: codecs round trips, journal replay, atomic snapshots, quarantine, newer
schemas, conversation management, two instances, and no token in any written file."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from devic_tui.records import SCHEMA_VERSION, Conversation
from devic_tui.store import codecs
from devic_tui.store.transcripts import NewerSchemaError, TranscriptError, TranscriptStore
from tests.unit.store_helpers import conversation, conversations, message

FORMATS = ["json", "toml"]


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(tmp_path: Path, fmt: str) -> TranscriptStore:
    made = TranscriptStore(tmp_path / "transcripts", fmt)  # type: ignore[arg-type]
    yield made  # type: ignore[misc]
    made.close()


# --- codecs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt_name", FORMATS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(original=conversations)
def test_snapshot_round_trip_is_lossless(fmt_name: str, original: Conversation) -> None:
    data = codecs.encode_snapshot(original, fmt_name, folded_journal="tok")  # type: ignore[arg-type]
    decoded = codecs.decode_snapshot(data, fmt_name, "test")  # type: ignore[arg-type]
    assert decoded.folded_journal == "tok"
    assert decoded.conversation == original
    assert decoded.conversation.model_dump() == original.model_dump()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(original=conversations)
def test_store_round_trip_through_journal_and_snapshot(original: Conversation) -> None:
    for fmt_name in FORMATS:
        with tempfile.TemporaryDirectory() as tmp:
            store = TranscriptStore(Path(tmp) / "t", fmt_name)  # type: ignore[arg-type]
            growing = original.model_copy(update={"messages": []})
            for item in original.messages:
                growing.messages.append(item)
                store.save_message(growing, item, final=True)
            if not original.messages:
                store.save(original)
            assert store.load(original.id) == original
            store.close()
            reopened = TranscriptStore(Path(tmp) / "t", fmt_name)  # type: ignore[arg-type]
            assert reopened.load(original.id) == original
            assert reopened.notices == []
            reopened.close()


def test_huge_content_round_trips(store: TranscriptStore) -> None:
    big = ("🦜 quite long line with \x00 and \r\n endings\n" * 8_000) + "end"
    conv = conversation("huge", 2)
    conv.messages.append(message(2, big))
    store.save(conv)
    assert store.load("huge").messages[-1].content == big
    conv.messages[-1].content = big + "!"
    store.save_message(conv, conv.messages[-1])
    assert store.load("huge").messages[-1].content == big + "!"


def test_toml_leaves_out_none_and_keeps_null_in_metadata(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "t", "toml")
    conv = conversation("c1", 1, metadata={"a": None, "b": [1, None]})
    store.save(conv)
    text = (tmp_path / "t" / "c1.toml").read_text()
    assert text.startswith(f"schema_version = {SCHEMA_VERSION}\n")
    assert "remote_id =" not in text
    assert "null" in text
    assert store.load("c1") == conv
    store.close()


# --- journal ----------------------------------------------------------------------------------------


def test_save_message_appends_a_line_and_does_not_rewrite(store: TranscriptStore, fmt: str) -> None:
    conv = conversation("c1", 0)
    first = message(0)
    conv.messages.append(first)
    store.save_message(conv, first, final=True)
    snapshot = store.directory / f"c1.{fmt}"
    before = snapshot.stat()
    for i in range(1, 6):
        conv.messages.append(message(i))
        store.save_message(conv, conv.messages[-1], final=True)
    after = snapshot.stat()
    assert (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size)
    lines = (store.directory / "c1.journal.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 5
    assert [m.id for m in store.load("c1").messages] == [f"m{i:05d}" for i in range(6)]


def test_streaming_updates_replace_by_id(store: TranscriptStore) -> None:
    conv = conversation("c1", 2)
    store.save(conv)
    answer = message(2, "", role="assistant", status="streaming")
    conv.messages.append(answer)
    for part in ("Hel", "Hello", "Hello, world"):
        answer.content = part
        store.save_message(conv, answer)
    answer.status = "complete"
    store.save_message(conv, answer, final=True)
    loaded = store.load("c1")
    assert len(loaded.messages) == 3
    assert loaded.messages[-1].content == "Hello, world"
    assert loaded.messages[-1].status == "complete"
    assert store.summaries()[0].message_count == 3


def test_an_answer_saved_as_it_grows_writes_only_what_it_added(store: TranscriptStore) -> None:
    """Saved every second while it streams, a long answer's journal grows with its length, not
    with its square; read back (by this store or a fresh one, or after a kill cut the last line)
    it is the text saved last."""
    conv = conversation("c1", 2)
    store.save(conv)
    answer = message(2, "", role="assistant", status="streaming")
    conv.messages.append(answer)
    piece = "All work and no play. " * 200  # 4,400 chars
    for _ in range(50):
        answer.content += piece
        store.save_message(conv, answer)
    journal = store.directory / "c1.journal.jsonl"
    assert journal.stat().st_size < 1.2 * len(answer.content)  # whole records: ~25x
    assert TranscriptStore(store.directory).load("c1").messages[-1].content == answer.content
    assert store.load("c1").messages[-1].status == "streaming"
    answer.content = "Rewritten from the start."  # not a growth: a whole record
    store.save_message(conv, answer)
    answer.content += " And grown again."
    store.save_message(conv, answer)
    assert TranscriptStore(store.directory).load("c1").messages[-1].content == answer.content
    whole = journal.read_bytes()
    journal.write_bytes(whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 1] + b'{"message": {"id": "m0')
    assert TranscriptStore(store.directory).load("c1").messages[-1].content == "Rewritten from the start."
    answer.status = "complete"
    after_the_kill = TranscriptStore(store.directory)
    after_the_kill.save_message(conv, answer, final=True)
    assert TranscriptStore(store.directory).load("c1").messages[-1].content == answer.content


def test_a_growth_line_that_failed_to_go_in_makes_the_next_line_whole(
    store: TranscriptStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal line the disk refused leaves no text for the next line to add to."""
    conv = conversation("c1", 2)
    store.save(conv)
    answer = message(2, "First part.", role="assistant", status="streaming")
    conv.messages.append(answer)
    store.save_message(conv, answer)
    append = TranscriptStore._append

    def full_disk(self: TranscriptStore, cid: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(TranscriptStore, "_append", full_disk)
    answer.content += " Second part."
    with pytest.raises(OSError, match="No space left"):
        store.save_message(conv, answer)
    monkeypatch.setattr(TranscriptStore, "_append", append)
    answer.content += " Third part."
    store.save_message(conv, answer)
    assert TranscriptStore(store.directory).load("c1").messages[-1].content == answer.content


def test_header_changes_travel_with_messages(store: TranscriptStore) -> None:
    conv = conversation("c1", 1)
    store.save(conv)
    conv.remote_id = "chat-42"
    conv.title = "Renamed by the turn"
    conv.messages.append(message(1))
    store.save_message(conv, conv.messages[-1], final=True)
    loaded = store.load("c1")
    assert loaded.remote_id == "chat-42"
    assert loaded.title == "Renamed by the turn"
    assert store.by_remote_id("local", "chat-42") is not None


def test_torn_last_line_is_ignored_and_the_next_append_is_clean(store: TranscriptStore) -> None:
    conv = conversation("c1", 1)
    store.save(conv)
    conv.messages.append(message(1))
    store.save_message(conv, conv.messages[-1], final=True)
    journal = store.directory / "c1.journal.jsonl"
    with journal.open("ab") as file:
        file.write(b'{"message": {"id": "m9", "role": "us')
    assert [m.id for m in store.load("c1").messages] == ["m00000", "m00001"]
    assert store.notices == []
    other = TranscriptStore(store.directory, store.fmt, index_path=store.index_path)
    conv.messages.append(message(2))
    other.save_message(conv, conv.messages[-1], final=True)
    assert [m.id for m in other.load("c1").messages] == ["m00000", "m00001", "m00002"]
    assert other.notices == []
    other.close()


def test_compaction_folds_the_journal(store: TranscriptStore, fmt: str) -> None:
    conv = conversation("c1", 1)
    store.save(conv)
    for i in range(1, 4):
        conv.messages.append(message(i))
        store.save_message(conv, conv.messages[-1], final=True)
    store.compact("c1")
    assert not (store.directory / "c1.journal.jsonl").exists()
    assert store.load("c1") == conv
    conv.messages.append(message(4))
    store.save_message(conv, conv.messages[-1], final=True)
    store.close()
    assert not (store.directory / "c1.journal.jsonl").exists()
    assert TranscriptStore(store.directory, fmt).load("c1") == conv  # type: ignore[arg-type]


def test_a_journal_left_by_a_crash_mid_compaction_is_not_replayed(store: TranscriptStore) -> None:
    conv = conversation("c1", 1)
    store.save(conv)
    answer = message(1, "partial", role="assistant", status="streaming")
    conv.messages.append(answer)
    store.save_message(conv, answer)
    journal = store.directory / "c1.journal.jsonl"
    kept = journal.read_bytes()
    answer.content, answer.status = "the whole answer", "complete"
    store.save(conv)  # snapshot names the journal it folded ...
    journal.write_bytes(kept)  # ... and the crash left that journal behind
    assert store.load("c1").messages[-1].content == "the whole answer"


def test_a_big_journal_is_folded_on_a_final_save(store: TranscriptStore) -> None:
    conv = conversation("c1", 1)
    store.save(conv)
    conv.messages.append(message(1, "x" * 300_000))
    store.save_message(conv, conv.messages[-1], final=True)
    conv.messages.append(message(2, "y" * 300_000))
    store.save_message(conv, conv.messages[-1], final=True)
    assert not (store.directory / "c1.journal.jsonl").exists()
    assert store.load("c1") == conv


def test_save_message_cost_does_not_grow_with_length(tmp_path: Path, fmt: str) -> None:
    def median_cost(count: int) -> float:
        store = TranscriptStore(tmp_path / f"s{count}", fmt)  # type: ignore[arg-type]
        conv = conversation("c1", count)
        store.save(conv)
        costs = []
        for i in range(count, count + 30):
            conv.messages.append(message(i))
            start = time.perf_counter()
            store.save_message(conv, conv.messages[-1], final=True)
            costs.append(time.perf_counter() - start)
        store.close()
        return statistics.median(costs)

    small, large = median_cost(10), median_cost(3000)
    assert large < max(small * 5, 0.02)  # loose: the real figure is in bench/save.py


# --- damaged and foreign files -----------------------------------------------------------------------


def test_corrupt_snapshot_is_quarantined_and_the_rest_still_listed(store: TranscriptStore, fmt: str) -> None:
    for cid in ("good1", "bad", "good2"):
        store.save(conversation(cid, 2))
    store.close()
    (store.directory / f"bad.{fmt}").write_text("{ this is not a transcript")
    Path(str(store.index_path)).unlink()
    reopened = TranscriptStore(store.directory, fmt)  # type: ignore[arg-type]
    assert sorted(s.id for s in reopened.summaries()) == ["good1", "good2"]
    assert (store.directory / "quarantine" / f"bad.{fmt}").exists()
    assert not (store.directory / f"bad.{fmt}").exists()
    assert any(f"bad.{fmt}" in notice and "quarantine" in notice for notice in reopened.notices)
    with pytest.raises(TranscriptError):
        reopened.load("bad")
    reopened.close()


def test_invalid_snapshot_is_quarantined_on_load(store: TranscriptStore, fmt: str) -> None:
    store.save(conversation("c1", 1))
    path = store.directory / "c1.json"
    if fmt == "json":
        data = json.loads(path.read_text())
        data["messages"][0]["role"] = "wizard"
        path.write_text(json.dumps(data))
    else:
        path = store.directory / "c1.toml"
        path.write_text(path.read_text().replace('role = "user"', 'role = "wizard"'))
    with pytest.raises(TranscriptError, match="role"):
        store.load("c1")
    assert (store.directory / "quarantine" / path.name).exists()
    assert store.summaries() == []


def test_newer_schema_is_refused_and_left_untouched(store: TranscriptStore, fmt: str) -> None:
    store.save(conversation("c1", 1))
    path = store.directory / f"c1.{fmt}"
    text = path.read_text()
    newer = text
    newer = newer.replace(
        f'"schema_version": {SCHEMA_VERSION}' if fmt == "json" else f"schema_version = {SCHEMA_VERSION}",
        f'"schema_version": {SCHEMA_VERSION + 1}'
        if fmt == "json"
        else f"schema_version = {SCHEMA_VERSION + 1}",
    )
    assert newer != text
    path.write_text(newer)
    store.close()
    reopened = TranscriptStore(store.directory, fmt)  # type: ignore[arg-type]
    with pytest.raises(NewerSchemaError, match="newer"):
        reopened.load("c1")
    conv = conversation("c1", 2)
    with pytest.raises(NewerSchemaError):
        reopened.save(conv)
    with pytest.raises(NewerSchemaError):
        reopened.save_message(conv, conv.messages[-1], final=True)
    reopened.close()
    assert path.read_text() == newer
    assert not (store.directory / "c1.journal.jsonl").exists()
    assert not (store.directory / "quarantine").exists()


def test_missing_conversation_and_bad_id(store: TranscriptStore) -> None:
    with pytest.raises(TranscriptError, match="No conversation"):
        store.load("nothing")
    with pytest.raises(TranscriptError, match="not a valid"):
        store.load("../etc/passwd")


def test_nothing_is_created_until_the_first_write(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "data" / "transcripts")
    assert store.summaries() == []
    assert store.search("anything") == []
    assert not (tmp_path / "data").exists()
    store.close()


# --- managing conversations --------------------------------------------------------------------------


def test_rename_tags_archive_are_kept_in_the_files(store: TranscriptStore, fmt: str) -> None:
    store.save(conversation("c1", 2))
    store.save(conversation("c2", 2))
    store.rename("c1", "A better title")
    store.set_tags("c1", ["work", "ünïcode"])
    store.archive("c2")
    assert [s.id for s in store.summaries()] == ["c1"]
    assert {s.id for s in store.summaries(include_archived=True)} == {"c1", "c2"}
    store.close()
    reopened = TranscriptStore(store.directory, fmt)  # type: ignore[arg-type]
    loaded = reopened.load("c1")
    assert loaded.title == "A better title"
    assert loaded.tags == ["work", "ünïcode"]
    assert reopened.load("c2").archived
    reopened.archive("c2", False)
    assert {s.id for s in reopened.summaries()} == {"c1", "c2"}
    assert reopened.search("better")[0].title == "A better title"
    reopened.close()


def test_delete_to_trash_and_restore(store: TranscriptStore, fmt: str) -> None:
    conv = conversation("c1", 2)
    store.save(conv)
    conv.messages.append(message(2))
    store.save_message(conv, conv.messages[-1], final=True)
    store.delete("c1")
    assert store.summaries() == []
    assert store.search("message") == []
    assert (store.directory / "trash" / f"c1.{fmt}").exists()
    assert [s.id for s in store.trashed()] == ["c1"]
    with pytest.raises(TranscriptError):
        store.load("c1")
    store.restore("c1")
    assert store.load("c1") == conv
    assert store.trashed() == []
    assert [s.message_count for s in store.summaries()] == [3]
    with pytest.raises(TranscriptError):
        store.restore("c1")


def test_find_by_prefix(store: TranscriptStore) -> None:
    for cid in ("abc111", "abc222", "xyz999"):
        store.save(conversation(cid, 1))
    assert store.find("xyz").id == "xyz999"
    assert store.find("abc111").id == "abc111"
    with pytest.raises(TranscriptError, match="several"):
        store.find("abc")
    with pytest.raises(TranscriptError, match="No conversation"):
        store.find("nope")


def test_summaries_newest_first_and_filtered(store: TranscriptStore) -> None:
    store.save(conversation("old", 1, server="a"))
    store.save(conversation("new", 5, server="b", assistant_id="other"))
    assert [s.id for s in store.summaries()] == ["new", "old"]
    assert [s.id for s in store.summaries(server="a")] == ["old"]
    assert [s.id for s in store.summaries(assistant_id="other")] == ["new"]


def test_format_switch_migrates_on_write(tmp_path: Path) -> None:
    first = TranscriptStore(tmp_path / "t", "json")
    conv = conversation("c1", 2)
    first.save(conv)
    first.close()
    second = TranscriptStore(tmp_path / "t", "toml")
    assert second.load("c1") == conv
    conv.messages.append(message(2))
    second.save_message(conv, conv.messages[-1], final=True)
    second.close()
    assert (tmp_path / "t" / "c1.toml").exists()
    assert not (tmp_path / "t" / "c1.json").exists()
    assert TranscriptStore(tmp_path / "t", "json").load("c1") == conv


def test_second_instance_records_but_does_not_compact(tmp_path: Path) -> None:
    first = TranscriptStore(tmp_path / "t")
    conv = conversation("c1", 1)
    first.save(conv)
    second = TranscriptStore(tmp_path / "t")
    assert first.read_only_reason is None
    assert second.read_only_reason
    assert "Another devic-tui" in second.read_only_reason
    conv.messages.append(message(1))
    second.save_message(conv, conv.messages[-1], final=True)
    second.close()
    assert (tmp_path / "t" / "c1.journal.jsonl").exists()
    assert first.load("c1") == conv
    first.compact("c1")
    assert not (tmp_path / "t" / "c1.journal.jsonl").exists()
    assert first.load("c1") == conv
    first.close()


def test_threads_can_share_a_store(store: TranscriptStore) -> None:
    import concurrent.futures

    conversations_ = [conversation(f"c{i}", 0) for i in range(4)]

    def work(conv: Conversation) -> None:
        for i in range(20):
            conv.messages.append(message(i))
            store.save_message(conv, conv.messages[-1], final=True)
            store.summaries()

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(work, conversations_))
    assert {s.message_count for s in store.summaries()} == {20}


# --- no token in any written file --------------------------------------------------------------------


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_no_token_in_any_written_file(tmp_path: Path, server_config: object) -> None:
    from devic_tui.config import Settings
    from devic_tui.service import ChatService
    from tests.conftest import TEST_TOKEN

    servers = [server_config(kind) for kind in ("devic", "openai")]  # type: ignore[operator]
    store = TranscriptStore(tmp_path / "data" / "transcripts", "toml")
    service = ChatService(Settings(servers=servers), store=store)
    for server in servers:
        listing = await service.listing(server)
        assistant = listing.assistants[0]
        conv = service.new_conversation(server.name, assistant)
        async for _ in (await service.start_turn(conv, "hello there", [])).events():
            pass
        async for _ in (await service.start_turn(conv, "and again", [])).events():
            pass
        store.save(conv)
        store.rename(conv.id, "renamed")
    await service.aclose()
    written = _files(tmp_path)
    assert any(p.suffix == ".toml" for p in written)
    assert any("sqlite3" in p.name for p in written)
    for path in written:
        assert TEST_TOKEN.encode() not in path.read_bytes(), path
