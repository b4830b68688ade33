"""`devic-tui archive ID` and `devic-tui unarchive ID`: an archived chat is hidden from the usual
lists (`chats`, the sidebar's chats, Ctrl+L) but kept; `chats --archived` and the sidebar's Archived
section list it, search still finds it, and `unarchive` (or Alt+A on it in the app) brings it back."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import EXIT_OK, EXIT_USAGE, CliError
from devic_tui.commands.session import Session
from devic_tui.text_safety import one_line

if TYPE_CHECKING:
    from devic_tui.records import ConversationSummary
    from devic_tui.service import ChatService

ID_HELP = "conversation id (a unique prefix works; `last`: the newest one {})"


def add_parsers(commands: Any) -> None:
    archive_ = commands.add_parser(
        "archive",
        help="hide a chat from the lists; `chats --archived` shows it",
        description="Archive a chat: it leaves `chats` and the app's chat list for their archived "
        "views, and is kept as it is. `devic-tui unarchive ID` brings it back.",
    )
    archive_.add_argument("id", metavar="ID", help=ID_HELP.format("not archived"))
    unarchive_ = commands.add_parser(
        "unarchive",
        help="bring an archived chat back to the lists",
        description="Bring an archived chat back to `chats` and the app's chat list.",
    )
    unarchive_.add_argument("id", metavar="ID", help=ID_HELP.format("archived"))


def archive(args: argparse.Namespace) -> int:
    return _set_archived(args, archived=True)


def unarchive(args: argparse.Namespace) -> int:
    return _set_archived(args, archived=False)


def _set_archived(args: argparse.Namespace, *, archived: bool) -> int:
    import asyncio

    from devic_tui.commands.history import LATEST, find_conversation
    from devic_tui.store.transcripts import TranscriptError

    session = Session.from_args(args)
    try:
        service = session.service()
        if args.id == LATEST:
            summary = _newest(service, archived=not archived)
        else:
            summary = find_conversation(session.store(), args.id)
        title = one_line(summary.title) or "(untitled)"
        if summary.archived == archived:
            print(f"{summary.id} is {'already' if archived else 'not'} archived: {title}")
            return EXIT_OK
        try:
            asyncio.run(_flip(service, summary.id, archived=archived))
        except TranscriptError as problem:
            raise CliError(str(problem), EXIT_USAGE) from None
        if archived:
            undo = f"devic-tui unarchive {summary.id[:8]}"
            print(f"archived {summary.id}: {title} (`{undo}` brings it back)")
        else:
            print(f"unarchived {summary.id}: {title}")
        return EXIT_OK
    finally:
        session.close()


def _newest(service: ChatService, *, archived: bool) -> ConversationSummary:
    """`last`: the newest chat that can be archived (or unarchived)."""
    import asyncio

    found = asyncio.run(service.chats(archived=archived, limit=1))
    if not found:
        raise CliError(f"there is no {'archived ' if archived else ''}conversation", EXIT_USAGE)
    return found[0]


async def _flip(service: ChatService, conversation_id: str, *, archived: bool) -> None:
    conversation = await service.open(conversation_id)
    await (service.archive(conversation) if archived else service.unarchive(conversation))
