"""history-scale: the history at 100,000 conversations (issue "History scale").

The history (`_history.history_of`: 100,000 conversations x 4 messages on 4 servers and 6
assistants, some tagged, ~2.4 % archived) is written once into bench/results/ and reused. A check
first saves some of its conversations through `TranscriptStore.save` into a scratch folder and
compares the files and index rows with the history's. Then, with the store and `ChatService` opened
on it the way the app opens them (`_common.make_app`: `<data dir>/transcripts`, its `index.sqlite3`
beside it), with the app's GC thresholds:

- cold open: the first call on a new store (what the app pays once, after its first frame): the
  index opened and synced with the files (a directory scan compared with the index's stamps);
- the sidebar's listing, warm: at start, what `MainScreen.load_servers` awaits before drawing the
  sidebar (each server's `local_listing` and `archived_chats`, gathered), then the model's rows
  (`SidebarModel.set_archived`, `set_listing`, `rows`); a server's answer (`ChatService.listing`
  with a provider that answers at once, listing REMOTE_LISTED chats per assistant: `branch_chats`
  and `local_listing`, then `set_listing` and `rows`), one server alone and all four as the app asks
  them; a chat switched to or saved (`chat_changed`, `rows`);
- full-text search, warm, as the search screen does it (`parse_search`, then `ChatService.search`
  with limit 100, or, for a tag alone, `ChatService.chats`) and `devic-tui chats --search` (limit
  50): common, rare, phrase, prefix, OR, filters (server, assistant, tag, since, until), no match.

Targets: listing <= 20 ms, search p95 <= 20 ms.

    .venv/bin/python bench/history_scale.py [--count 100000] [--repeats 30] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import filecmp
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import percentile, result
from bench._history import (
    RESULTS,
    SCALE_SEED,
    SCALE_SERVERS,
    Writer,
    history_of,
    scale_conversation,
)
from devic_tui.app import GC_THRESHOLDS
from devic_tui.config import AssistantConfig, ServerConfig, Settings
from devic_tui.models import AssistantInfo, RemoteChat
from devic_tui.providers.base import Capabilities, Provider, SendRequest
from devic_tui.providers.events import SendEvent
from devic_tui.records import ConversationSummary
from devic_tui.search_query import parse_search
from devic_tui.service import ChatService
from devic_tui.sidebar_model import SidebarModel
from devic_tui.store.transcripts import TranscriptStore

BENCH = "history-scale"
TARGET_MS = 20.0


REMOTE_LISTED = 50
"""Chats a server that keeps them lists per assistant: its newest local ones, and a few of its own."""


class Answering(Provider):
    """A server that answers at once: its configured assistants and, if it keeps chats, the newest
    REMOTE_LISTED of each assistant (most of them held locally, as a server lists the chats the app
    made there). What is timed is the app's own work with its history, not the network."""

    kind = "bench"
    chats: ClassVar[dict[tuple[str, str], list[RemoteChat]]] = {}

    def __init__(self, server: ServerConfig) -> None:
        super().__init__(server, None)  # type: ignore[arg-type]
        self.capabilities = Capabilities(lists_chats=server.kind != "openai")

    @classmethod
    def learn(cls, store: TranscriptStore) -> None:
        """What each server lists: read once from the history."""
        for name, kind, assistants in SCALE_SERVERS:
            if kind == "openai":
                continue
            for assistant in assistants:
                newest = store.summaries(server=name, assistant_id=assistant, limit=REMOTE_LISTED - 5)
                listed = [
                    RemoteChat(id=s.remote_id or s.id, title=s.title, updated_at=s.updated_at) for s in newest
                ]
                listed += [
                    RemoteChat(id=f"server-only-{assistant}-{i}", title=f"On {name}") for i in range(5)
                ]
                cls.chats[name, assistant] = listed

    async def list_chats(self, assistant_id: str) -> list[RemoteChat]:
        return self.chats.get((self.server.name, assistant_id), [])

    async def list_assistants(self) -> list[AssistantInfo]:
        return self.configured_assistants()

    def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def settings() -> Settings:
    servers = [
        ServerConfig(
            name=name,
            kind=kind,  # type: ignore[arg-type]
            base_url="http://127.0.0.1:9/v1",
            assistants=[AssistantConfig(id=a, name=a.capitalize()) for a in assistants],
        )
        for name, kind, assistants in SCALE_SERVERS
    ]
    return Settings(servers=servers)


def spread(values_ms: list[float]) -> str:
    return (
        f"p50 {percentile(values_ms, 50):.1f} / p95 {percentile(values_ms, 95):.1f} / "
        f"max {max(values_ms):.1f} ms"
    )


