"""`devic-tui show`, `export` and `import`: one conversation of local history read (the branch on
screen, every branch, or the tree drawn), written out as Markdown, JSON or TOML, or brought in from a
JSON export (every branch, and the branch shown, as they were)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import (
    EXIT_OK,
    EXIT_USAGE,
    RAW_HELP,
    CliError,
    is_terminal,
    print_json,
    print_markdown,
    when,
)
from devic_tui.commands.session import Session
from devic_tui.text_safety import clip
from devic_tui.text_safety import one_line as visible_line

if TYPE_CHECKING:
    from devic_tui.records import Conversation, ConversationSummary
    from devic_tui.store.export import MarkdownBranches
    from devic_tui.store.transcripts import TranscriptStore

FORMATS = ("md", "json", "toml")


def add_parsers(commands: Any) -> None:
    show = commands.add_parser(
        "show",
        help="print a conversation",
        description="Print a conversation: the branch on screen (where a message was edited or "
        "answered again, the conversation is a tree; a line at the end says how many branches it "
        "has). --tree draws the whole tree instead, one line per message: the branch drawing, the "
        "message id (for `ask --chat ID --from MESSAGE_ID`), the role, the time and its first "
        "line, with * on the messages of the branch on screen.",
    )
    show.add_argument("id", metavar="ID", help="conversation id (a unique prefix works; `last`: the newest)")
    view = show.add_mutually_exclusive_group()
    view.add_argument(
        "--tree",
        action="store_true",
        help="draw every branch, one line per message (* marks the branch shown)",
    )
    view.add_argument("--all-branches", action="store_true", help="print every branch in full (see export)")
    show.add_argument(
        "--json",
        action="store_true",
        help="print it as JSON: the lossless export (every branch, with parent_id and shown_id); "
        "with --tree, the tree's rows",
    )
    show.add_argument("--raw", action="store_true", help=RAW_HELP + "; --tree always shows them visibly")

    export = commands.add_parser(
        "export",
        help="write a conversation to a file",
        description="Export a conversation. Markdown holds the branch on screen, then a section "
        "'Other branches' naming each other branch by its first message of its own (id and first "
        "line); --all-branches writes every branch in full instead, each in its own section: the "
        "one on screen whole, each other one from where it parts from those before it. JSON and "
        "TOML always hold every branch (each message's parent_id and server chat, the branch shown), "
        "and `import` brings them all back.",
    )
    export.add_argument(
        "id", metavar="ID", help="conversation id (a unique prefix works; `last`: the newest)"
    )
    export.add_argument("-f", "--format", choices=FORMATS, default="md", help="md (default), json or toml")
    export.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here (default: stdout)")
    export.add_argument(
        "--all-branches",
        action="store_true",
        help="Markdown: every branch in full, not only the one on screen (JSON and TOML always hold all)",
    )
    export.add_argument("--raw", action="store_true", help=RAW_HELP)

    imp = commands.add_parser(
        "import",
        help="add an exported conversation",
        description="Import a JSON or TOML export into history, every branch as it was.",
    )
    imp.add_argument(
        "file", metavar="FILE", type=Path, help="a file written by `export --format json` or `--format toml`"
    )


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
    from devic_tui.branches import ConversationTree

    session = Session.from_args(args)
    try:
        conversation = _load(session.store(), args.id)
        if args.tree:
            if args.json:
                print_json(tree_json(conversation))
            else:
                width = shutil.get_terminal_size().columns if is_terminal(sys.stdout) else None
                for line in tree_text(conversation, width):
                    print(line)
            return EXIT_OK
        if args.json:
            sys.stdout.write(session.service().export_text(conversation, "json"))
            return EXIT_OK
        text = session.service().export_text(
            conversation, "md", branches="all" if args.all_branches else "shown"
        )
        count = ConversationTree(conversation).branch_count()
        if count > 1 and not args.all_branches:
            text += branches_note(count, args.id)
        print_markdown(text, raw=args.raw)
        return EXIT_OK
    finally:
        session.close()


def branches_note(count: int, wanted: str) -> str:
    """The line after the branch `show` printed, when it is one of several."""
    return f"\n*{count} branches, the one on screen above; `devic-tui show {wanted} --tree` draws them.*\n"


TREE_TEXT_WIDTH = 70
"""How much of a message's first line `show --tree` prints when standard output is not a terminal."""


def _short_id_length(ids: list[str], shortest: int = 8) -> int:
    """The shortest prefix length (at least `shortest`) that tells these ids apart."""
    length = shortest
    longest = max((len(i) for i in ids), default=0)
    while length < longest and len({i[:length] for i in ids}) < len(ids):
        length += 1
    return length


def tree_text(conversation: Conversation, width: int | None = None) -> list[str]:
    """`show --tree`: one line per message (`branches.tree_lines`): `*` on the branch on screen, the
    branch drawing, the message id (as short as tells them apart, at least 8 characters), role,
    time, and the first line of its text, cut to fit `width` columns (None: TREE_TEXT_WIDTH
    characters of text). Every character a server sent is made visible: nothing acts on the
    terminal, even with --raw."""
    from devic_tui.branches import headline, tree_lines

    lines = tree_lines(conversation)
    size = _short_id_length([line.message.id for line in lines])
    id_width = max((len(line.message.id[:size]) for line in lines), default=0)
    rows = []
    for line in lines:
        message = line.message
        head = (
            f"{'*' if line.shown else ' '} {line.prefix}{visible_line(message.id[:size]).ljust(id_width)}  "
            f"{message.role:<9}  {when(message.created_at)}  "
        )
        text = headline(message)
        if message.status != "complete":
            text = f"({message.status}) {text}"
        text = visible_line(text)
        room = max(width - len(head), 10) if width else TREE_TEXT_WIDTH
        rows.append((head + clip(text, room)).rstrip())
    return rows


def tree_json(conversation: Conversation) -> dict[str, Any]:
    """`show --tree --json`: the tree's rows, with the drawing, and which branch is on screen."""
    from devic_tui.branches import ConversationTree, headline, tree_lines

    tree = ConversationTree(conversation)
    return {
        "conversation_id": conversation.id,
        "shown_id": tree.shown_leaf(),
        "branches": tree.branch_count(),
        "messages": [
            {
                "id": line.message.id,
                "parent_id": line.parent_id,
                "role": line.message.role,
                "status": line.message.status,
                "created_at": line.message.created_at.isoformat(),
                "first_line": headline(line.message),
                "depth": line.depth,
                "prefix": line.prefix,
                "shown": line.shown,
                "leaf": line.leaf,
            }
            for line in tree_lines(conversation)
        ],
    }


def export(args: argparse.Namespace) -> int:
    from devic_tui.files import write_private

    session = Session.from_args(args)
    try:
        conversation = _load(session.store(), args.id)
        branches: MarkdownBranches = "all" if args.all_branches else "list"
        text = session.service().export_text(conversation, args.format, branches=branches)
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
    from devic_tui.records import Conversation
    from devic_tui.store.export import from_export, import_conversation
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
            conversation = from_export(text)
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
