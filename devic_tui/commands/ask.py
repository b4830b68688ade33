"""`devic-tui ask`: send one message (or standard input) and stream the answer to standard output.

The exchange goes through the same ChatService and store as the TUI, so it shows up in the app's
history. The conversation id goes to standard error (`conversation: <id>`) so the next call can
`--chat` it, and `--from` a message of it to go on from there as a new branch. Ctrl+C stops the
stream: the partial answer is saved marked "stopped" and the exit code is 130.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from devic_tui.commands.output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    RAW_HELP,
    AnswerWriter,
    CliError,
    error,
    exit_code_for,
    is_terminal,
    note,
    print_json,
    provider_failure,
    silence_stdout,
)
from devic_tui.commands.session import Session

if TYPE_CHECKING:
    from devic_tui.models import AssistantInfo
    from devic_tui.providers.errors import ProviderError
    from devic_tui.providers.events import SendEvent, ToolCallRequest
    from devic_tui.records import Conversation
    from devic_tui.service import ChatService
    from devic_tui.store.transcripts import TranscriptStore
    from devic_tui.turn import Turn


def add_parser(commands: Any) -> None:
    ask = commands.add_parser(
        "ask",
        help="send a message and stream the answer",
        description="Send MESSAGE (or standard input) and stream the answer to standard output. "
        "When MESSAGE is given and text is piped in too, the piped text is appended as a fenced "
        "block: `git diff | devic-tui ask -a reviewer 'review this'`. The conversation id goes to "
        "stderr as `conversation: ID`.",
        epilog="exit codes: 0 answered, 1 the server failed the request, 2 usage or configuration "
        "error, 3 token refused or missing, 130 Ctrl+C (the partial answer is kept, marked stopped)",
    )
    ask.add_argument("message", nargs="?", metavar="MESSAGE", help="the message; absent or - reads stdin")
    ask.add_argument("-s", "--server", help="the server (default: default_server, else the first enabled)")
    ask.add_argument("-a", "--assistant", help="assistant id or name (default: the first listed)")
    which = ask.add_mutually_exclusive_group()
    which.add_argument("-c", "--chat", metavar="ID", help="continue this conversation (an id prefix works)")
    which.add_argument(
        "--continue",
        dest="continue_",
        action="store_true",
        help="continue the newest conversation with this server (and assistant)",
    )
    ask.add_argument(
        "--from",
        dest="from_",
        metavar="MESSAGE_ID",
        help="with --chat (or --continue): go on from that message as a new branch (an id prefix "
        "works; `show ID --tree` lists them): after an answer, MESSAGE follows it; for a message of "
        "yours, MESSAGE is an edit of it, an alternative to it. The new branch is then the one shown",
    )
    ask.add_argument(
        "--attach", action="append", default=[], metavar="FILE", help="attach a file (repeatable)"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of the answer")
    ask.add_argument("--raw", action="store_true", help=RAW_HELP)


def read_stdin(stream: TextIO | None) -> str | None:
    """Piped text, or None when standard input is a terminal or closed."""
    if stream is None or is_terminal(stream):
        return None
    try:
        buffer = getattr(stream, "buffer", None)
        return buffer.read().decode("utf-8", "replace") if buffer is not None else stream.read()
    except (OSError, ValueError):
        return None


def fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text if text.endswith(chr(10)) else text + chr(10)}{fence}"


def compose_message(message: str | None, stdin: TextIO | None, *, has_files: bool = False) -> str:
    """MESSAGE, standard input, or MESSAGE followed by standard input as a fenced block."""
    if message is None or message == "-":
        if message is None and (stdin is None or is_terminal(stdin)):
            raise CliError("no message: give MESSAGE or pipe text on standard input", EXIT_USAGE)
        text = read_stdin(stdin) if message is None else _read_all(stdin)
    else:
        piped = read_stdin(stdin)
        text = f"{message}\n\n{fenced(piped)}" if piped and piped.strip() else message
    text = (text or "").strip("\n")
    if not text.strip() and not has_files:
        raise CliError("the message is empty", EXIT_USAGE)
    return text


def _read_all(stream: TextIO | None) -> str:
    if stream is None:
        return ""
    buffer = getattr(stream, "buffer", None)
    return buffer.read().decode("utf-8", "replace") if buffer is not None else stream.read()


def run(args: argparse.Namespace) -> int:
    import asyncio

    text = compose_message(args.message, sys.stdin, has_files=bool(args.attach))
    args.attach = [Path(p).expanduser() for p in args.attach]
    if threading.current_thread() is threading.main_thread():
        # Even when started with SIGINT ignored (a background job), Ctrl+C / kill -INT stops cleanly.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    session = Session.from_args(args)
    try:
        return asyncio.run(_ask(args, session, text))
    finally:
        session.close()


def branch_point(conversation: Conversation, wanted: str) -> str:
    """Where `ask --from MESSAGE_ID` puts the new message: after the message `wanted` names (its
    whole id or a unique prefix), or, when that is a message of the user's, beside it (after its
    parent: an edit of it). CliError (exit 2) when no message, or several, match."""
    from devic_tui.branches import ConversationTree

    tree = ConversationTree(conversation)
    found = (
        [wanted] if wanted in tree.by_id else [mid for mid in tree.by_id if wanted and mid.startswith(wanted)]
    )
    if not found:
        raise CliError(
            f"conversation {conversation.id} has no message {wanted!r} "
            f"(`devic-tui show {conversation.id} --tree` lists them)",
            EXIT_USAGE,
        )
    if len(found) > 1:
        raise CliError(
            f"{len(found)} messages of conversation {conversation.id} start with {wanted!r}: "
            f"{', '.join(found[:5])}; give more of the id",
            EXIT_USAGE,
        )
    message = tree.by_id[found[0]]
    return tree.parent[message.id] if message.role == "user" else message.id


def _load(store: TranscriptStore, wanted: str) -> Conversation:
    from devic_tui.store.transcripts import TranscriptError

    try:
        return store.load(store.find(wanted).id)
    except TranscriptError as problem:
        raise CliError(str(problem), EXIT_USAGE) from None


def _conversation_to_continue(
    args: argparse.Namespace, session: Session, store: TranscriptStore
) -> tuple[str, Conversation | None]:
    if args.chat:
        conversation = _load(store, args.chat)
        server = session.server_name(conversation.server)
        if args.server and session.server_name(args.server) != server:
            raise CliError(f"conversation {conversation.id} belongs to server '{server}'", EXIT_USAGE)
        if args.assistant and args.assistant not in (conversation.assistant_id, conversation.assistant_name):
            raise CliError(
                f"conversation {conversation.id} is with assistant '{conversation.assistant_id}'", EXIT_USAGE
            )
        return server, conversation
    server = session.server_name(args.server)
    if not args.continue_:
        return server, None
    found = [
        s
        for s in store.summaries(server=server)
        if not args.assistant or args.assistant in (s.assistant_id, s.assistant_name)
    ]
    if not found:
        with_whom = f" and assistant '{args.assistant}'" if args.assistant else ""
        raise CliError(f"no conversation to continue with server '{server}'{with_whom}", EXIT_USAGE)
    return server, _load(store, found[0].id)


async def _pick_assistant(service: ChatService, server: str, wanted: str | None) -> AssistantInfo:
    from devic_tui.models import AssistantInfo

    listed, notice = await service.assistants(server)
    if notice is not None:
        note(f"note: {notice}")  # the configured assistants stand in: go on
    if wanted is None:
        if not listed:
            raise CliError(f"server '{server}' lists no assistants: pass --assistant", EXIT_USAGE)
        return listed[0]
    by_id = [a for a in listed if a.id == wanted]
    by_name = [a for a in listed if a.name == wanted or a.name.casefold() == wanted.casefold()]
    if by_id or by_name:
        return (by_id or by_name)[0]
    return AssistantInfo(id=wanted, name=wanted)  # not listed: the server decides (404 if unknown)


async def _ask(args: argparse.Namespace, session: Session, text: str) -> int:
    from devic_tui.providers.errors import ProviderError
    from devic_tui.service import ChatService

    store = session.store()
    server, conversation = _conversation_to_continue(args, session, store)
    after: str | None = None
    if args.from_ is not None:
        if conversation is None:
            raise CliError("--from needs the conversation: give --chat ID (or --continue)", EXIT_USAGE)
        after = branch_point(conversation, args.from_)
    service = ChatService(session.expanded([server]), store=store)
    try:
        try:
            if conversation is None:
                conversation = service.new_conversation(
                    server, await _pick_assistant(service, server, args.assistant)
                )
            elif session.demo_entry_for(server):
                # This run's emulator is new: chat ids from an earlier run cannot exist on it
                # (demo-openai needs none: the history travels with each message). Neither can the
                # chats its messages name: the branch starts a new one, carrying its history.
                conversation.remote_id = None
                for message in conversation.messages:
                    message.remote_chat_id = None
            checked = await service.check_files(server, args.attach) if args.attach else []
            turn = await service.start_turn(conversation, text, checked, after=after)
        except ProviderError as problem:
            raise provider_failure(problem) from None
        return await _stream(args, turn)
    finally:
        await service.aclose()
        session.store_closed()


async def _stream(args: argparse.Namespace, turn: Turn) -> int:
    """Write the answer as it grows; without a form to fill in, a tool call is left unanswered."""
    import asyncio

    from devic_tui.providers.events import Notice, StreamError, ToolCallRequest

    conversation = turn.conversation
    writer = AnswerWriter(sys.stdout, enabled=not args.json, render=False if args.raw else None)
    problem: ProviderError | None = None
    tool_call: ToolCallRequest | None = None
    stopped = broken_pipe = False
    try:
        stream = cast("AsyncGenerator[SendEvent, None]", turn.events())
        async with contextlib.aclosing(stream) as events:
            async for event in events:
                if isinstance(event, Notice):
                    note(f"note: {event.text}")
                elif isinstance(event, StreamError):
                    problem = event.error
                elif isinstance(event, ToolCallRequest):
                    tool_call = event
                try:
                    writer.sync(turn.answer_text)
                except BrokenPipeError:
                    # The reader left (`| head`). Stop like Ctrl+C does: a cancel unwinds every
                    # stream from the inside, so the partial answer is saved marked stopped.
                    broken_pipe = True
                    silence_stdout()
                    current = asyncio.current_task()
                    if current is not None:
                        current.cancel()
    except asyncio.CancelledError:
        stopped = True
    writer.finish()
    answer = turn.answer
    print(f"conversation: {conversation.id}", file=sys.stderr, flush=True)
    if args.json:
        print_json(
            {
                "conversation_id": conversation.id,
                "message_id": turn.user.id,
                "answer_id": answer.id,
                "remote_id": conversation.remote_id,
                "server": conversation.server,
                "assistant": conversation.assistant_id,
                "answer": answer.content,
                "status": answer.status,
                "usage": answer.usage.model_dump() if answer.usage else None,
                "error": answer.error,
            }
        )
    if broken_pipe:
        return EXIT_OK
    if stopped:
        note("stopped: the partial answer is saved, marked stopped")
        return EXIT_INTERRUPTED
    if problem is not None:
        error(str(problem))
        return exit_code_for(problem)
    if tool_call is not None:
        names = ", ".join(call.name for call in tool_call.calls) or "a form"
        error(f"the assistant asks for input ({names}), which only the app can answer: open this chat there")
        return EXIT_SERVER
    return EXIT_OK
