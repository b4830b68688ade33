"""`devic-tui knowledge list|add|refresh|remove`: the data sources an assistant draws on (the Devs
platform's files, web pages and JSON), listed as a table or JSON, added, refreshed and removed, with
`--wait` following the indexing until it ends; a file's upload shows its progress on a terminal.
Everything goes through the ChatService."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from devic_tui.commands.output import (
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    CliError,
    beneath,
    is_terminal,
    print_json,
    table,
    when,
)
from devic_tui.commands.session import Session
from devic_tui.text_safety import one_line

if TYPE_CHECKING:
    from devic_tui.knowledge_models import DataSource, RefreshPeriod
    from devic_tui.service import ChatService

T = TypeVar("T")

REFRESH_CHOICES = ("never", "daily", "weekly", "monthly")
HEADERS = ["ID", "NAME", "TYPE", "STATUS", "PERCENT", "REFRESH", "LAST INDEXED"]


def add_parser(commands: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-s", "--server", help="the server (default: the default server)")
    common.add_argument("-a", "--assistant", required=True, metavar="AI", help="the assistant's id")
    common.add_argument("--json", action="store_true", help="print JSON")
    parser = commands.add_parser(
        "knowledge",
        help="list, add, refresh or remove an assistant's knowledge (Devs)",
        description="The data sources an assistant draws on: files, web pages and JSON data the "
        "server indexes (servers of kind devs).",
    )
    actions = parser.add_subparsers(dest="knowledge_command", metavar="ACTION", required=True)
    actions.add_parser(
        "list", parents=[common], help="list the data sources", description="List the data sources."
    )
    add = actions.add_parser(
        "add",
        parents=[common],
        help="add files, web pages or JSON data",
        description="Add files (text, Markdown, CSV, PDF, EPUB, DOCX or JSON, each at most 4.5 MB, "
        "checked before anything is sent), web pages (--url, repeatable) or a JSON object "
        "(--json-data FILE).",
    )
    add.add_argument("files", nargs="*", type=Path, metavar="FILE", help="files to add")
    add.add_argument("--url", action="append", default=[], help="a web page to add (repeatable)")
    add.add_argument(
        "--refresh", choices=REFRESH_CHOICES, default="never", help="how often web pages are read again"
    )
    add.add_argument("--json-data", type=Path, metavar="FILE", help="a file holding a JSON object to add")
    add.add_argument("--name", help="the name of the --json-data source (default: the file's name)")
    add.add_argument("--wait", action="store_true", help="show the indexing until it ends")
    refresh = actions.add_parser(
        "refresh", parents=[common], help="index a data source again", description="Index a source again."
    )
    refresh.add_argument("source", metavar="SOURCE_ID", help="the data source (see `knowledge list`)")
    refresh.add_argument("--wait", action="store_true", help="show the indexing until it ends")
    remove = actions.add_parser(
        "remove", parents=[common], help="remove a data source", description="Remove a data source."
    )
    remove.add_argument("source", metavar="SOURCE_ID", help="the data source (see `knowledge list`)")


def with_service(args: argparse.Namespace, work: Callable[[ChatService, str], Awaitable[T]]) -> T:
    """Run `work(service, server)` for the server `--server` names, then close everything."""
    import asyncio

    from devic_tui.service import ChatService

    session = Session.from_args(args)
    try:
        server = session.server_name(args.server)
        service = ChatService(session.expanded([server]), store=session.store())

        async def run() -> T:
            try:
                return await work(service, server)
            finally:
                await service.aclose()
                session.store_closed()

        return asyncio.run(run())
    finally:
        session.close()


def _percent(source: DataSource) -> str:
    return "" if source.index_percentage is None else f"{source.index_percentage:.1f}%"


def source_rows(sources: list[DataSource]) -> list[list[str]]:
    return [
        [
            one_line(s.id),
            one_line(s.name),
            one_line(s.type),
            one_line(s.index_status),
            _percent(s),
            one_line(s.refresh_period or ""),
            when(s.last_indexed_at),
        ]
        for s in sources
    ]


def _print_sources(args: argparse.Namespace, sources: list[DataSource]) -> None:
    if args.json:
        print_json([s.model_dump(mode="json") for s in sources])
    elif not sources:
        print("(no knowledge yet: add some with `devic-tui knowledge add`)")
    else:
        print(table(source_rows(sources), HEADERS))


def _progress_printer() -> Callable[[list[DataSource]], None]:
    """Prints each source's status on standard error when it changes."""
    shown: dict[str, tuple[str, str]] = {}

    def show(sources: list[DataSource]) -> None:
        for source in sources:
            now = (source.index_status, _percent(source))
            if shown.get(source.id) != now:
                shown[source.id] = now
                print(
                    f"{one_line(source.name)}: {' '.join(p for p in now if p)}", file=sys.stderr, flush=True
                )

    return show


