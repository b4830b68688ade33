"""Which provider class speaks which `kind`, and building one for a configured server."""

from __future__ import annotations

from typing import Any

from devic_tui.config import ServerConfig
from devic_tui.providers.base import Provider


def provider_class(kind: str) -> type[Provider]:
    if kind == "devic":
        from devic_tui.providers.devic import DevicProvider

        return DevicProvider
    if kind == "devs":
        from devic_tui.providers.devs import DevsProvider

        return DevsProvider
    if kind == "agent":
        from devic_tui.providers.agent import AgentProvider

        return AgentProvider
    if kind == "openai":
        from devic_tui.providers.openai_compat import OpenAIProvider

        return OpenAIProvider
    raise ValueError(f"no provider for kind {kind!r} (demo servers are expanded at start)")


def create_provider(server: ServerConfig, **http_options: Any) -> Provider:
    """A provider with its own HTTP client; raises InsecureURLError for a refused base URL."""
    from devic_tui.providers.http import HttpClient  # httpx is imported when first needed

    return provider_class(server.kind)(server, HttpClient(server, **http_options))
