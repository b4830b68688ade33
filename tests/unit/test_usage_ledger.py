"""The usage ledger: rows per local day, server and assistant, the period totals (today, ISO week,
month) against figures worked out by hand, cost with and without prices (cached input tokens at
their own price), the index columns it is read from (local days, `since`, an older index rebuilt)
and `ChatService.usage`."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from devic_tui import service as service_module
from devic_tui.config import ModelPrice, Settings
from devic_tui.models import Usage
from devic_tui.records import COPY_OF, StoredMessage
from devic_tui.service import ChatService
from devic_tui.store.index import UsageGroup
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.usage_ledger import (
    UsageTotals,
    build_ledger,
    conversation_usage,
    cost_of,
    fetch_from,
)
from tests.unit.store_helpers import conversation, message

PRICES = {
    "gpt": ModelPrice(input=2.0, output=8.0, cached_input=0.5),
    "helper": ModelPrice(input=1.0, output=2.0),  # an assistant id; cached input at the input price
}
TODAY = date(2025, 4, 2)  # a Wednesday: the week began on Monday 31 March, the month on 1 April
CET = "CET-1CEST,M3.5.0,M10.5.0/3"
"""Central European time as a POSIX TZ string (no tz database needed): UTC+1 in March."""


def group(day: str, server: str, assistant: str, model: str | None, *figures: int) -> UsageGroup:
    return UsageGroup(day, server, assistant, assistant.capitalize(), model, *figures)


GROUPS = [
    # answers, input, output, cached, total
    group("2025-04-02", "s", "helper", "gpt", 2, 1000, 500, 400, 1500),  # 0.0054 (gpt)
    group("2025-04-02", "s", "helper", None, 1, 2000, 100, 1000, 2100),  # 0.0022 (helper)
    group("2025-04-01", "s", "other", "unknown-model", 1, 100, 100, 0, 200),  # no price
    group("2025-03-31", "t", "helper", None, 4, 10_000, 1_000, 0, 11_000),  # 0.012
    group("2025-03-30", "s", "helper", None, 5, 1, 1, 0, 7),  # 0.000003
]


def figures(totals: UsageTotals) -> tuple[int, int, int, int, int]:
    return (
        totals.answers,
        totals.input_tokens,
        totals.output_tokens,
        totals.cached_tokens,
        totals.total_tokens,
    )


@pytest.fixture
def central_europe(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is CET/CEST for the test (Python and SQLite both read it from the C library)."""
    monkeypatch.setenv("TZ", CET)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_cost_takes_cached_tokens_out_of_the_input() -> None:
    assert cost_of(PRICES["gpt"], 1000, 500, 400) == pytest.approx((600 * 2 + 400 * 0.5 + 500 * 8) / 1e6)
    # No cached price: the cached tokens cost what other input tokens cost.
    assert cost_of(PRICES["helper"], 2000, 100, 1000) == pytest.approx((2000 * 1 + 100 * 2) / 1e6)
    # More cached than input (a server's odd figures): never a negative uncached part.
    assert cost_of(PRICES["gpt"], 0, 0, 100) == pytest.approx(100 * 0.5 / 1e6)


def test_rows_and_period_totals_with_prices() -> None:
    ledger = build_ledger(GROUPS, PRICES, today=TODAY)
    assert ledger.priced
    assert [(r.day.isoformat(), r.server, r.assistant_id) for r in ledger.rows] == [
        ("2025-04-02", "s", "helper"),
        ("2025-04-01", "s", "other"),
        ("2025-03-31", "t", "helper"),
        ("2025-03-30", "s", "helper"),
    ]
    first, unpriced, monday, sunday = ledger.rows
    assert figures(first) == (3, 3000, 600, 1400, 3600)  # two models in one row
    assert first.assistant_name == "Helper"
    assert first.cost == pytest.approx(0.0076)
    assert unpriced.cost is None
    assert monday.cost == pytest.approx(0.012)
    assert sunday.cost == pytest.approx(0.000003)
    assert figures(ledger.today) == (3, 3000, 600, 1400, 3600)
    assert ledger.today.cost == pytest.approx(0.0076)
    # The week: Monday 31 March on (the Sunday before is out), across the month's start.
    assert figures(ledger.this_week) == (8, 13_100, 1_700, 1_400, 14_800)
    assert ledger.this_week.cost == pytest.approx(0.0196)
    # The month: 1 April on (Monday 31 March is out).
    assert figures(ledger.this_month) == (4, 3_100, 700, 1_400, 3_800)
    assert ledger.this_month.cost == pytest.approx(0.0076)
    assert figures(ledger.listed) == (13, 13_101, 1_701, 1_400, 14_807)
    assert ledger.listed.cost == pytest.approx(0.019603)


