"""`devic-tui usage` over a history written through the real store: the table (a cost column only
with prices), --json, --since and --server, names from servers made harmless, usage errors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from devic_tui import locations
from devic_tui.models import Usage
from devic_tui.records import Conversation, StoredMessage
from devic_tui.store.transcripts import TranscriptStore
from tests.cli.conftest import Result

CET = "CET-1CEST,M3.5.0,M10.5.0/3"
PRICES = {"gpt": {"input": 2.0, "output": 8.0, "cached_input": 0.5}}
EVIL_NAME = "Le\x1b[31mgacy\x07\nX"


class Today(date):
    @classmethod
    def today(cls) -> Today:
        return cls(2025, 3, 2)  # a Sunday: the week began on 24 February


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time CET, today 2 March 2025."""
    monkeypatch.setenv("TZ", CET)
    time.tzset()
    monkeypatch.setattr("devic_tui.service.date", Today)
    yield
    monkeypatch.undo()
    time.tzset()


def chat(
    cid: str, server: str, assistant: str, name: str, answers: list[tuple[datetime, Usage, str]]
) -> Conversation:
    start = answers[-1][0]
    conv = Conversation(
        id=cid,
        title=f"chat {cid}",
        server=server,
        assistant_id=assistant,
        assistant_name=name,
        created_at=start,
        updated_at=answers[0][0],
    )
    for n, (when, usage, model) in enumerate(reversed(answers)):
        conv.messages.append(StoredMessage(id=f"q{n}", role="user", content="question", created_at=when))
        conv.messages.append(
            StoredMessage(
                id=f"a{n}",
                role="assistant",
                content="answer",
                created_at=when,
                usage=usage,
                metadata={"model": model} if model else {},
            )
        )
    return conv


@pytest.fixture
def history() -> None:
    """emu/echo: an answer today by gpt (cached tokens among its input) and one yesterday by an
    unpriced model; `old` (a server no longer configured): one in February, under a name with
    escape sequences, a bell and a newline in it."""
    store = TranscriptStore(locations.transcripts_dir())
    today = (
        datetime(2025, 3, 2, 9, tzinfo=UTC),
        Usage(input_tokens=1000, output_tokens=200, cached_tokens=400),
    )
    yesterday = (datetime(2025, 3, 1, 12, tzinfo=UTC), Usage(input_tokens=500, output_tokens=50))
    store.save(chat("e1", "emu", "echo", "Echo", [(*today, "gpt"), (*yesterday, "")]))
    store.save(
        chat(
            "o1",
            "old",
            "legacy",
            EVIL_NAME,
            [(datetime(2025, 2, 20, 10, 0, tzinfo=UTC), Usage(input_tokens=3000, output_tokens=300), "")],
        )
    )
    store.close()


@pytest.mark.usefixtures("history")
def test_the_table_with_prices(write_config: Callable[..., Path], cli: Callable[..., Result]) -> None:
    done = cli("--config", write_config(prices=PRICES), "usage")
    assert done.code == 0, done.err
    assert "\x1b" not in done.out
    assert "\x07" not in done.out
    assert done.out.splitlines() == [
        "DAY         ASSISTANT           ANSWERS  INPUT  CACHED  OUTPUT  TOTAL    COST",
        "2025-03-02  emu/Echo                  1  1,000     400     200  1,200  0.0030",
        "2025-03-01  emu/Echo                  1    500       0      50    550       -",
        "2025-02-20  old/Le␛[31mgacy␇ X        1  3,000       0     300  3,300       -",
        "",
        "all days                              3  4,500     400     550  5,050  0.0030",
        "today                                 1  1,000     400     200  1,200  0.0030",
        "this week                             2  1,500     400     250  1,750  0.0030",
        "this month                            2  1,500     400     250  1,750  0.0030",
    ]


@pytest.mark.usefixtures("history")
def test_no_prices_no_cost_column(write_config: Callable[..., Path], cli: Callable[..., Result]) -> None:
    done = cli("--config", write_config(), "usage")
    assert done.code == 0, done.err
    header, *rows = done.out.splitlines()
    assert header.split() == ["DAY", "ASSISTANT", "ANSWERS", "INPUT", "CACHED", "OUTPUT", "TOTAL"]
    assert "COST" not in done.out
    assert rows[-1].split() == ["this", "month", "2", "1,500", "400", "250", "1,750"]


@pytest.mark.usefixtures("history")
def test_json_since_and_server(write_config: Callable[..., Path], cli: Callable[..., Result]) -> None:
    config = write_config(prices=PRICES)
    ledger = json.loads(cli("--config", config, "usage", "--json").out)
    assert ledger["priced"] is True
    assert ledger["as_of"] == "2025-03-02"
    assert [(r["day"], r["server"], r["assistant_name"], r["cost"]) for r in ledger["rows"]] == [
        ("2025-03-02", "emu", "Echo", pytest.approx(0.003)),
        ("2025-03-01", "emu", "Echo", None),
        ("2025-02-20", "old", EVIL_NAME, None),  # JSON keeps the name as it is (escaped by JSON)
    ]
    assert ledger["this_week"] == {
        "answers": 2,
        "input_tokens": 1500,
        "output_tokens": 250,
        "cached_tokens": 400,
        "total_tokens": 1750,
        "cost": pytest.approx(0.003),
    }
    since = json.loads(cli("--config", config, "usage", "--since", "2025-03-01", "--json").out)
    assert [r["day"] for r in since["rows"]] == ["2025-03-02", "2025-03-01"]
    assert since["since"] == "2025-03-01"
    assert since["listed"]["answers"] == 2
    # A server no longer in the config, its chats still in history.
    old = json.loads(cli("--config", config, "usage", "-s", "old", "--json").out)
    assert [r["server"] for r in old["rows"]] == ["old"]
    assert old["this_month"]["answers"] == 0
    shown = cli("--config", config, "usage", "--since", "2025-03-02")
    lines = shown.out.splitlines()
    assert lines[1].split()[:2] == ["2025-03-02", "emu/Echo"]
    assert lines[2] == ""
    assert "since 2025-03-02" in shown.out


def test_usage_errors_and_an_empty_history(
    write_config: Callable[..., Path], cli: Callable[..., Result]
) -> None:
    config = write_config()
    bad = cli("--config", config, "usage", "--since", "last tuesday")
    assert bad.code == 2
    assert bad.err == "devic-tui: --since 'last tuesday' is not a date like 2026-11-25\n"
    assert cli("--config", config, "usage", "--since", "2025-02-30").code == 2
    unknown = cli("--config", config, "usage", "--server", "nope")
    assert unknown.code == 2
    assert "no server named 'nope'" in unknown.err
    empty = cli("--config", config, "usage")
    assert empty.code == 0
    assert empty.out == ""
    assert empty.err == "devic-tui: no answers yet\n"
    assert json.loads(cli("--config", config, "usage", "--json").out)["rows"] == []
