"""The `devic-tui` command: the argument parser and dispatch. With no command it opens the TUI; the
subcommands (in `devic_tui.commands`) serve scripts and pipes over the same config and history.

Start-up stays light: this module, the command modules it builds the parser from, and parsing the
arguments load none of pydantic, httpx, Textual, the config, the providers or the history (checked by
tests/test_light_imports.py); each command imports what it needs when it runs.

Exit codes: 0 ok, 1 the server failed the request, 2 usage or configuration error, 3 authentication,
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from devic_tui import locations
from devic_tui.commands import archive, ask, assistants, chats, history, knowledge, trash, usage
from devic_tui.commands.about import SHELLS, VersionAction, complete_if_asked, completion_script
from devic_tui.commands.output import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_USAGE,
    CliError,
    error,
    provider_failure,
    safe_output,
    silence_stdout,
)
from devic_tui.commands.session import config_path
from devic_tui.errors import DevicTuiError
from devic_tui.logs import setup_logging

EPILOG = """\
commands (exit codes in brackets):
  (none)                      open the chat app
  ask [MESSAGE]               send a message (or stdin), stream the answer  [0 1 2 3 130]
  ask --chat ID --from MSG    go on from a message of it as a new branch  [0 1 2 3 130]
  chats [--search TEXT]       list conversations, newest first, or search them  [0 2]
  chats --archived, --tag NAME   only the archived ones; only those with a tag  [0 2]
  show ID [--tree]            print the branch on screen, or draw every branch  [0 2]
  export ID --format md|json|toml [-o FILE] [--all-branches]   write a conversation out  [0 2]
  import FILE                 add a conversation from a JSON export  [0 2]
  delete ID, trash, restore ID   move a chat to the trash, list it, bring it back  [0 2]
  archive ID, unarchive ID    hide a chat from the lists (kept), bring it back  [0 2]
  usage [--since DATE] [-s SERVER]   tokens (and cost) per day and assistant, totals  [0 2]
  assistants [-s SERVER]      list what each server offers  [0 1 2 3]
  assistants show -s SERVER ID   one assistant's details  [0 1 2 3]
  knowledge list|add|refresh|remove -s SERVER -a AI   an assistant's knowledge (Devs)  [0 1 2 3]
  config init|path|check      write a starter config, print its path, or test every server  [0 1 2 3]
  locate [NAME]               print where the config, data, transcripts, themes and log live  [0]
  emulator [--port N]         run the API emulator on a loopback port  [0 2 130]
  completion bash|zsh|fish    print a shell completion script  [0 2]

exit codes: 0 ok, 1 the server failed the request, 2 usage or configuration error,
            3 authentication (token refused or missing), 130 interrupted (Ctrl+C)
Errors are one line on stderr; --debug adds the traceback. Control characters from servers
and files show as visible symbols on every output (--raw on ask, show, export: byte-exact).
`devic-tui COMMAND --help` for details.
With --demo, commands use the built-in emulator (default server demo-openai, assistant echo).

examples:
  devic-tui --demo                                  the app against the built-in emulator
  devic-tui --demo ask "hi"                         one answer from the emulator's echo assistant
  git diff | devic-tui ask -a reviewer "review this"   stdin is appended as a fenced block
  devic-tui ask --continue "and then?"              continue the newest conversation
  devic-tui chats --search "retry policy"           full-text search of the history
  devic-tui chats --search "tag:work deploy"        search the chats tagged work
  devic-tui archive 3fa2 && devic-tui chats --archived   archive a chat, list the archived ones
  devic-tui export 3fa2 --format md -o chat.md      conversation ids may be shortened
  devic-tui show 3fa2 --tree                        every branch, with message ids
  devic-tui ask --chat 3fa2 --from 9c1e "shorter"   edit message 9c1e (or follow an answer)
  devic-tui config init && devic-tui config check   write a starter config, then test it
