"""Which proxy, if any, carries a server's requests.

The server's own `proxy` setting comes first ("none" or "" for a direct connection). Without one, the
environment decides as urllib reads it (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY in either case;
the system settings on macOS and Windows), except that a server on this machine never goes through
an environment proxy: a proxy meant for the outside world cannot reach our loopback. An explicit
`proxy` applies even on loopback, for a debugging proxy in front of a local server.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from devic_tui.config import ServerConfig
from devic_tui.providers.errors import NetworkSetupError
from devic_tui.providers.urls import is_loopback_host
from devic_tui.redact import hide_url_credentials, register_secret

DIRECT = frozenset({"", "none"})
SCHEMES = ("http", "https", "socks5", "socks5h")
SETTING_SOURCE = "this server's proxy setting"


@dataclass(frozen=True)
class ProxyRoute:
    """The proxy a server's requests take; `url` may hold credentials, so show `shown` instead."""

    url: str
    source: str
    """Where it was set, in words: "this server's proxy setting", "HTTPS_PROXY", ..."""

    @property
    def shown(self) -> str:
        return hide_url_credentials(self.url)

    def describe(self) -> str:
        return f"{self.shown} (from {self.source})"


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"http://{url}"


def _environment_source(scheme: str) -> str:
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
        if os.environ.get(name):
            return name
    return "the system proxy settings"


def _host_matches(host: str, entry: str) -> bool:
    """Whether one NO_PROXY entry (a domain and its subdomains, an address, a network) covers `host`."""
    entry = entry.strip().lower().removeprefix("*").removeprefix(".")
    try:
        network = ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return host == entry or host.endswith(f".{entry}")
    try:
        return ipaddress.ip_address(host.strip("[]")) in network
    except ValueError:
        return False


def _bypassed(host: str, no_proxy: str) -> bool:
    entries = [entry.strip() for entry in no_proxy.split(",") if entry.strip()]
    return "*" in entries or any(_host_matches(host.lower(), entry) for entry in entries)


def _from_environment(scheme: str, host: str) -> ProxyRoute | None:
    if is_loopback_host(host):
        return None
    found = urllib.request.getproxies()
    if _bypassed(host, found.get("no", "")):
        return None
    for key in (scheme, "all"):
        if found.get(key):
            return ProxyRoute(_with_scheme(found[key]), _environment_source(key))
    return None


def _check_usable(route: ProxyRoute, server: str) -> None:
    scheme = urlsplit(route.url).scheme.lower()
    if scheme not in SCHEMES:
        raise NetworkSetupError(
            f"server '{server}': the proxy {route.describe()} is not one devic-tui can use; "
            "give an http://, https://, socks5:// or socks5h:// URL",
            server=server,
        )
    if scheme.startswith("socks"):
        try:
            import socksio  # noqa: F401
        except ImportError:
            raise NetworkSetupError(
                f"server '{server}': the proxy {route.describe()} is a SOCKS proxy, which needs the "
                "socksio package: reinstall devic-tui (it asks for httpx[socks]) or pip install socksio",
                server=server,
            ) from None


def _register_credentials(url: str) -> None:
    password = urlsplit(url).password
    if password:
        register_secret(password)
        register_secret(unquote(password))


def proxy_for(server: ServerConfig) -> ProxyRoute | None:
    """The proxy for `server`'s base URL, or None for a direct connection; NetworkSetupError when
    the proxy named cannot be used."""
    target = urlsplit(server.resolved_base_url)
    if server.proxy is not None:
        if server.proxy.strip().lower() in DIRECT:
            return None
        route: ProxyRoute | None = ProxyRoute(_with_scheme(server.proxy.strip()), SETTING_SOURCE)
    else:
        route = _from_environment(target.scheme, target.hostname or "")
    if route is None:
        return None
    _register_credentials(route.url)
    _check_usable(route, server.name)
    return route
