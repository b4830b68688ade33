"""What every command needs from its arguments: the settings (with `--demo` applied), which server a
name means, the loopback emulator when a demo server is used, and the history store the TUI uses.

A `kind = "demo"` entry named D stands for four servers, D-devic, D-devs, D-agent and D-openai, on the
emulator. Naming D itself (or it being the default) means D-openai: the OpenAI-compatible API keeps
no history on the server and sends it with each message, so `--chat` and `--continue` really go on
with a conversation even though every run starts a new emulator. The emulator starts only when a
command really talks to a demo server.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from devic_tui import locations
from devic_tui.commands.output import EXIT_USAGE, CliError, note

if TYPE_CHECKING:
    from devic_tui.config import ServerConfig, Settings
    from devic_tui.emulator import EmulatorServer
    from devic_tui.service import ChatService
    from devic_tui.store.transcripts import TranscriptStore

DEMO_DEFAULT_KIND = "openai"
DEMO_KINDS = ("devic", "devs", "devs-2024", "agent", "openai")
"""The suffixes of the servers a demo entry becomes (`demo.demo_servers`; not imported, as it loads the
emulator)."""


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config).expanduser() if args.config else locations.config_file()


def read_settings(args: argparse.Namespace) -> Settings:
    """The file's settings (warnings on stderr); with `--demo`, one demo server and nothing else."""
    from devic_tui.config import settings_for

    settings, warnings = settings_for(config_path(args), demo=getattr(args, "demo", False))
    for warning in warnings:
        print(f"devic-tui: warning: {warning}", file=sys.stderr)
    return settings


@dataclass
class Session:
    settings: Settings
    """As configured: demo entries not yet expanded."""
    emulator: EmulatorServer | None = None
    _store: TranscriptStore | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Session:
        return cls(read_settings(args))

    def _entry(self, name: str) -> ServerConfig | None:
        return next((s for s in self.settings.servers if s.name == name), None)

    def demo_entry_for(self, name: str) -> ServerConfig | None:
        """The demo entry a concrete server name (`demo-agent`) comes from, if any."""
        for entry in self.settings.servers:
            if entry.kind == "demo" and name in {f"{entry.name}-{kind}" for kind in DEMO_KINDS}:
                return entry
        return None

    def server_name(self, name: str | None) -> str:
        """The concrete server `--server name` (or the default) means; CliError when there is none."""
        if name is None:
            name = self.settings.default_server
        if name is None:
            enabled = self.settings.enabled_servers()
            if not enabled:
                raise CliError("no enabled server in the config: run `devic-tui config init`", EXIT_USAGE)
            name = enabled[0].name
        entry = self._entry(name) or self.demo_entry_for(name)
        if entry is None:
            known = ", ".join(s.name for s in self.settings.servers) or "none configured"
            raise CliError(f"no server named '{name}' (known: {known})", EXIT_USAGE)
        if not entry.enabled:
            raise CliError(f"server '{entry.name}' is disabled in the config (enabled = false)", EXIT_USAGE)
        if entry.kind == "demo" and entry.name == name:
            return f"{name}-{DEMO_DEFAULT_KIND}"
        return name

    def expanded(self, names: list[str]) -> Settings:
        """The settings with demo entries expanded; starts the emulator if one of `names` is on it."""
        from devic_tui.demo import expand_demo_servers

        if self.emulator is None and any(self.demo_entry_for(n) for n in names):
            from devic_tui.demo import start_emulator

            self.emulator = start_emulator()
        base_url = self.emulator.base_url if self.emulator else None
        return expand_demo_servers(self.settings, base_url)

    def all_server_names(self) -> list[str]:
        """Every enabled server, demo entries expanded into their four names."""
        names: list[str] = []
        for entry in self.settings.enabled_servers():
            if entry.kind == "demo":
                names += [f"{entry.name}-{kind}" for kind in DEMO_KINDS]
            else:
                names.append(entry.name)
        return names

    def store(self) -> TranscriptStore:
        """The history store the TUI uses (opened once)."""
        if self._store is None:
            from devic_tui.store.transcripts import TranscriptStore

            self._store = TranscriptStore(locations.transcripts_dir(), self.settings.transcript_format)
        return self._store

    def _tell_store_notices(self) -> None:
        """What the store came across while the command ran (a file it set aside, the index
        rebuilt), on standard error. Told at the end: the store reads the files lazily, so a
        corrupt one is found only by the operation that reads it."""
        if self._store is not None:
            for message in self._store.notices:
                note(f"note: {message}")
            self._store.notices.clear()

    def service(self) -> ChatService:
        """The service over this command's history, for what touches saved chats only (no server
        is asked: the demo's entries are not expanded)."""
        from devic_tui.service import ChatService

        return ChatService(self.settings, store=self.store())

    def store_closed(self) -> None:
        """The store was closed by its owner (the ChatService); do not close it again."""
        self._tell_store_notices()
        self._store = None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._tell_store_notices()
            self._store = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