def test_without_prices_every_cost_is_none() -> None:
    for prices in ({}, {"someone-else": ModelPrice(input=1, output=1)}):
        ledger = build_ledger(GROUPS, prices, today=TODAY)
        assert not ledger.priced
        assert {r.cost for r in ledger.rows} == {None}
        assert {t.cost for t in (ledger.listed, ledger.today, ledger.this_week, ledger.this_month)} == {None}
        assert figures(ledger.this_week) == (8, 13_100, 1_700, 1_400, 14_800)


def test_a_priced_ledger_costs_an_empty_period_nothing() -> None:
    ledger = build_ledger(GROUPS, PRICES, today=date(2025, 5, 20))
    assert figures(ledger.today) == (0, 0, 0, 0, 0)
    assert ledger.today.cost == 0.0
    assert ledger.this_month.cost == 0.0


def test_since_lists_fewer_rows_and_leaves_the_totals_whole() -> None:
    since = date(2025, 4, 1)
    assert fetch_from(since, TODAY) == date(2025, 3, 31)  # this week began before it
    assert fetch_from(date(2025, 1, 1), TODAY) == date(2025, 1, 1)
    assert fetch_from(None, TODAY) is None
    ledger = build_ledger(GROUPS, PRICES, today=TODAY, since=since)
    assert [r.day for r in ledger.rows] == [TODAY, since]
    assert figures(ledger.listed) == (4, 3_100, 700, 1_400, 3_800)
    assert figures(ledger.this_week) == (8, 13_100, 1_700, 1_400, 14_800)
    assert ledger.since == since