def check_builder(history: Path) -> bool:
    """The history's first conversations, saved again through `TranscriptStore.save`: the same
    files (byte for byte) and the same index rows."""
    writer = Writer(SCALE_SEED)
    made = [scale_conversation(n, writer) for n in range(18)]
    conversations = [*made[:4], made[17]]  # every server, three tags, one archived
    with tempfile.TemporaryDirectory() as scratch:
        store = TranscriptStore(Path(scratch) / "transcripts", "json")
        for conv in conversations:
            store.save(conv)
        saved = {s.id: s for s in store.summaries(include_archived=True)}
        store.close()
        same_files = all(
            filecmp.cmp(
                Path(scratch) / "transcripts" / f"{c.id}.json",
                history / "transcripts" / f"{c.id}.json",
                shallow=False,
            )
            for c in conversations
        )
    store = TranscriptStore(history / "transcripts", "json")
    ours = {c.id: store.find(c.id) for c in conversations}
    store.close()
    return same_files and ours == saved


def cold_open(history: Path) -> tuple[float, dict[str, float]]:
    """A new store's first call (the index opened and synced with the files) and its parts."""
    store = TranscriptStore(history / "transcripts", "json")
    parts: dict[str, float] = {}
    on_disk = store._on_disk

    def timed_scan() -> Any:
        start = time.perf_counter()
        found = on_disk()
        parts["directory scan"] = (time.perf_counter() - start) * 1000
        index = store._index
        assert index is not None
        start = time.perf_counter()
        index.flat_stamps()
        parts["index stamps read"] = (time.perf_counter() - start) * 1000
        return found

    store._on_disk = timed_scan  # type: ignore[method-assign]
    start = time.perf_counter()
    store.summaries(limit=1)
    total = (time.perf_counter() - start) * 1000 - parts["index stamps read"]  # read twice: once counted
    store.close()
    if store.notices:
        print("  notices: " + " | ".join(store.notices))
    return total, parts


async def listing(service: ChatService, repeats: int) -> dict[str, list[float]]:
    servers = service.settings.enabled_servers()
    figures: dict[str, list[float]] = {
        "start: service": [],
        "start: rows": [],
        "start": [],
        "refresh: one server's answer": [],
        "refresh: every server's": [],
        "chat changed": [],
    }
    shown: list[ConversationSummary] = []
    rows = []
    for _ in range(repeats):
        # What MainScreen.load_servers awaits before the sidebar's first drawing.
        start = time.perf_counter()
        local, archived = await asyncio.gather(
            asyncio.gather(*(service.local_listing(s) for s in servers)), service.archived_chats()
        )
        middle = time.perf_counter()
        model = SidebarModel()
        model.set_archived(archived)
        for found in local:
            model.set_listing(found)
        rows = model.rows()
        end = time.perf_counter()
        figures["start: service"].append((middle - start) * 1000)
        figures["start: rows"].append((end - middle) * 1000)
        figures["start"].append((end - start) * 1000)
        # Each server's answer: its listing again (with what the server lists), then the rows; one
        # server at a time, then all four at once as the app asks them.
        for server in servers:
            start = time.perf_counter()
            model.set_listing(await service.listing(server))
            model.rows()
            figures["refresh: one server's answer"].append((time.perf_counter() - start) * 1000)
        every = time.perf_counter()
        for answered in asyncio.as_completed([service.listing(s) for s in servers]):
            model.set_listing(await answered)
            model.rows()
        figures["refresh: every server's"].append((time.perf_counter() - every) * 1000)
        # A chat saved or switched to: its entry replaced, the rows drawn again.
        shown = shown or local[0].local_chats[:5]
        start = time.perf_counter()
        for summary in shown:
            model.set_open(summary.id)
            model.chat_changed(summary)
            model.rows()
        figures["chat changed"].append((time.perf_counter() - start) * 1000 / len(shown))
    local_chats = sum(len(f.local_chats) for f in local)
    print(
        f"  the sidebar shows {len(rows)} rows; {local_chats} local and {len(archived)} archived chats read"
    )
    return figures


