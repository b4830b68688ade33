"""The `devic-tui` command: opens the TUI by default, with subcommands for scripts and setup.

Exit codes: 0 ok, 1 the server failed the request, 2 usage or configuration error, 3 authentication,
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from devic_tui import __version__, locations
from devic_tui.config import ConfigError, Settings, load_settings, permission_warnings

EXIT_OK = 0
EXIT_SERVER = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_INTERRUPTED = 130

EPILOG = """\
commands:
  (none)             open the chat app
  locate [NAME]      print where the config, data, transcripts, themes and log live
  emulator           run the API emulator on a loopback port (for curl and experiments)
  config init|path   write a starter config file, or print its path

exit codes: 0 ok, 1 the server failed the request, 2 usage or configuration error,
            3 authentication, 130 interrupted

examples:
  devic-tui --demo                  try it with the built-in emulator: no account, no network
  devic-tui config init             write a starter config, then edit it
  devic-tui emulator --port 8765    serve every API on http://127.0.0.1:8765
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devic-tui",
        description="A keyboard-driven terminal chat client for AI assistants served over HTTP.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"devic-tui {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="use the built-in API emulator (no account, no network)"
    )
    parser.add_argument("--config", type=Path, help="the config file to use (default: see `locate`)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    locate = commands.add_parser("locate", help="print where files live")
    locate.add_argument("name", nargs="?", choices=sorted(locations.all_locations()))

    emulator = commands.add_parser("emulator", help="run the API emulator in the foreground")
    emulator.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free one)")
    emulator.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between streamed chunks")

    config = commands.add_parser("config", help="write or find the config file")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    init = config_commands.add_parser("init", help="write a starter config file")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    config_commands.add_parser("path", help="print the config file's path")
    return parser


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config).expanduser() if args.config else locations.config_file()


def cmd_locate(args: argparse.Namespace) -> int:
    found = locations.all_locations()
    if args.config:
        found["config"] = _config_path(args)
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
        server = EmulatorServer(EmulatorOptions(chunk_delay=args.chunk_delay), port=args.port)
    except OSError as error:
        print(f"devic-tui: cannot listen on 127.0.0.1:{args.port}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    url = server.base_url
    print(f"devic-tui emulator listening on {url}  (any bearer token but 'bad-token'; Ctrl+C stops)")
    print(f"  devic:  curl -H 'Authorization: Bearer t' {url}/api/v1/assistants")
    print(f"  devs:   curl -H 'Authorization: Bearer t' {url}/api/v1/me/ai")
    print(f"  agent:  curl -H 'Authorization: Bearer t' -d '{{\"message\":\"hi\"}}' {url}/v1/api/chat/echo")
    print(f"  openai: curl -H 'Authorization: Bearer t' {url}/v1/models", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    path = _config_path(args)
    if args.config_command == "path":
        print(path)
        return EXIT_OK
    from devic_tui.starter_config import next_step_text, write_starter_config

    try:
        write_starter_config(path, force=args.force)
    except FileExistsError:
        print(f"devic-tui: {path} exists; use --force to overwrite it", file=sys.stderr)
        return EXIT_USAGE
    print(next_step_text(path))
    return EXIT_OK


def load_config(args: argparse.Namespace) -> Settings:
    path = _config_path(args)
    settings = load_settings(path)
    for warning in permission_warnings(settings, path):
        print(f"devic-tui: warning: {warning}", file=sys.stderr)
    return settings


def cmd_tui(args: argparse.Namespace) -> int:
    from devic_tui.app import DevicTuiApp
    from devic_tui.config import ServerConfig
    from devic_tui.demo import expand_demo_servers, needs_emulator, start_emulator

    settings = load_config(args)
    if args.demo:
        settings = settings.model_copy(update={"servers": [ServerConfig(name="demo", kind="demo")]})
    emulator = start_emulator() if needs_emulator(settings) else None
    settings = expand_demo_servers(settings, emulator.base_url if emulator else None)
    try:
        DevicTuiApp(settings, config_path=_config_path(args), demo=args.demo).run()
    finally:
        if emulator is not None:
            emulator.stop()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"locate": cmd_locate, "emulator": cmd_emulator, "config": cmd_config}
    try:
        return handlers.get(args.command, cmd_tui)(args)
    except ConfigError as error:
        print(f"devic-tui: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