"""

Handler = Callable[[argparse.Namespace], int]

HANDLERS: dict[str, str] = {
    "ask": "ask:run",
    "chats": "chats:run",
    "show": "history:show",
    "export": "history:export",
    "import": "history:import_",
    "assistants": "assistants:run",
    "delete": "trash:delete",
    "trash": "trash:list_trash",
    "restore": "trash:restore",
    "archive": "archive:archive",
    "unarchive": "archive:unarchive",
    "usage": "usage:run",
    "knowledge": "knowledge:run",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devic-tui",
        description="A keyboard-driven terminal chat client for AI assistants served over HTTP.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action=VersionAction, help="print the version, with Python's, Textual's and httpx's"
    )
    parser.add_argument(
        "--demo", action="store_true", help="use the built-in API emulator (no account, no network)"
    )
    parser.add_argument("--config", type=Path, help="the config file to use (default: see `locate`)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask.add_parser(commands)
    chats.add_parser(commands)
    history.add_parsers(commands)
    trash.add_parsers(commands)
    archive.add_parsers(commands)
    usage.add_parser(commands)
    assistants.add_parser(commands)
    knowledge.add_parser(commands)

    config = commands.add_parser("config", help="write, find or check the config file")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    init = config_commands.add_parser("init", help="write a starter config file (mode 0600)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    config_commands.add_parser("path", help="print the config file's path")
    check = config_commands.add_parser("check", help="validate the file and try each enabled server")
    check.add_argument("--json", action="store_true", help="print JSON")

    locate = commands.add_parser("locate", help="print where files live")
    locate.add_argument("name", nargs="?", choices=sorted(locations.all_locations()))

    emulator = commands.add_parser("emulator", help="run the API emulator in the foreground")
    emulator.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free one)")
    emulator.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between streamed chunks")
    emulator.add_argument(
        "--devs-dialect",
        choices=["events", "2024"],
        default="events",
        help="how the Devs API under /api/v1 speaks: the seed's SSE events, or the 2024 server's "
        "X-Authorization and text/plain answers (always served under /devs-2024)",
    )

    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=SHELLS)
    return parser


def cmd_completion(args: argparse.Namespace) -> int:
    print(completion_script(args.shell))
    return EXIT_OK


def cmd_locate(args: argparse.Namespace) -> int:
    found = locations.all_locations()
    if args.config:
        found["config"] = config_path(args)
    if args.name:
        print(found[args.name])
        return EXIT_OK
    width = max(len(name) for name in found)
    for name, path in found.items():
        print(f"{name:<{width}}  {path}")
    return EXIT_OK


def cmd_emulator(args: argparse.Namespace) -> int:
    from devic_tui.emulator import EmulatorOptions, EmulatorServer

    try:
        options = EmulatorOptions(chunk_delay=args.chunk_delay, devs_dialect=args.devs_dialect)
        server = EmulatorServer(options, port=args.port)
    except OSError as problem:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {problem.strerror}", EXIT_USAGE) from None
    url = server.base_url
    print(f"devic-tui emulator listening on {url}  (any bearer token but 'bad-token'; Ctrl+C stops)")
    print(f"  devic:  curl -H 'Authorization: Bearer t' {url}/api/v1/assistants")
    print(f"  devs:   curl -H 'Authorization: Bearer t' {url}/api/v1/me/ai")
    print(f"  devs (2024): curl -H 'X-Authorization: Bearer t' {url}/devs-2024/api/v1/me/ai")
    print(f"  agent:  curl -H 'Authorization: Bearer t' -d '{{\"message\":\"hi\"}}' {url}/v1/api/chat/echo")
    print(f"  openai: curl -H 'Authorization: Bearer t' {url}/v1/models", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    path = config_path(args)
    if args.config_command == "path":
        print(path)
        return EXIT_OK
    if args.config_command == "check":
        from devic_tui.commands import config_check

        return config_check.run(args)
    from devic_tui.starter_config import next_step_text, write_starter_config

    try:
        write_starter_config(path, force=args.force)
    except FileExistsError:
        raise CliError(f"{path} exists; use --force to overwrite it", EXIT_USAGE) from None
    except OSError as problem:
        raise CliError(f"cannot write {path}: {problem.strerror}", EXIT_USAGE) from None
    print(next_step_text(path))
    return EXIT_OK


def cmd_tui(args: argparse.Namespace) -> int:
    # The app draws its first frame before it reads the config or starts the demo's emulator;
    # a config it cannot use ends it, and is told here like any command's error.
    use_screen_update_rate()
    from devic_tui.app import DevicTuiApp

    app = DevicTuiApp.starting(config_path(args), demo=args.demo)
    app.run()
    if app.startup_error is not None:
        raise app.startup_error
    return EXIT_OK


SCREEN_UPDATES_PER_SECOND = 240
"""How often Textual may redraw the screen (its `TEXTUAL_FPS`, which a person's own setting
overrides). Textual gathers changes and draws them on a fixed tick, 60 a second by default, so a key
typed while an answer streams waits up to 17 ms for the tick before its frame is even begun; at 240
it shows within two 60 Hz frames (bench/keys_while_streaming.py: p95 41 -> 22 ms), for about a
quarter more CPU while an answer streams. Frames are still drawn only when something changed."""


def use_screen_update_rate() -> None:
    """Set Textual's screen update rate; before Textual is first imported, which reads it once."""
    os.environ.setdefault("TEXTUAL_FPS", str(SCREEN_UPDATES_PER_SECOND))


