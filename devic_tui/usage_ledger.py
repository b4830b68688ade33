"""The usage ledger: what the answers' tokens added up to, and what they cost where prices are
configured. Headless (no Textual): `devic-tui usage` and the app read the ledger through
`ChatService.usage`, the chat header a conversation's figures through `conversation_usage`.

A ledger row holds the answers of one local day, server and assistant; its totals are today, this
week (ISO: from Monday) and this month, in local time, whatever `since` lists. An answer is any
assistant message, on any branch, archived chats included, but a copy (`records.COPY_OF`: a fork's or
a duplicate's messages, whose tokens the original spent and counts); tokens its server did not
report count as 0, and its total is the server's total, else its input plus output.

Cost comes from `Settings.prices` (per million tokens), looked up by the answer's model, else by the
conversation's assistant id: cached input tokens (counted in the input too) at `cached_input` (else
the input price), the rest of the input at `input`, the output at `output`; tokens known only as a
total are not priced. A row none of whose answers has a price costs None; with no price for any
row, every cost is None (and no cost is shown). Totals add up the rows that have a price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from devic_tui.config import ModelPrice
    from devic_tui.records import Conversation
    from devic_tui.store.index import UsageGroup

PER_TOKENS = 1_000_000
"""Prices are per this many tokens."""


class UsageTotals(BaseModel):
    """Answers and their tokens added up; `cost` None where no answer among them has a price."""

    model_config = ConfigDict(frozen=True)

    answers: int = 0
    input_tokens: int = 0
    """Input (prompt) tokens, the cached ones included."""
    output_tokens: int = 0
    cached_tokens: int = 0
    """Input tokens the server read from its prompt cache."""
    total_tokens: int = 0
    cost: float | None = None


class UsageRow(UsageTotals):
    """The answers of one local day, server and assistant."""

    day: date
    server: str
    assistant_id: str
    assistant_name: str = ""


class UsageLedger(BaseModel):
    """Rows newest day first (then by server and assistant), and the totals of the periods."""

    model_config = ConfigDict(frozen=True)

    rows: list[UsageRow]
    listed: UsageTotals
    """The rows together."""
    today: UsageTotals
    this_week: UsageTotals
    """From Monday (ISO week) on."""
    this_month: UsageTotals
    as_of: date
    """The local date the periods were counted on."""
    since: date | None = None
    server: str | None = None
    priced: bool = False
    """Whether any answer has a price (otherwise every cost is None)."""


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())


def month_start(today: date) -> date:
    return today.replace(day=1)


def fetch_from(since: date | None, today: date) -> date | None:
    """The first day the ledger needs answers of: `since`, or earlier for this week's and this
    month's totals; None (from the start) when `since` is None."""
    if since is None:
        return None
    return min(since, week_start(today), month_start(today))


def price_for(prices: Mapping[str, ModelPrice], model: str | None, assistant_id: str) -> ModelPrice | None:
    """The price of an answer: its model's, else its conversation's assistant's."""
    if model is not None and model in prices:
        return prices[model]
    return prices.get(assistant_id)


def cost_of(price: ModelPrice, input_tokens: int, output_tokens: int, cached_tokens: int) -> float:
    """What these tokens cost: the cached ones out of the input, at the cached price."""
    cached_price = price.input if price.cached_input is None else price.cached_input
    uncached = max(input_tokens - cached_tokens, 0)
    spent = uncached * price.input + cached_tokens * cached_price + output_tokens * price.output
    return spent / PER_TOKENS


@dataclass
class _Sum:
    """UsageTotals being added up."""

    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None

    def add(
        self, answers: int, input_tokens: int, output_tokens: int, cached: int, total: int, cost: float | None
    ) -> None:
        self.answers += answers
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cached_tokens += cached
        self.total_tokens += total
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost

    def add_group(self, group: UsageGroup, cost: float | None) -> None:
        self.add(
            group.answers,
            group.input_tokens,
            group.output_tokens,
            group.cached_tokens,
            group.total_tokens,
            cost,
        )

    def figures(self) -> dict[str, int]:
        return {
            "answers": self.answers,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_tokens": self.cached_tokens,
            "total_tokens": self.total_tokens,
        }

    def totals(self, priced: bool) -> UsageTotals:
        """Its figures; the cost of its priced answers (0.0 for none) when `priced`, else None."""
        return UsageTotals(**self.figures(), cost=(self.cost or 0.0) if priced else None)


def build_ledger(
    groups: Iterable[UsageGroup],
    prices: Mapping[str, ModelPrice],
    *,
    today: date,
    since: date | None = None,
    server: str | None = None,
) -> UsageLedger:
    """The ledger of these groups (`TranscriptStore.usage_groups`, newest day first, fetched from
    `fetch_from(since, today)` on): rows from `since` on, totals of the periods ending `today`."""
    week, month = week_start(today), month_start(today)
    rows: dict[tuple[date, str, str], tuple[_Sum, str]] = {}
    listed, today_sum, week_sum, month_sum = _Sum(), _Sum(), _Sum(), _Sum()
    priced = False
    for group in groups:
        day = date.fromisoformat(group.day)
        price = price_for(prices, group.model, group.assistant_id)
        cost = None
        if price is not None:
            priced = True
            cost = cost_of(price, group.input_tokens, group.output_tokens, group.cached_tokens)
        if since is None or day >= since:
            key = (day, group.server, group.assistant_id)
            if key not in rows:
                rows[key] = (_Sum(), group.assistant_name)
            rows[key][0].add_group(group, cost)
            listed.add_group(group, cost)
        for start, total in ((today, today_sum), (week, week_sum), (month, month_sum)):
            if day >= start:
                total.add_group(group, cost)
    return UsageLedger(
        rows=[
            UsageRow(
                day=day,
                server=server_name,
                assistant_id=assistant_id,
                assistant_name=name,
                **summed.figures(),
                cost=summed.cost,
            )
            for (day, server_name, assistant_id), (summed, name) in rows.items()
        ],
        listed=listed.totals(priced),
        today=today_sum.totals(priced),
        this_week=week_sum.totals(priced),
        this_month=month_sum.totals(priced),
        as_of=today,
        since=since,
        server=server,
        priced=priced,
    )


def conversation_usage(
    conversation: Conversation, prices: Mapping[str, ModelPrice] | None = None
) -> UsageTotals:
    """Every answer of the conversation (all its branches; not those copied from another chat)
    added up, priced by `prices` (the answer's model, else the conversation's assistant); cost None
    when none has a price."""
    summed = _Sum()
    for message in conversation.messages:
        if message.role != "assistant" or message.is_copy:
            continue
        usage = message.usage
        if usage is None:
            summed.add(1, 0, 0, 0, 0, None)
            continue
        input_tokens, output_tokens = usage.input_tokens or 0, usage.output_tokens or 0
        cached = usage.cached_tokens or 0
        cost = None
        if prices:
            price = price_for(prices, message.model, conversation.assistant_id)
            if price is not None:
                cost = cost_of(price, input_tokens, output_tokens, cached)
        summed.add(1, input_tokens, output_tokens, cached, usage.total or 0, cost)
    return summed.totals(summed.cost is not None)