@pytest.mark.parametrize(
    ("today", "in_week", "in_month"),
    [
        # Saturday 1 March: the week began in February (24th), the month today.
        (date(2025, 3, 1), ["2025-02-24", "2025-02-28", "2025-03-01"], ["2025-03-01"]),
        # Monday 3 March: the week begins today (Sunday 2 March is out), the month two days before.
        (date(2025, 3, 3), ["2025-03-03"], ["2025-03-01", "2025-03-02", "2025-03-03"]),
        # Sunday 9 March: the last day of the week that began on the 3rd.
        (
            date(2025, 3, 9),
            ["2025-03-03", "2025-03-09"],
            ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-09"],
        ),
        # Wednesday 1 January: the ISO week began on Monday 30 December, in the year before.
        (date(2025, 1, 1), ["2024-12-30", "2024-12-31", "2025-01-01"], ["2025-01-01"]),
    ],
)
def test_week_and_month_boundaries(today: date, in_week: list[str], in_month: list[str]) -> None:
    days = [
        "2024-12-29", "2024-12-30", "2024-12-31", "2025-01-01", "2025-02-23", "2025-02-24",
        "2025-02-28", "2025-03-01", "2025-03-02", "2025-03-03", "2025-03-09",
    ]  # fmt: skip
    # Each day's answers count 10 ** (its position): a total says exactly which days it holds.
    groups = [group(day, "s", "a", None, 1, 10**n, 0, 0, 10**n) for n, day in enumerate(days)]
    groups = [g for g in groups if g.day <= today.isoformat()][::-1]
    ledger = build_ledger(groups, {}, today=today)

    def held(total: UsageTotals) -> list[str]:
        return [day for n, day in enumerate(days) if total.input_tokens // 10**n % 10]

    assert held(ledger.this_week) == in_week
    assert held(ledger.this_month) == in_month
    assert held(ledger.today) == [today.isoformat()]


def test_conversation_usage_adds_every_answer_of_every_branch() -> None:
    conv = conversation("c1", assistant_id="helper")
    conv.messages = [
        message(0, usage=Usage(input_tokens=99, output_tokens=99)),  # a user message: not an answer
        message(1, role="assistant", usage=Usage(input_tokens=1000, output_tokens=500, cached_tokens=400),
                metadata={"model": "gpt"}),
        message(2, role="assistant", usage=Usage(input_tokens=2000, output_tokens=100, cached_tokens=1000)),
        message(3, role="assistant"),  # no usage reported
        message(4, role="assistant", usage=Usage(total_tokens=70), metadata={"model": 5}),
        message(5, role="assistant", parent_id=message(0).id, usage=Usage(input_tokens=10, output_tokens=5,
                total_tokens=20)),
        # Copied from another chat (a fork's): the original spent and counts its tokens.
        message(6, role="assistant", usage=Usage(input_tokens=5000, output_tokens=5000),
                metadata={COPY_OF: "elsewhere", "model": "gpt"}),
    ]  # fmt: skip
    totals = conversation_usage(conv)
    assert figures(totals) == (5, 3010, 605, 1400, 1500 + 2100 + 0 + 70 + 20)
    assert totals.cost is None
    priced = conversation_usage(conv, PRICES)
    assert figures(priced) == figures(totals)
    # gpt by model; the others by the assistant id (a model that is not a string is no model).
    assert priced.cost == pytest.approx(0.0054 + 0.0022 + (10 * 1 + 5 * 2) / 1e6)
    assert conversation_usage(conv, {"nothing": ModelPrice(input=1, output=1)}).cost is None
    assert conversation_usage(conversation("empty")) == UsageTotals()


# --- read from the index ----------------------------------------------------------------------------


def answer(index: int, when: datetime, usage: Usage | None, model: str | None = None) -> StoredMessage:
    found = message(index, role="assistant", usage=usage, metadata={"model": model} if model else {})
    found.created_at = when
    return found


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TranscriptStore]:
    store = TranscriptStore(tmp_path / "transcripts")
    yield store
    store.close()


def usage_history(store: TranscriptStore) -> None:
    """Two chats: one on server s (answers late on 1 March UTC, one of them already 2 March in CET,
    and one the day after), one on server t; every answer's usage known in part or whole."""
    first = conversation("c1", server="s", assistant_id="helper", assistant_name="Helper")
    first.messages = [
        message(0),
        answer(1, datetime(2025, 3, 1, 22, 30, tzinfo=UTC), Usage(input_tokens=100, output_tokens=10), "gpt"),
        answer(2, datetime(2025, 3, 1, 23, 30, tzinfo=UTC), Usage(input_tokens=200, output_tokens=20,
               cached_tokens=50), "gpt"),
        answer(3, datetime(2025, 3, 2, 9, 0, tzinfo=UTC), Usage(total_tokens=33)),
    ]  # fmt: skip
    second = conversation("c2", server="t", assistant_id="helper", assistant_name="Helper")
    second.messages = [message(0), answer(1, datetime(2025, 3, 2, 10, 0, tzinfo=UTC), None)]
    store.save(first)
    store.save(second)
    # A fork of the first chat: its copied answers cost nothing more and are not counted again.
    fork = first.model_copy(deep=True, update={"id": "c1-fork"})
    for copied in fork.messages:
        copied.metadata = {**copied.metadata, COPY_OF: copied.id}
    store.save(fork)


@pytest.mark.usefixtures("central_europe")
def test_the_index_groups_answers_by_local_day(store: TranscriptStore) -> None:
    usage_history(store)
    assert store.usage_groups() == [
        UsageGroup("2025-03-02", "s", "helper", "Helper", None, 1, 0, 0, 0, 33),
        UsageGroup("2025-03-02", "s", "helper", "Helper", "gpt", 1, 200, 20, 50, 220),
        UsageGroup("2025-03-02", "t", "helper", "Helper", None, 1, 0, 0, 0, 0),
        UsageGroup("2025-03-01", "s", "helper", "Helper", "gpt", 1, 100, 10, 0, 110),
    ]
    # From local midnight of 2 March: 23:30 UTC on the 1st is in, 22:30 is not.
    since = store.usage_groups(since=date(2025, 3, 2))
    assert {g.day for g in since} == {"2025-03-02"}
    assert sum(g.answers for g in since) == 3
    assert [g.server for g in store.usage_groups(server="t")] == ["t"]


