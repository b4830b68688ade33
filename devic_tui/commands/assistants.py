"""`devic-tui assistants`: what each enabled server offers (listed by its API, or from the config);
`devic-tui assistants show -s SERVER ID`: one assistant's details, as much as its API tells."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from devic_tui.commands.output import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    error,
    exit_code_for,
    print_json,
    table,
    when,
)
from devic_tui.commands.session import Session

if TYPE_CHECKING:
    from devic_tui.config import Settings
    from devic_tui.knowledge_models import AssistantDetails
    from devic_tui.providers.errors import ProviderError


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "assistants",
        help="list each server's assistants, or show one",
        description="List what each server offers; `show ID` prints one assistant's details "
        "(model, vendor, greeting, instructions, options: what the server tells).",
    )
    parser.add_argument(
        "-s", "--server", help="only this server (default: every enabled one; for show, the default server)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    actions = parser.add_subparsers(dest="action", metavar="[show]")
    show = actions.add_parser(
        "show",
        help="one assistant's details",
        description="One assistant's details: model, vendor, greeting, instructions, options (what "
        "the server tells).",
    )
    # SUPPRESS: given before `show`, they are kept (argparse would put the defaults over them).
    show.add_argument(
        "-s", "--server", default=argparse.SUPPRESS, help="the server (default: the default one)"
    )
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    show.add_argument("id", metavar="ID", help="the assistant's id")


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


DETAIL_FIELDS = (
    ("name", "name"),
    ("description", "description"),
    ("model", "model"),
    ("provider", "vendor"),
    ("visibility", "visibility"),
    ("context_window", "context"),
    ("introduction", "greeting"),
    ("instructions", "instructions"),
)


def _detail_lines(details: AssistantDetails) -> list[str]:
    """`label  value` lines; text of several lines goes on indented below its label."""
    from devic_tui.text_safety import visible

    values: list[tuple[str, str]] = []
    for field, label in DETAIL_FIELDS:
        value = getattr(details, field)
        if value is None or value == "":
            continue
        values.append((label, f"{value:,} tokens" if field == "context_window" else str(value)))
    if details.options:
        values.append(("options", ", ".join(f"{k} {_option(v)}" for k, v in details.options.items())))
    for label, stamp in (("created", details.created_at), ("updated", details.updated_at)):
        if stamp is not None:
            values.append((label, when(stamp)))
    width = max(len(label) for label, _ in values) if values else 0
    lines = [visible(details.id)]
    for label, value in values:
        text = visible(value.strip())
        if "\n" in text:
            lines.append(f"  {label}")
            lines += [f"    {line}" for line in text.splitlines()]
        else:
            lines.append(f"  {label.ljust(width)}  {text}")
    return lines


def _option(value: Any) -> str:
    return str(value[0]) if isinstance(value, list) and len(value) == 1 else str(value)


def _show(args: argparse.Namespace) -> int:
    from devic_tui.commands.knowledge import with_service

    found = with_service(args, lambda service, server: service.assistant_details(server, args.id))
    if args.json:
        print_json(found.model_dump(mode="json"))
    else:
        print("\n".join(_detail_lines(found)))
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    import asyncio

    if args.action == "show":
        return _show(args)
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
