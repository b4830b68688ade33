"""`devic-tui usage`: the tokens the answers used, per day and assistant (newest day first), then the
totals of today, this week and this month (local time), with what they cost when the config has
`prices` (`devic_tui.usage_ledger` says how it is counted)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import EXIT_OK, EXIT_USAGE, CliError, print_json, table
from devic_tui.commands.session import Session
from devic_tui.text_safety import clip
from devic_tui.text_safety import one_line as visible_line

if TYPE_CHECKING:
    from devic_tui.usage_ledger import UsageLedger, UsageTotals

NAME_WIDTH = 40
"""At most this many characters of `server/assistant` in the table."""
HEADERS = ["DAY", "ASSISTANT", "ANSWERS", "INPUT", "CACHED", "OUTPUT", "TOTAL"]
FIRST_NUMBER = 2
"""The columns from this one on hold numbers, right-aligned."""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "usage",
        help="tokens used per day and assistant, and their cost",
        description="The tokens your answers used, per day and assistant (newest first), from local "
        "history (archived chats and every branch included), then today's, this week's (from "
        "Monday) and this month's totals. INPUT counts the CACHED tokens too. With `prices` in the "
        "config (per million tokens, by model or assistant id), a COST column too.",
    )
    parser.add_argument(
        "--since",
        metavar="DATE",
        help="only the days from this one on (YYYY-MM-DD, local time); the totals stay whole",
    )
    parser.add_argument("-s", "--server", help="only this server's chats")
    parser.add_argument("--json", action="store_true", help="print JSON")


def parse_day(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CliError(f"--since {value!r} is not a date like 2026-11-25", EXIT_USAGE) from None


def _server(session: Session, name: str) -> str:
    """The server `--server` means: a configured one, or one the history still holds chats of."""
    try:
        return session.server_name(name)
    except CliError:
        if session.store().summaries(server=name, include_archived=True, limit=1):
            return name
        raise


def run(args: argparse.Namespace) -> int:
    import asyncio

    since = parse_day(args.since) if args.since is not None else None
    session = Session.from_args(args)
    try:
        server = _server(session, args.server) if args.server else None
        ledger = asyncio.run(session.service().usage(since=since, server=server))
    finally:
        session.close()
    if args.json:
        print_json(ledger.model_dump(mode="json"))
    elif not ledger.rows and not any(t.answers for t in (ledger.today, ledger.this_week, ledger.this_month)):
        which = f" since {since.isoformat()}" if since else " yet"
        where = f" on {visible_line(server)}" if server else ""
        print(f"devic-tui: no answers{where}{which}", file=sys.stderr)
    else:
        print(usage_table(ledger))
    return EXIT_OK


def _figures(totals: UsageTotals, priced: bool) -> list[str]:
    cells = [
        f"{totals.answers:,}",
        f"{totals.input_tokens:,}",
        f"{totals.cached_tokens:,}",
        f"{totals.output_tokens:,}",
        f"{totals.total_tokens:,}",
    ]
    if priced:
        cells.append("-" if totals.cost is None else f"{totals.cost:,.4f}")
    return cells


def usage_table(ledger: UsageLedger) -> str:
    """The rows, a blank line, then the totals (all the rows', today's, this week's, this month's);
    every name a server gave made visible on one line."""
    headers = HEADERS + (["COST"] if ledger.priced else [])
    rows = [
        [
            row.day.isoformat(),
            clip(visible_line(f"{row.server}/{row.assistant_name or row.assistant_id}"), NAME_WIDTH),
            *_figures(row, ledger.priced),
        ]
        for row in ledger.rows
    ]
    periods = [
        (f"since {ledger.since.isoformat()}" if ledger.since else "all days", ledger.listed),
        ("today", ledger.today),
        ("this week", ledger.this_week),
        ("this month", ledger.this_month),
    ]
    totals = [[label, "", *_figures(totals, ledger.priced)] for label, totals in periods]
    return table([*rows, None, *totals], headers, numbers_from=FIRST_NUMBER)
