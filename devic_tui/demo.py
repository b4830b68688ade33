"""The built-in demo: the loopback emulator started in the background and one server of each API
pointing at it, so `devic-tui --demo` exercises the same providers and HTTP code as a real server."""

from __future__ import annotations

from devic_tui.config import AssistantConfig, ServerConfig, Settings
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.scripts import ASSISTANTS, DEMO_ASSISTANTS

DEMO_TOKEN = "demo-token"
DEMO_OPTIONS = EmulatorOptions(
    chunk_delay=0.012, chunk_size=6, slow_delay=0.25, message_delay=0.8, listed=DEMO_ASSISTANTS
)


def _agent_assistants() -> list[AssistantConfig]:
    return [AssistantConfig(id=name, name=name, description=ASSISTANTS[name]) for name in DEMO_ASSISTANTS]


def demo_servers(base_url: str, prefix: str = "demo") -> list[ServerConfig]:
    """One server of each kind, all on the emulator at `base_url`."""
    common = {"token": DEMO_TOKEN, "read_timeout": 30.0}
    return [
        ServerConfig(
            name=f"{prefix}-devic", kind="devic", base_url=base_url, path_prefix="/api/v1", **common
        ),
        ServerConfig(name=f"{prefix}-devs", kind="devs", base_url=base_url, **common),
        ServerConfig(
            name=f"{prefix}-agent",
            kind="agent",
            base_url=f"{base_url}/v1/api",
            assistants=_agent_assistants(),
            **common,
        ),
        ServerConfig(name=f"{prefix}-openai", kind="openai", base_url=f"{base_url}/v1", **common),
    ]


def expand_demo_servers(settings: Settings, base_url: str | None) -> Settings:
    """Replace each `kind = "demo"` entry with the four emulator servers (or drop it with no emulator)."""
    servers: list[ServerConfig] = []
    for server in settings.servers:
        if server.kind != "demo":
            servers.append(server)
        elif base_url and server.enabled:
            servers.extend(demo_servers(base_url, prefix=server.name))
    return settings.model_copy(update={"servers": servers})


def needs_emulator(settings: Settings) -> bool:
    return any(server.kind == "demo" and server.enabled for server in settings.servers)


def start_emulator() -> EmulatorServer:
    return EmulatorServer(DEMO_OPTIONS).start()
