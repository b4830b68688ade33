"""`devic-tui chats`: the conversations in local history, newest first, or full-text search hits."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import EXIT_OK, print_json, table, when
from devic_tui.commands.session import Session

if TYPE_CHECKING:
    from devic_tui.records import SearchHit
    from devic_tui.service import ChatService


def add_parser(commands: Any) -> None:
    chats = commands.add_parser(
        "chats", help="list conversations, or search them", description="List saved conversations."
    )
    chats.add_argument("-s", "--server", help="only this server's conversations")
    chats.add_argument("-a", "--assistant", help="only conversations with this assistant (id or name)")
    chats.add_argument("--search", metavar="TEXT", help="full-text search of every message")
    chats.add_argument("--limit", type=int, default=50, help="at most this many search hits (default 50)")
    chats.add_argument("--json", action="store_true", help="print JSON")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run(args: argparse.Namespace) -> int:
    session = Session.from_args(args)
    try:
        store = session.store()
        server = session.server_name(args.server) if args.server else None
        if args.search:
            return _search(args, session.service(), server)
        summaries = [
            s
            for s in store.summaries(server=server)
            if not args.assistant or args.assistant in (s.assistant_id, s.assistant_name)
        ]
        if args.json:
            print_json([s.model_dump(mode="json") for s in summaries])
        elif not summaries:
            print("devic-tui: no conversations yet", file=sys.stderr)
        else:
            rows = [
                [
                    s.id,
                    when(s.updated_at),
                    str(s.message_count),
                    f"{s.server}/{s.assistant_name or s.assistant_id}",
                    _one_line(s.title) or "(untitled)",
                ]
                for s in summaries
            ]
            print(table(rows, ["ID", "UPDATED", "MSGS", "ASSISTANT", "TITLE"]))
        return EXIT_OK
    finally:
        session.close()


def _search(args: argparse.Namespace, service: ChatService, server: str | None) -> int:
    found = service.search(args.search, server=server, assistant_id=args.assistant, limit=args.limit)
    hits = asyncio.run(found)
    if args.json:
        print_json([_hit_json(hit) for hit in hits])
        return EXIT_OK
    if not hits:
        print(f"devic-tui: nothing matches {args.search!r}", file=sys.stderr)
        return EXIT_OK
    for hit in hits:
        print(f"{hit.conversation_id}  {when(hit.created_at)}  {hit.server}/{hit.assistant_id}  {hit.title}")
        print(f"    {hit.role}: {_one_line(hit.snippet)}")
    return EXIT_OK


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return asdict(hit)
