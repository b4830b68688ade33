"""Small URL facts shared by the HTTP layer and the UI, kept apart so the UI can ask them without
loading httpx at start-up."""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str) -> bool:
    """Whether `host` is this machine (where plain http:// carries no token over a network)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
