"""What the app reads and starts before it can talk to a server: the settings (with `--demo` applied),
the demo's emulator and the chat service. The app runs this in a thread after its first frame is on
screen, so none of it (pydantic, httpx, the history's folder) holds that frame up."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from devic_tui.config import Settings, settings_for
from devic_tui.demo import expand_demo_servers, needs_emulator, start_emulator
from devic_tui.service import ChatService

if TYPE_CHECKING:
    from devic_tui.emulator import EmulatorServer


@dataclass
class Launch:
    """Everything the main screen needs, read and started."""

    settings: Settings
    service: ChatService
    emulator: EmulatorServer | None = None
    warnings: list[str] = field(default_factory=list)
    """About the config file, to tell the person once the app is up."""

    def stop(self) -> None:
        """Stop the demo's emulator, if one was started (blocks until it has stopped)."""
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None


def prepare(config_path: Path, *, demo: bool = False) -> Launch:
    """Read the config, start the demo's emulator when a demo server is configured,
    and make the chat service. Raises ConfigError for a config that cannot be used."""
    settings, warnings = settings_for(config_path, demo=demo)
    emulator = start_emulator() if needs_emulator(settings) else None
    try:
        settings = expand_demo_servers(settings, emulator.base_url if emulator else None)
        return Launch(settings, ChatService(settings), emulator, warnings)
    except BaseException:
        if emulator is not None:
            with contextlib.suppress(Exception):
                emulator.stop()
        raise
