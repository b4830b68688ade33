"""`devic-tui config check`: validate the config file, then for each enabled server resolve its token
(never printed), make one cheap request without retries, and say what works and what is wrong.

The cheap request is the assistant list where the API has one. Some providers fall back to the
configured assistants when listing fails, so the check watches the HTTP responses themselves (a
recording transport) rather than trusting the list. The agent API has none, so it gets a
chat request with an empty body: servers check the token first and then refuse the body (400),
which proves the token without running an assistant. Exit 0 only when every server is fine;
otherwise the code of the first problem (2 config or URL, 3 token, 1 server or network).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import asdict, dataclass

import httpx

from devic_tui.commands.output import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    exit_code_for,
    print_json,
)
from devic_tui.commands.session import Session, config_path
from devic_tui.config import ServerConfig
from devic_tui.providers.base import Provider
from devic_tui.providers.errors import (
    AuthError,
    BadRequestError,
    ConnectionFailedError,
    ProviderError,
    ProviderTimeoutError,
    error_from_status,
)
from devic_tui.providers.http import AUTH_HEADER_NAMES, ServerTransport


@dataclass
class ServerCheck:
    server: str
    kind: str
    base_url: str
    token_source: str
    proxy: str = "none (direct)"
    reachable: bool | None = None
    authenticated: bool | None = None
    detail: str = ""
    problem: str | None = None
    exit_code: int = EXIT_OK


class RecordingTransport(ServerTransport):
    """The server's own transport (its proxy and TLS settings), noting each response's status and
    each connection failure."""

    def __init__(self, server: ServerConfig) -> None:
        super().__init__(server)
        self.statuses: list[tuple[str, int]] = []
        self.failures: list[httpx.TransportError] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as failure:
            self.failures.append(failure)
            raise
        self.statuses.append((f"{request.method} {request.url.path}", response.status_code))
        return response


def token_source(server: ServerConfig) -> str:
    """Where the token comes from, in words (never the token)."""
    if server.token_env:
        return f"the variable {server.token_env}"
    if server.token_command:
        return "token_command"
    if server.token:
        return "the config file"
    return "none"


async def _probe(provider: Provider, check: ServerCheck, seen: RecordingTransport) -> None:
    server = provider.server
    if provider.capabilities.lists_assistants:
        listed = await provider.list_assistants()
        if seen.failures and not seen.statuses:  # the provider fell back to the configured list
            raise provider.http.connection_error(seen.failures[0])
        # The last answer decides: a 401 before it may only have been the token's first header.
        what, status = seen.statuses[-1] if seen.statuses else ("", 200)
        if status >= 400:  # the provider fell back to the configured list; the server said no
            raise error_from_status(
                server.name, status, f"{what} answered {status}", token_hint=server.token_source_hint()
            )
        check.reachable = check.authenticated = True
        check.detail = f"{len(listed)} assistant{'s' if len(listed) != 1 else ''} listed"
        if provider.http.auth_header != "authorization":
            check.detail += f"; the token goes in {AUTH_HEADER_NAMES[provider.http.auth_header]}"
        return
    if server.kind != "agent":
        check.detail = "this API has no request to check without sending a message"
        return
    slug = server.assistants[0].id if server.assistants else "devic-tui-check"
    with contextlib.suppress(BadRequestError):  # the token passed; the empty message is refused
        await provider.http.request("POST", f"/chat/{slug}", json={})
    check.reachable = check.authenticated = True
    check.detail = "an empty message was refused unanswered"


async def check_server(server: ServerConfig, *, demo: bool = False) -> ServerCheck:
    from devic_tui.providers.registry import create_provider
    from devic_tui.providers.retry import RetryPolicy
    from devic_tui.providers.tokens import resolve_token

    source = "built in (demo)" if demo else token_source(server)
    check = ServerCheck(server.name, server.kind, server.resolved_base_url, source)
    provider: Provider | None = None
    try:
        await resolve_token(server)
        seen = RecordingTransport(server)
        if seen.route is not None:
            check.proxy = seen.route.describe()
        provider = create_provider(server, policy=RetryPolicy(max_retries=0), transport=seen)
        await _probe(provider, check, seen)
    except ProviderError as problem:
        check.problem = str(problem)
        check.exit_code = exit_code_for(problem)
        if isinstance(problem, ConnectionFailedError | ProviderTimeoutError):
            check.reachable = False
        elif problem.status is not None:
            check.reachable = True
            if isinstance(problem, AuthError):
                check.authenticated = False
    finally:
        if provider is not None:
            await provider.aclose()
    return check


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not known"}[value]


def _print(checks: list[ServerCheck]) -> None:
    for check in checks:
        mark = "ok" if check.problem is None else "PROBLEM"
        print(f"{check.server} ({check.kind}, {check.base_url}): {mark}")
        print(f"  token from:     {check.token_source}")
        print(f"  proxy:          {check.proxy}")
        print(f"  reachable:      {_yes_no(check.reachable)}")
        authenticated = _yes_no(check.authenticated)
        print(f"  authenticated:  {authenticated}" + (f" ({check.detail})" if check.detail else ""))
        if check.problem:
            print(f"  what is wrong:  {check.problem}")


async def _check_all(servers: list[tuple[ServerConfig, bool]]) -> list[ServerCheck]:
    return list(await asyncio.gather(*(check_server(server, demo=demo) for server, demo in servers)))


def run(args: argparse.Namespace) -> int:
    path = config_path(args)
    if not args.demo and not path.exists():
        raise CliError(f"no config file at {path}: run `devic-tui config init`", EXIT_USAGE)
    session = Session.from_args(args)  # a ConfigError names the file and field (exit 2)
    try:
        names = session.all_server_names()
        if not names:
            raise CliError(f"{path} enables no server: set enabled = true on one", EXIT_USAGE)
        settings = session.expanded(names)
        servers = [(settings.server(name), session.demo_entry_for(name) is not None) for name in names]
        checks = asyncio.run(_check_all(servers))
    finally:
        session.close()
    if args.json:
        print_json({"config": str(path), "valid": True, "servers": [asdict(c) for c in checks]})
    else:
        print(f"config {'(demo)' if args.demo else path}: valid")
        _print(checks)
    failed = [c.exit_code for c in checks if c.problem is not None]
    return failed[0] if failed else EXIT_OK
