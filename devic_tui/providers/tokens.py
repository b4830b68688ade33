"""Resolving a server's token from where the config says it lives: an environment variable, a
command (for password managers; its output is kept in memory only), or the config file itself.
Every token resolved is registered with `redact` so it can never leak into text the app shows."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess

from devic_tui import files
from devic_tui.config import ServerConfig
from devic_tui.providers.errors import MissingTokenError
from devic_tui.redact import register_secret

TOKEN_COMMAND_TIMEOUT = 30.0


def resolve_token_blocking(server: ServerConfig) -> str | None:
    """The token, or None when the server has no token source (the emulator needs none)."""
    token: str | None = None
    if server.token_env:
        token = os.environ.get(server.token_env)
        if not token:
            raise MissingTokenError(
                f"server '{server.name}' needs a token: the variable {server.token_env} is not set",
                server=server.name,
            )
    elif server.token_command:
        token = _run_token_command(server)
    elif server.token:
        token = server.token.get_secret_value()
    if token is not None:
        token = token.strip()
        register_secret(token)
    return token


def _run_token_command(server: ServerConfig) -> str:
    assert server.token_command
    try:
        done = subprocess.run(
            split_command(server.token_command),
            capture_output=True,
            text=True,
            timeout=TOKEN_COMMAND_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise MissingTokenError(
            f"server '{server.name}': token_command could not run ({type(error).__name__})",
            server=server.name,
        ) from None
    token = done.stdout.strip()
    if done.returncode != 0 or not token:
        register_secret(token)
        raise MissingTokenError(
            f"server '{server.name}': token_command exited {done.returncode} without a token",
            server=server.name,
        )
    return token


def split_command(command: str) -> list[str]:
    """`token_command` as a program and its arguments, split by POSIX shell rules; but on Windows,
    where a backslash separates folders (`C:\\Program Files\\...`) rather than escaping, split at
    spaces outside quotes and take the quotes off around each word."""
    if not files.on_windows():
        return shlex.split(command)
    return [_unquoted(word) for word in shlex.split(command, posix=False)]


def _unquoted(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
        return word[1:-1]
    return word


async def resolve_token(server: ServerConfig) -> str | None:
    """Resolve off the event loop: a token command may take a while (a password prompt, say)."""
    return await asyncio.to_thread(resolve_token_blocking, server)