def search_queries(writer: Writer) -> list[str]:
    """What a person types into the search box (filters in the box's own language)."""
    w = writer.words  # ranked by frequency: w[0] is the most common word
    return [
        w[0],
        w[1],
        w[40],
        w[300],
        w[2000],
        w[4900],
        f"{w[0]} {w[1]}",
        f"{w[3]} {w[200]}",
        f'"{w[0]} {w[1]}"',
        f'"{w[30]} {w[31]}"',
        f"{w[10][:3]}*",
        f"{w[700][:4]}*",
        f"{w[100]} OR {w[101]}",
        "quokka",
        "kubernetes migration",
        "nothingmatchesthisword",
        f"{w[0]} server:devs",
        f"{w[20]} assistant:coder",
        f"{w[2]} since:2024-07-01",
        f"{w[2]} since:2024-07-01 until:2024-07-03",
        f"{w[5]} until:2024-01-10",
        f"{w[2]} until:2024-11-30",
        f"{w[300]} since:2024-12-01",
        f"{w[50]} server:openai assistant:analyst",
        f"{w[1000]} server:bench",
        f"{w[5]} tag:work",
        f"{w[0]} tag:receipts",
        f"{w[300]} tag:travel",
        f"{w[0]} tag:nosuchtag",
        "tag:receipts",
        "tag:work",
        f"{w[0]} {w[4000]}",
        "Python error",
    ]


async def search(service: ChatService, raw: str, limit: int) -> int:
    """One search as the search screen (limit 100) or `chats --search` (limit 50) runs it."""
    query = parse_search(raw)
    if not query.text.strip():
        chats = await service.chats(
            server=query.server, assistant_id=query.assistant, tag=query.tag, archived=None, limit=limit
        )
        return len(chats)
    return len(await service.search(query, limit=limit))


async def searches(
    service: ChatService, repeats: int
) -> tuple[list[float], list[tuple[str, float, float, int]]]:
    every: list[float] = []
    per_query = []
    for raw in search_queries(Writer(SCALE_SEED)):
        times = []
        hits = 0
        for limit in (100, 50) * repeats:
            start = time.perf_counter()
            hits = max(hits, await search(service, raw, limit))
            times.append((time.perf_counter() - start) * 1000)
        every += times
        per_query.append((raw, percentile(times, 50), max(times), hits))
    return every, per_query


async def measure(history: Path, repeats: int) -> None:
    gc.set_threshold(*GC_THRESHOLDS)  # as the app runs
    store = TranscriptStore(history / "transcripts", "json")
    service = ChatService(settings(), store=store, provider_factory=Answering)
    await service.claim_history()
    await service.chats(limit=1)  # warm: the first open has synced the index
    Answering.learn(store)
    figures = await listing(service, repeats)
    for name, values in figures.items():
        print(f"  listing, {name}: {spread(values)}")
    for figure, name in (
        ("sidebar listing at start (service calls)", "start: service"),
        ("sidebar listing at start (service calls + rows)", "start"),
        ("sidebar refresh: one server's answer (listing + rows)", "refresh: one server's answer"),
    ):
        values = figures[name]
        result(
            BENCH,
            figure + ", p50/p95/max",
            spread(values),
            f"p95 <= {TARGET_MS:.0f} ms",
            percentile(values, 95) <= TARGET_MS,
        )
    every, per_query = await searches(service, max(1, repeats // 6))
    print(f"\n  search: {len(per_query)} queries, limits 100 and 50")
    for raw, median, worst, hits in per_query:
        print(f"    {median:7.2f} ms (worst {worst:7.2f})  {hits:3d} hits  {raw[:70]}")
    print(f"  all searches: {spread(every)} (n={len(every)})")
    result(
        BENCH,
        "search p50/p95/max (search screen and chats --search)",
        spread(every),
        f"p95 <= {TARGET_MS:.0f} ms",
        percentile(every, 95) <= TARGET_MS,
    )
    await service.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.rebuild:
        shutil.rmtree(RESULTS / f"history-scale-{args.count}", ignore_errors=True)
    started = time.perf_counter()
    history = history_of(args.count)
    print(f"{BENCH}: {args.count:,} conversations ready in {time.perf_counter() - started:.1f} s ({history})")
    print(f"  saved through TranscriptStore.save, the same files and index rows: {check_builder(history)}")
    opens = sorted(cold_open(history) for _ in range(3))
    for total, parts in opens:
        detail = ", ".join(f"{name} {ms:.0f} ms" for name, ms in parts.items())
        print(f"  first call on a new store (index opened and synced): {total:.0f} ms ({detail})")
    total, parts = opens[1]
    result(
        BENCH,
        "cold open: a new store's first call (median of 3)",
        f"{total:.0f} ms (" + ", ".join(f"{name} {ms:.0f}" for name, ms in parts.items()) + ")",
        "after the first frame",
        None,
    )
    asyncio.run(measure(history, args.repeats))


if __name__ == "__main__":
    main()