class _UploadProgress:
    """One line on standard error, rewritten as a file's bytes go out (only on a terminal: in a log
    or a pipe the carriage returns would be noise)."""

    def __init__(self, name: str) -> None:
        self.name = one_line(name)
        self.shown = -1

    def __call__(self, sent: int, total: int) -> None:
        from devic_tui.attachments import human_size

        percent = sent * 100 // total if total else 100
        if percent != self.shown:
            self.shown = percent
            line = f"uploading {self.name}: {percent} % of {human_size(total)}"
            # Past the SafeStream, whose stand-in for the carriage return would defeat it; the line
            # itself is safe (the name went through one_line).
            print(f"\r{line}", end="", file=beneath(sys.stderr), flush=True)

    def done(self) -> None:
        if self.shown >= 0:
            print(file=sys.stderr, flush=True)


async def _upload(service: ChatService, server: str, ai_id: str, path: Path) -> str:
    if not is_terminal(sys.stderr):
        return await service.add_knowledge_file(server, ai_id, path)
    progress = _UploadProgress(path.name)
    try:
        return await service.add_knowledge_file(server, ai_id, path, progress)
    finally:
        progress.done()


async def _waited(service: ChatService, server: str, ai_id: str, ids: list[str]) -> list[DataSource]:
    from devic_tui import knowledge

    return await service.wait_for_indexing(
        server, ai_id, ids, _progress_printer(), interval=knowledge.POLL_SECONDS
    )


def _outcome(args: argparse.Namespace, sources: list[DataSource]) -> int:
    """Print the sources; 1 when one of them failed to index."""
    _print_sources(args, sources)
    failed = [s for s in sources if s.index_status == "FAILED"]
    if failed:
        names = ", ".join(one_line(s.name) for s in failed)
        raise CliError(f"the server could not index {names}", EXIT_SERVER)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    handlers = {"list": _list, "add": _add, "refresh": _refresh, "remove": _remove}
    return handlers[args.knowledge_command](args)


def _list(args: argparse.Namespace) -> int:
    sources = with_service(args, lambda service, server: service.data_sources(server, args.assistant))
    _print_sources(args, sources)
    return EXIT_OK


def _what_to_add(args: argparse.Namespace) -> str:
    given = [
        kind
        for kind, present in (("files", args.files), ("--url", args.url), ("--json-data", args.json_data))
        if present
    ]
    if len(given) != 1:
        raise CliError(
            "give files to add, or --url URL (repeatable), or --json-data FILE: one of them", EXIT_USAGE
        )
    if args.name and not args.json_data:
        raise CliError("--name names a --json-data source", EXIT_USAGE)
    return given[0]


def _add(args: argparse.Namespace) -> int:
    kind = _what_to_add(args)
    ai_id = args.assistant

    async def add(service: ChatService, server: str) -> tuple[list[str], list[DataSource]]:
        from devic_tui import knowledge

        if kind == "files":
            for path in args.files:  # every file checked before any is sent
                await service.check_knowledge_file(server, path)
            ids = [await _upload(service, server, ai_id, path) for path in args.files]
        elif kind == "--url":
            period = cast("RefreshPeriod", args.refresh.upper())
            ids = await service.add_knowledge_urls(server, ai_id, args.url, period)
        else:
            data = await knowledge.read_json_object(args.json_data)
            name = args.name or args.json_data.name
            ids = [await service.add_knowledge_json(server, ai_id, name, data)]
        return ids, (await _waited(service, server, ai_id, ids) if args.wait else [])

    ids, indexed = with_service(args, add)
    if args.wait:
        return _outcome(args, indexed)
    if args.json:
        print_json({"added": ids})
    else:
        for source_id in ids:
            print(f"added data source {one_line(source_id)} (indexing: see `devic-tui knowledge list`)")
    return EXIT_OK


def _refresh(args: argparse.Namespace) -> int:
    async def refresh(service: ChatService, server: str) -> list[DataSource]:
        await service.refresh_knowledge(server, args.source)
        return await _waited(service, server, args.assistant, [args.source]) if args.wait else []

    found = with_service(args, refresh)
    if args.wait:
        return _outcome(args, found)
    if args.json:
        print_json({"refreshing": args.source})
    else:
        print(f"refreshing data source {one_line(args.source)}")
    return EXIT_OK


def _remove(args: argparse.Namespace) -> int:
    with_service(args, lambda service, server: service.remove_knowledge(server, args.source))
    if args.json:
        print_json({"removed": args.source})
    else:
        print(f"removed data source {one_line(args.source)}")
    return EXIT_OK
