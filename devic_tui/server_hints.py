"""What servers have taught the app about themselves, kept between runs: the header a server reads
the token from (`Authorization` or the Devs platform's legacy `X-Authorization`) and the path its
chat completions answer at. Without it every run would spend a refused request finding out again.

A small JSON file in the data dir, readable by its owner alone, keyed by server name and dropped for
a server whose base URL has changed since. It holds no token. Unreadable hints are ignored, never
fatal; hints that cannot be written are simply not remembered."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ValidationError

from devic_tui import locations
from devic_tui.config import ServerConfig
from devic_tui.files import write_private

log = logging.getLogger("devic_tui.server_hints")


class ServerHints(BaseModel):
    """What one server answered to, the last time it was asked."""

    base_url: str = ""
    """The base URL these hints were learned at: a server moved elsewhere is asked afresh."""
    auth_header: str | None = None
    """`authorization` or `x-authorization`: the header the server read the token from."""
    completions_path: str | None = None
    """The chat completions route that answered (`/chat/completions` or `/chats/completions`)."""


class HintsKeeper(Protocol):
    """Where an HTTP client recalls a server's hints from and keeps what it learns."""

    async def recall(self, server: ServerConfig) -> ServerHints: ...

    async def keep(self, server: ServerConfig, hints: ServerHints) -> None: ...


class _AllHints(BaseModel):
    servers: dict[str, ServerHints] = {}


def hints_file() -> Path:
    return locations.data_dir() / "server-hints.json"


class HintsFile:
    """The hints of every server, in one file (by default `hints_file()`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or hints_file()
        self._lock = threading.Lock()  # two servers learning at once must not lose each other's hint

    def _load(self) -> _AllHints:
        try:
            return _AllHints.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return _AllHints()
        except (OSError, ValidationError, ValueError) as error:
            log.info("server hints in %s ignored: %s", self.path, error)
            return _AllHints()

    def recall_now(self, server: ServerConfig) -> ServerHints:
        hints = self._load().servers.get(server.name)
        if hints is None or hints.base_url != server.resolved_base_url:
            return ServerHints(base_url=server.resolved_base_url)
        return hints

    def keep_now(self, server: ServerConfig, hints: ServerHints) -> None:
        with self._lock:
            every = self._load()
            every.servers[server.name] = hints.model_copy(update={"base_url": server.resolved_base_url})
            try:
                write_private(self.path, every.model_dump_json(indent=2).encode("utf-8"))
            except OSError as error:
                log.info("server hints not kept in %s: %s", self.path, error)

    async def recall(self, server: ServerConfig) -> ServerHints:
        return await asyncio.to_thread(self.recall_now, server)

    async def keep(self, server: ServerConfig, hints: ServerHints) -> None:
        await asyncio.to_thread(self.keep_now, server, hints)
