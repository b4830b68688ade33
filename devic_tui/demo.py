"""The built-in demo: the loopback emulator started in the background and one server of each API
(the Devs platform twice: the seed's dialect and its 2024 server's) pointing at it, so
`devic-tui --demo` exercises the same providers and HTTP code as a real server."""

from __future__ import annotations

from typing import Any

from devic_tui.config import AnswerDefaults, AssistantConfig, ServerConfig, Settings
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.devs_dialect import LEGACY_ROOT as DEVS_2024_ROOT
from devic_tui.emulator.scripts import ASSISTANTS, DEMO_ASSISTANTS

DEMO_TOKEN = "demo-token"
DEMO_OPTIONS = EmulatorOptions(
    chunk_delay=0.012, chunk_size=6, slow_delay=0.25, message_delay=0.8, listed=DEMO_ASSISTANTS
)


def _agent_assistants(configured: list[AssistantConfig]) -> list[AssistantConfig]:
    """The emulator's agents, each with what the config sets up for it under the demo entry."""
    by_id = {assistant.id: assistant for assistant in configured}
    agents = []
    for name in DEMO_ASSISTANTS:
        own = by_id.pop(name, None)
        base = AssistantConfig(id=name, name=name, description=ASSISTANTS[name])
        agents.append(base if own is None else own.model_copy(update={"name": own.name or name}))
    return agents + list(by_id.values())


def demo_servers(
    base_url: str, prefix: str = "demo", entry: ServerConfig | None = None
) -> list[ServerConfig]:
    """One server of each kind, all on the emulator at `base_url`; each takes the answer settings,
    metadata and assistants set up under the config's demo `entry`."""
    common: dict[str, Any] = {"token": DEMO_TOKEN, "read_timeout": 30.0}
    configured: list[AssistantConfig] = []
    if entry is not None:
        common.update({name: getattr(entry, name) for name in AnswerDefaults.model_fields})
        common["metadata"] = entry.metadata
        configured = entry.assistants
    return [
        ServerConfig(
            name=f"{prefix}-devic",
            kind="devic",
            base_url=base_url,
            path_prefix="/api/v1",
            assistants=configured,
            **common,
        ),
        ServerConfig(name=f"{prefix}-devs", kind="devs", base_url=base_url, assistants=configured, **common),
        ServerConfig(
            name=f"{prefix}-devs-2024",
            kind="devs",
            base_url=f"{base_url}{DEVS_2024_ROOT}",
            assistants=configured,
            **common,
        ),
        ServerConfig(
            name=f"{prefix}-agent",
            kind="agent",
            base_url=f"{base_url}/v1/api",
            assistants=_agent_assistants(configured),
            **common,
        ),
        ServerConfig(
            name=f"{prefix}-openai", kind="openai", base_url=f"{base_url}/v1", assistants=configured, **common
        ),
    ]


def expand_demo_servers(settings: Settings, base_url: str | None) -> Settings:
    """Replace each `kind = "demo"` entry with the emulator's servers (or drop it with no emulator)."""
    servers: list[ServerConfig] = []
    for server in settings.servers:
        if server.kind != "demo":
            servers.append(server)
        elif base_url and server.enabled:
            servers.extend(demo_servers(base_url, prefix=server.name, entry=server))
    return settings.model_copy(update={"servers": servers})


def needs_emulator(settings: Settings) -> bool:
    return any(server.kind == "demo" and server.enabled for server in settings.servers)


def start_emulator() -> EmulatorServer:
    return EmulatorServer(DEMO_OPTIONS).start()
