"""`devic-tui chats`: the conversations in local history, newest first (archived ones apart, with
`--archived`; by tag with `--tag`), or full-text search hits (archived chats included), with the
search box's filters (`server:`, `assistant:`, `tag:`, `since:`, `until:`)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import EXIT_OK, EXIT_USAGE, CliError, print_json, table, when
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
    chats.add_argument(
        "--archived", action="store_true", help="only archived conversations (hidden from the list otherwise)"
    )
    chats.add_argument("-t", "--tag", metavar="NAME", help="only conversations with this tag (any case)")
    chats.add_argument(
        "--search",
        metavar="TEXT",
        help="full-text search of every message, archived chats included; filters as in the app's "
        "search: server:NAME assistant:NAME tag:NAME since:YYYY-MM-DD until:YYYY-MM-DD",
    )
    chats.add_argument("--limit", type=int, default=50, help="at most this many search hits (default 50)")
    chats.add_argument("--json", action="store_true", help="print JSON")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run(args: argparse.Namespace) -> int:
    import asyncio

    session = Session.from_args(args)
    try:
        service = session.service()
        server = session.server_name(args.server) if args.server else None
        if args.search:
            return _search(args, service, server)
        listed = asyncio.run(service.chats(server=server, tag=args.tag, archived=args.archived))
        summaries = [
            s for s in listed if not args.assistant or args.assistant in (s.assistant_id, s.assistant_name)
        ]
        if args.json:
            print_json([s.model_dump(mode="json") for s in summaries])
        elif not summaries:
            which = "archived conversations" if args.archived else "conversations"
            which += f" tagged {_one_line(args.tag)!r}" if args.tag else ("" if args.archived else " yet")
            print(f"devic-tui: no {which}", file=sys.stderr)
        else:
            rows = [
                [
                    s.id,
                    when(s.updated_at),
                    str(s.message_count),
                    f"{s.server}/{s.assistant_name or s.assistant_id}",
                    _one_line(",".join(s.tags)),
                    _one_line(s.title) or "(untitled)",
                ]
                for s in summaries
            ]
            print(table(rows, ["ID", "UPDATED", "MSGS", "ASSISTANT", "TAGS", "TITLE"]))
        return EXIT_OK
    finally:
        session.close()


def _search(args: argparse.Namespace, service: ChatService, server: str | None) -> int:
    import asyncio

    from devic_tui.search_query import parse_search

    query = parse_search(args.search)
    if args.archived:
        raise CliError("--search finds archived chats too (marked so): leave out --archived", EXIT_USAGE)
    if query.problems:
        raise CliError("; ".join(query.problems), EXIT_USAGE)
    if not query.text.strip():
        raise CliError(
            "no words to search for (to list chats by tag alone: `devic-tui chats --tag NAME`)", EXIT_USAGE
        )
    options = {"server": server, "assistant": args.assistant, "tag": args.tag}
    query = query.model_copy(update={name: value for name, value in options.items() if value})
    found = service.search(query, limit=args.limit)
    hits = asyncio.run(found)
    if args.json:
        print_json([_hit_json(hit) for hit in hits])
        return EXIT_OK
    if not hits:
        print(f"devic-tui: nothing matches {args.search!r}", file=sys.stderr)
        return EXIT_OK
    for hit in hits:
        tags = f"  [{_one_line(','.join(hit.tags))}]" if hit.tags else ""
        archived = "  (archived)" if hit.archived else ""
        where = f"{hit.server}/{hit.assistant_id}"
        print(f"{hit.conversation_id}  {when(hit.created_at)}  {where}  {hit.title}{tags}{archived}")
        print(f"    {hit.role}: {_one_line(hit.snippet)}")
    return EXIT_OK


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return asdict(hit)
