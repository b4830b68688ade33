"""Warnings the main screen shows at start: each server reached without encryption (plain http://
to another machine, allowed by `allow_insecure_http`), since its token and messages travel in the
clear."""

from __future__ import annotations

from urllib.parse import urlsplit

from devic_tui.config import ServerConfig
from devic_tui.providers.urls import is_loopback_host


def insecure_http_warnings(servers: list[ServerConfig]) -> list[str]:
    """A warning for each server that sends its token over plain http:// to another machine."""
    warnings = []
    for server in servers:
        url = urlsplit(server.resolved_base_url)
        opted_out = server.allow_insecure_http  # the others are refused and never contacted
        if opted_out and url.scheme == "http" and not is_loopback_host(url.hostname or ""):
            warnings.append(
                f"{server.name} talks to {url.hostname} over plain http:// (allow_insecure_http is on): "
                "the token and every message travel unencrypted."
            )
    return warnings
