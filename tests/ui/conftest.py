"""UI fixtures: the app wired to the loopback emulator's demo servers, with a store in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from devic_tui.store.transcripts import TranscriptStore

from devic_tui.app import DevicTuiApp
from devic_tui.config import Settings
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorServer
from devic_tui.service import ChatService


@pytest.fixture
def make_app(emulator: EmulatorServer, tmp_path: Path) -> Callable[..., DevicTuiApp]:
    def make(**settings_fields: object) -> DevicTuiApp:
        settings = Settings(servers=demo_servers(emulator.base_url), **settings_fields)  # type: ignore[arg-type]
        store = TranscriptStore(tmp_path / "transcripts", settings.transcript_format)
        service = ChatService(settings, store=store)
        return DevicTuiApp(settings, service=service)

    return make
