"""`devic-tui delete ID`, `devic-tui trash` and `devic-tui restore ID`: deleted chats (here or with
Alt+D in the app) wait in the history's trash folder, listed by `trash` and brought back by
`restore`."""

from __future__ import annotations

import argparse
from typing import Any

from devic_tui.commands.output import EXIT_OK, EXIT_USAGE, CliError
from devic_tui.commands.session import Session


def add_parsers(commands: Any) -> None:
    delete = commands.add_parser(
        "delete", help="move a chat to the trash", description="Move a chat to the trash (restorable)."
    )
    delete.add_argument(
        "id", metavar="ID", help="conversation id (a unique prefix works; `last`: the newest)"
    )
    commands.add_parser("trash", help="list deleted chats", description="List the chats in the trash.")
    restore = commands.add_parser(
        "restore", help="bring a deleted chat back", description="Restore a chat from the trash."
    )
    restore.add_argument(
        "id", metavar="ID", help="conversation id (a unique prefix works; `last`: the newest)"
    )


def delete(args: argparse.Namespace) -> int:
    import asyncio

    from devic_tui.commands.history import find_conversation
    from devic_tui.store.transcripts import TranscriptError

    session = Session.from_args(args)
    try:
        summary = find_conversation(session.store(), args.id)
        try:
            asyncio.run(session.service().delete(summary.id))
        except TranscriptError as problem:
            raise CliError(str(problem), EXIT_USAGE) from None
        undo = f"devic-tui restore {summary.id[:8]}"
        print(f"moved {summary.id} to the trash: {summary.title} (`{undo}` undoes it)")
        return EXIT_OK
    finally:
        session.close()


def list_trash(args: argparse.Namespace) -> int:
    session = Session.from_args(args)
    try:
        trashed = session.store().trashed()
        if not trashed:
            print("The trash is empty.")
        for summary in trashed:
            when = summary.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            print(f"{summary.id}  {when}  {summary.server}/{summary.assistant_id}  {summary.title}")
        return EXIT_OK
    finally:
        session.close()


def restore(args: argparse.Namespace) -> int:
    from devic_tui.store.transcripts import TranscriptError

    session = Session.from_args(args)
    try:
        store = session.store()
        trashed = store.trashed()
        if args.id == "last":
            matches = sorted(trashed, key=lambda s: s.updated_at, reverse=True)[:1]
        else:
            matches = [s for s in trashed if s.id.startswith(args.id)]
        if not trashed:
            raise CliError("the trash is empty", EXIT_USAGE)
        if len(matches) != 1:
            found = "no chat" if not matches else f"{len(matches)} chats"
            raise CliError(f"{found} in the trash start with '{args.id}' (see `devic-tui trash`)", EXIT_USAGE)
        try:
            store.restore(matches[0].id)
        except TranscriptError as problem:
            raise CliError(str(problem), EXIT_USAGE) from None
        print(f"restored {matches[0].id}: {matches[0].title}")
        return EXIT_OK
    finally:
        session.close()
