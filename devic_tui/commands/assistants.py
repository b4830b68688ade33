"""`devic-tui assistants`: what each enabled server offers (listed by its API, or from the config)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import EXIT_OK, EXIT_USAGE, CliError, error, exit_code_for, print_json, table
from devic_tui.commands.session import Session

if TYPE_CHECKING:
    from devic_tui.config import Settings
    from devic_tui.providers.errors import ProviderError


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "assistants", help="list each server's assistants", description="List what each server offers."
    )
    parser.add_argument("-s", "--server", help="only this server (default: every enabled one)")
    parser.add_argument("--json", action="store_true", help="print JSON")


async def _list(settings: Settings, name: str) -> dict[str, Any]:
    from devic_tui.providers.errors import ProviderError
    from devic_tui.providers.registry import create_provider

    server = settings.server(name)
    found: dict[str, Any] = {"server": name, "kind": server.kind, "assistants": [], "error": None}
    try:
        provider = create_provider(server)
    except ProviderError as problem:
        found["error"], found["problem"] = str(problem), problem
        return found
    try:
        assistants = await provider.list_assistants()
        found["assistants"] = [a.model_dump(mode="json", exclude={"extra"}) for a in assistants]
    except ProviderError as problem:
        found["error"], found["problem"] = str(problem), problem
    finally:
        await provider.aclose()
    return found


async def _list_all(settings: Settings, names: list[str]) -> list[dict[str, Any]]:
    import asyncio

    return list(await asyncio.gather(*(_list(settings, name) for name in names)))


def run(args: argparse.Namespace) -> int:
    import asyncio

    session = Session.from_args(args)
    try:
        names = [session.server_name(args.server)] if args.server else session.all_server_names()
        if not names:
            raise CliError("no enabled server in the config: run `devic-tui config init`", EXIT_USAGE)
        results = asyncio.run(_list_all(session.expanded(names), names))
    finally:
        session.close()
    problems: list[ProviderError] = [r.pop("problem") for r in results if "problem" in r]
    if args.json:
        print_json(results)
    else:
        for index, result in enumerate(results):
            if index:
                print()
            print(f"{result['server']} ({result['kind']})")
            if result["error"]:
                print("  (could not list: see the error below)")
            elif not result["assistants"]:
                print("  (none listed: name them under `assistants` in the config)")
            else:
                rows = [["  " + a["id"], a["name"], a["description"]] for a in result["assistants"]]
                print(table(rows, ["  ID", "NAME", "DESCRIPTION"]))
    for problem in problems:
        error(str(problem))
    return exit_code_for(problems[0]) if problems else EXIT_OK