@pytest.mark.usefixtures("central_europe")
def test_a_message_saved_again_replaces_its_figures(store: TranscriptStore) -> None:
    usage_history(store)
    conv = store.load("c2")
    late = conv.messages[-1].model_copy(update={"usage": Usage(input_tokens=7, output_tokens=3)})
    conv.messages[-1] = late
    store.save_message(conv, late, final=True)  # the index's update path
    extra = answer(9, datetime(2025, 3, 2, 11, 0, tzinfo=UTC), Usage(output_tokens=5), "gpt")
    conv.messages.append(extra)
    store.save_message(conv, extra, final=True)  # its insert path
    groups = store.usage_groups(server="t")
    found = {(g.model, g.answers, g.input_tokens, g.output_tokens, g.total_tokens) for g in groups}
    assert found == {(None, 1, 7, 3, 10), ("gpt", 1, 0, 5, 5)}


@pytest.mark.usefixtures("central_europe")
def test_an_index_without_the_usage_columns_is_rebuilt(tmp_path: Path) -> None:
    store = TranscriptStore(tmp_path / "transcripts")
    usage_history(store)
    before = store.usage_groups()
    store.close()
    # An index of the version before: the same tables without the usage columns.
    with contextlib.closing(sqlite3.connect(store.index_path)) as db:
        for column in ("input_tokens", "output_tokens", "cached_tokens", "total_tokens", "model"):
            db.execute(f"ALTER TABLE messages DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 4")
        db.commit()
    again = TranscriptStore(tmp_path / "transcripts")
    assert again.usage_groups() == before
    assert any("from an older version" in notice for notice in again.notices)
    again.close()


@pytest.mark.usefixtures("central_europe")
async def test_the_service_prices_the_ledger(store: TranscriptStore, monkeypatch: pytest.MonkeyPatch) -> None:
    usage_history(store)

    class Today(date):
        @classmethod
        def today(cls) -> Today:
            return cls(2025, 3, 2)  # a Sunday: the week began on 24 February, the month on the 1st

    monkeypatch.setattr(service_module, "date", Today)
    service = ChatService(Settings(prices=PRICES), store=store)
    ledger = await service.usage()
    # A fork made through the service copies answers; the ledger stays as it was.
    await service.fork(await service.open("c1"), "m00003")
    assert await service.usage() == ledger
    assert ledger.priced
    assert [(r.day.isoformat(), r.server) for r in ledger.rows] == [
        ("2025-03-02", "s"),
        ("2025-03-02", "t"),
        ("2025-03-01", "s"),
    ]
    s_today = ledger.rows[0]
    assert figures(s_today) == (2, 200, 20, 50, 253)
    # gpt: 150 uncached x 2 + 50 cached x 0.5 + 20 out x 8; the 33 tokens known only as a total: free.
    assert s_today.cost == pytest.approx((150 * 2 + 50 * 0.5 + 20 * 8) / 1e6)
    assert ledger.rows[1].cost == 0.0  # helper's price, no tokens known
    assert figures(ledger.today) == (3, 200, 20, 50, 253)
    assert figures(ledger.this_week) == figures(ledger.this_month) == (4, 300, 30, 50, 363)
    assert ledger.this_month.cost == pytest.approx((150 * 2 + 50 * 0.5 + 20 * 8 + 100 * 2 + 10 * 8) / 1e6)
    only_t = await service.usage(server="t", since=date(2025, 3, 2))
    assert [r.server for r in only_t.rows] == ["t"]
    assert only_t.server == "t"
    assert figures(only_t.this_month) == (1, 0, 0, 0, 0)
    unpriced = await ChatService(Settings(), store=store).usage()
    assert not unpriced.priced
    assert unpriced.this_month.cost is None
