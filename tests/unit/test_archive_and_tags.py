"""Archived chats and tags below the UI: the `tag:` filter of the search box's language, the
history's lists (archived apart, by tag whatever its case) and search (tags and the archived flag on
each hit, a tag filter), and the service that the app and the command line reach them through."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devic_tui.config import ServerConfig, Settings
from devic_tui.search_query import SearchQuery, parse_search
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from tests.unit.store_helpers import conversation


def test_the_search_box_reads_a_tag_filter() -> None:
    query = parse_search("deploy TAG:#Work notes")
    assert (query.text, query.tag) == ("deploy notes", "Work")
    assert parse_search("tag: alone").tag is None  # an empty filter is a word like any other
    assert parse_search("tag:a tag:b").tag == "b"


def server(name: str) -> ServerConfig:
    return ServerConfig(name=name, kind="openai", base_url="http://127.0.0.1:1/v1")


@pytest.fixture
def store(tmp_path: Path) -> TranscriptStore:
    store = TranscriptStore(tmp_path / "transcripts")
    store.save(conversation("plain", 2, title="Nothing special"))
    store.save(conversation("work", 3, title="Deploy notes", tags=["Work", "ops"]))
    store.save(conversation("old", 4, title="Old plans", tags=["work"], server="other"))
    store.archive("old")
    store.save(conversation("uni", 5, title="Ünïcode", tags=["ÉTÉ"]))
    return store


def test_lists_keep_archived_chats_apart_and_filter_by_tag_in_any_case(store: TranscriptStore) -> None:
    assert [s.id for s in store.summaries()] == ["uni", "work", "plain"]
    assert [s.id for s in store.summaries(only_archived=True)] == ["old"]
    assert [s.id for s in store.summaries(tag="WORK")] == ["work"]
    assert [s.id for s in store.summaries(tag="work", include_archived=True)] == ["old", "work"]
    assert [s.id for s in store.summaries(tag="work", only_archived=True, server="other")] == ["old"]
    assert [s.id for s in store.summaries(tag="été")] == ["uni"]  # not only ASCII
    assert store.summaries(tag="wor") == []  # a whole tag, not a part of one
    store.close()


def test_search_hits_carry_tags_and_the_archived_flag_and_take_a_tag_filter(store: TranscriptStore) -> None:
    hits = store.search("message")
    assert {hit.conversation_id for hit in hits} == {"plain", "work", "old", "uni"}  # archived too
    by_chat = {hit.conversation_id: hit for hit in hits}
    assert by_chat["work"].tags == ["Work", "ops"]
    assert by_chat["old"].archived
    assert not by_chat["work"].archived
    assert {hit.conversation_id for hit in store.search("message", tag="work")} == {"work", "old"}
    assert store.search("message", tag="nope") == []
    store.close()


def test_the_service_lists_archives_and_brings_chats_back(store: TranscriptStore) -> None:
    servers = [server("local"), server("other")]
    service = ChatService(Settings(servers=servers), store=store)

    async def scenario() -> None:
        assert [s.id for s in await service.chats(archived=True)] == ["old"]
        assert [s.id for s in await service.chats(archived=None, tag="work")] == ["old", "work"]
        plain = await service.open("plain")
        await service.archive(plain)
        assert plain.archived
        assert [s.id for s in await service.archived_chats()] == ["old", "plain"]
        await service.unarchive(plain)
        assert not plain.archived
        assert [s.id for s in await service.chats()] == ["uni", "work", "plain"]
        hits = await service.search(SearchQuery(text="message", tag="ops"))
        assert {hit.conversation_id for hit in hits} == {"work"}
        await service.aclose()

    asyncio.run(scenario())


def test_the_sidebar_lists_archived_chats_of_enabled_servers_only(store: TranscriptStore) -> None:
    service = ChatService(Settings(servers=[server("local")]), store=store)
    store.archive("plain")

    async def scenario() -> None:
        assert [s.id for s in await service.archived_chats()] == ["plain"]  # `old` is of `other`
        await service.aclose()

    asyncio.run(scenario())
