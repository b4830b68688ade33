"""Shared fixtures: hermetic directories (nothing from the developer's own config leaks in), a fresh
loopback emulator per test, and servers pointing at it with retries that do not really sleep."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from devic_tui.config import ServerConfig
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.providers.base import Provider
from devic_tui.providers.registry import create_provider

TEST_TOKEN = "test-token-5f3a9c"

# In CI the property tests try the same examples every run (a red run is then the change's doing, and
# reruns the same); on a developer's machine they explore anew each time. A failure prints the blob
# that replays it (`@reproduce_failure`).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

EMULATOR_PATHS = {
    "devic": "",
    "devs": "",
    "agent": "/v1/api",
    "openai": "/v1",
}


@pytest.fixture(autouse=True)
def hermetic_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.delenv("DEVIC_TUI_CONFIG", raising=False)
    monkeypatch.delenv("DEVIC_TUI_DATA_DIR", raising=False)
    for name in list(os.environ):
        if name.startswith("DEVIC_TUI_"):
            monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def emulator_options() -> EmulatorOptions:
    return EmulatorOptions(chunk_delay=0.0, slow_delay=0.01, message_delay=0.02, hang_seconds=30)


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator(shared_emulator: EmulatorServer, emulator_options: EmulatorOptions) -> EmulatorServer:
    """The loopback emulator with fresh state (chats, files, fault counts) for this test."""
    shared_emulator.reset(emulator_options)
    return shared_emulator


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
def server_config(emulator: EmulatorServer) -> Callable[..., ServerConfig]:
    """A ServerConfig of the given kind pointing at the emulator (token TEST_TOKEN by default)."""

    def make(kind: str, **fields: Any) -> ServerConfig:
        fields.setdefault("name", f"emu-{kind}")
        fields.setdefault("token", TEST_TOKEN)
        fields.setdefault("base_url", emulator.base_url + EMULATOR_PATHS[kind])
        return ServerConfig(kind=kind, **fields)

    return make


@pytest.fixture
async def make_provider(
    server_config: Callable[..., ServerConfig],
) -> AsyncIterator[Callable[..., Provider]]:
    """A provider for the emulator; retries wait no real time."""
    made: list[Provider] = []

    def make(kind: str, **fields: Any) -> Provider:
        provider = create_provider(server_config(kind, **fields), sleep=_no_sleep)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()
