"""`devic-tui show`, `export` and `import`: one conversation of local history read, written out as
Markdown, JSON or TOML, or brought in from a JSON export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import EXIT_OK, EXIT_USAGE, RAW_HELP, CliError, print_markdown
from devic_tui.commands.session import Session
from devic_tui.records import Conversation, ConversationSummary

if TYPE_CHECKING:
    from devic_tui.store.transcripts import TranscriptStore

FORMATS = ("md", "json", "toml")


def add_parsers(commands: Any) -> None:
    show = commands.add_parser("show", help="print a conversation", description="Print a conversation.")
    show.add_argument("id", metavar="ID", help="conversation id (a unique prefix works; `last`: the newest)")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    show.add_argument("--raw", action="store_true", help=RAW_HELP)

    export = commands.add_parser(
        "export", help="write a conversation to a file", description="Export a conversation."
    )
    export.add_argument(
        "id", metavar="ID", help="conversation id (a unique prefix works; `last`: the newest)"
    )
    export.add_argument("-f", "--format", choices=FORMATS, default="md", help="md (default), json or toml")
    export.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here (default: stdout)")
    export.add_argument("--raw", action="store_true", help=RAW_HELP)

    imp = commands.add_parser(
        "import", help="add an exported conversation", description="Import a JSON export into history."
    )
    imp.add_argument("file", metavar="FILE", type=Path, help="a file written by `export --format json`")


LATEST = "last"
"""Stands for the newest conversation wherever an ID is asked for."""


def find_conversation(store: TranscriptStore, wanted: str) -> ConversationSummary:
    """The conversation an ID names: the whole id, a unique prefix of one, or `last`."""
    from devic_tui.store.transcripts import TranscriptError

    try:
        if wanted == LATEST:
            newest = store.summaries(limit=1)
            if not newest:
                raise CliError("there is no conversation yet", EXIT_USAGE)
            return newest[0]
        return store.find(wanted)
    except TranscriptError as problem:
        raise CliError(str(problem), EXIT_USAGE) from None


def _load(store: TranscriptStore, wanted: str) -> Conversation:
    from devic_tui.store.transcripts import TranscriptError

    summary = find_conversation(store, wanted)
    try:
        return store.load(summary.id)
    except TranscriptError as problem:
        raise CliError(str(problem), EXIT_USAGE) from None


def show(args: argparse.Namespace) -> int:
    session = Session.from_args(args)
    try:
        conversation = _load(session.store(), args.id)
        if args.json:
            sys.stdout.write(session.service().export_text(conversation, "json"))
        else:
            print_markdown(session.service().export_text(conversation, "md"), raw=args.raw)
        return EXIT_OK
    finally:
        session.close()


def export(args: argparse.Namespace) -> int:
    from devic_tui.files import write_private

    session = Session.from_args(args)
    try:
        conversation = _load(session.store(), args.id)
        text = session.service().export_text(conversation, args.format)
        if args.output is None:
            sys.stdout.write(text)
            return EXIT_OK
        try:
            write_private(args.output.expanduser(), text.encode("utf-8"))
        except OSError as problem:
            raise CliError(f"cannot write {args.output}: {problem.strerror}", EXIT_USAGE) from None
        print(f"wrote {args.output}", file=sys.stderr)
        return EXIT_OK
    finally:
        session.close()


def import_(args: argparse.Namespace) -> int:
    from devic_tui.store.export import from_json, import_conversation
    from devic_tui.store.transcripts import TranscriptError

    path: Path = args.file.expanduser()
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        reason = getattr(problem, "strerror", None) or "not UTF-8 text"
        raise CliError(f"cannot read {path}: {reason}", EXIT_USAGE) from None
    session = Session.from_args(args)
    try:
        store = session.store()
        try:
            conversation = from_json(text)
        except (TranscriptError, ValueError) as problem:
            raise CliError(f"{path}: {problem}", EXIT_USAGE) from None
        try:
            store.find(conversation.id)
            exists = True
        except TranscriptError:
            exists = False
        try:
            imported = import_conversation(store, conversation, new_id=exists)
        except TranscriptError as problem:
            raise CliError(str(problem), EXIT_USAGE) from None
        new = imported if isinstance(imported, Conversation) else conversation
        print(f"imported: {new.id}" + (" (a new id: that one was taken)" if exists else ""))
        return EXIT_OK
    finally:
        session.close()