def handler_for(command: str | None) -> Handler:
    builtin: dict[str | None, Handler] = {
        "locate": cmd_locate,
        "emulator": cmd_emulator,
        "config": cmd_config,
        "completion": cmd_completion,
    }
    if command in HANDLERS:
        module, _, function = HANDLERS[command].partition(":")
        found: Handler = getattr(importlib.import_module(f"devic_tui.commands.{module}"), function)
        return found
    return builtin.get(command, cmd_tui)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    complete_if_asked(parser)
    args = parser.parse_args(argv)
    if args.demo and not os.environ.get(locations.DATA_DIR_ENV):
        # The demo's chats are kept, but apart from the person's own history.
        os.environ[locations.DATA_DIR_ENV] = str(locations.data_dir() / "demo")
    if args.command != "locate":
        setup_logging(debug=args.debug)
    # The app needs no guard: Textual owns the terminal and shows every text literally itself.
    guard = safe_output(raw_stdout=getattr(args, "raw", False)) if args.command else contextlib.nullcontext()
    with guard:
        return run_guarded(handler_for(args.command), args)


def run_guarded(handler: Handler, args: argparse.Namespace) -> int:
    """Run a command, turning each kind of failure into one line on standard error and its exit code."""
    try:
        try:
            return handler(args)
        except DevicTuiError as problem:
            failure = known_failure(problem)
            if failure is None:
                raise  # no wording of its own here (a TranscriptError): the catch-all below tells it
            error(str(failure))
            return failure.code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, without a second error at exit.
        silence_stdout()
        return EXIT_OK
    except Exception as problem:
        logging.getLogger("devic_tui").exception("unexpected error")
        if args.debug:
            raise
        error(
            f"unexpected error ({type(problem).__name__}): {problem} "
            f"(details in {locations.log_file()}; --debug shows them here)"
        )
        return EXIT_SERVER


def known_failure(problem: DevicTuiError) -> CliError | None:
    """The one line and exit code for a failure the command line words itself: its own (CliError),
    the config's (ConfigError: 2) and a server's (ProviderError: `provider_failure`); None for any
    other. Their modules are imported only now, so that starting up loads neither pydantic nor the
    providers."""
    if isinstance(problem, CliError):
        return problem
    from devic_tui.config import ConfigError
    from devic_tui.providers.errors import ProviderError

    if isinstance(problem, ConfigError):
        return CliError(str(problem), EXIT_USAGE)
    if isinstance(problem, ProviderError):
        return provider_failure(problem)
    return None
