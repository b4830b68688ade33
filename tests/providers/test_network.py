"""Proxies and certificates against the emulator over loopback: environment proxies never used for
this machine, a server's own `proxy` (SOCKS5 and HTTP CONNECT through a tiny tunnelling proxy run
here), failures that name the proxy (never its password), the system trust store with certifi as
the fallback, `ca_bundle` and client certificates against the emulator served over TLS (trustme's
CA), and certificate failures that name the host and the setting that fixes them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from devic_tui.commands.config_check import check_server
from devic_tui.commands.output import EXIT_USAGE, exit_code_for
from devic_tui.config import ConfigError, ServerConfig, load_settings
from devic_tui.emulator import EmulatorServer
from devic_tui.emulator.scripts import ASSISTANTS
from devic_tui.emulator.server import EmulatorTLS
from devic_tui.providers import tls
from devic_tui.providers.base import Provider, SendRequest
from devic_tui.providers.errors import (
    CertificateError,
    ConnectionFailedError,
    NetworkSetupError,
    ProviderError,
)
from devic_tui.providers.events import Done
from devic_tui.providers.http import HttpClient
from devic_tui.providers.proxies import SETTING_SOURCE, proxy_for
from tests.conftest import TEST_TOKEN
from tests.providers.events import collect_events, text_of

OUTSIDE = "https://api.example.test/v1"
"""A server that is not this machine (the requests never get past the proxy)."""


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own proxy variables must not leak into these tests."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def outside_server(**fields: Any) -> ServerConfig:
    fields.setdefault("name", "outside")
    fields.setdefault("kind", "openai")
    fields.setdefault("base_url", OUTSIDE)
    fields.setdefault("token", TEST_TOKEN)
    fields.setdefault("max_retries", 0)
    return ServerConfig(**fields)


async def failure_of(server: ServerConfig) -> ProviderError:
    http = HttpClient(server)
    try:
        with pytest.raises(ProviderError) as caught:
            await http.request("GET", "/models")
    finally:
        await http.aclose()
    return caught.value


class TunnelProxy:
    """A minimal proxy on a loopback port: HTTP CONNECT and SOCKS5 (no authentication), each
    tunnelling bytes both ways to the target it names, which it records; or, given `refusal`,
    answering every CONNECT with that status line."""

    def __init__(self, refusal: str | None = None) -> None:
        self.refusal = refusal
        self.targets: list[tuple[str, int]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> TunnelProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        first = await reader.readexactly(1)
        if first == b"\x05":
            host, port = await self._socks5(reader, writer)
        else:
            head = first + await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            assert method == "CONNECT", f"this proxy only tunnels, got {method}"
            host, _, port_text = target.rpartition(":")
            port = int(port_text)
            if self.refusal:
                writer.write(f"HTTP/1.1 {self.refusal}\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
                writer.close()
                return
        self.targets.append((host, port))
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        self._writers.append(upstream_writer)
        if first != b"\x05":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _socks5(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[str, int]:
        methods = (await reader.readexactly(1))[0]
        await reader.readexactly(methods)
        writer.write(b"\x05\x00")  # no authentication
        _version, _command, _reserved, kind = await reader.readexactly(4)
        if kind == 1:
            host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
        elif kind == 4:
            host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
        else:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        port = int.from_bytes(await reader.readexactly(2), "big")
        writer.write(b"\x05\x00\x00\x01" + bytes(6))  # succeeded; bound address not told
        return host, port

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()


# --- which proxy: the environment, the setting, loopback ---------------------------------------------


@pytest.mark.parametrize(
    "base_url", ["http://localhost:11434/v1", "http://127.0.0.1:8000", "http://127.8.9.10", "http://[::1]:1"]
)
def test_environment_proxies_never_apply_to_this_machine(
    monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://proxy.corp:3128")
    assert proxy_for(outside_server(base_url=base_url)) is None
    route = proxy_for(outside_server())
    assert route is not None
    assert (route.url, route.source) == ("http://proxy.corp:3128", "HTTPS_PROXY")


async def test_loopback_emulator_works_with_a_dead_environment_proxy(
    monkeypatch: pytest.MonkeyPatch, make_provider: Callable[..., Provider]
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"):
        monkeypatch.setenv(name, dead)
    provider = make_provider("openai", max_retries=0)
    assert [a.id for a in await provider.list_assistants()] == list(ASSISTANTS)
    events = await collect_events(provider.send(SendRequest(assistant_id="echo", text="through?")))
    assert isinstance(events[-1], Done)
    assert "through?" in text_of(events)


@pytest.mark.parametrize(
    ("no_proxy", "host", "proxied"),
    [
        ("example.test", "api.example.test", False),
        (".example.test", "example.test", False),
        ("example.test", "notexample.test", True),
        ("10.0.0.0/8, other.org", "10.1.2.3", False),
        ("10.0.0.0/8", "11.1.2.3", True),
        ("*", "anything.org", False),
        ("", "anything.org", True),
    ],
)
def test_no_proxy_entries(monkeypatch: pytest.MonkeyPatch, no_proxy: str, host: str, proxied: bool) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    route = proxy_for(outside_server(base_url=f"https://{host}/v1"))
    assert (route is not None) is proxied
    if route is not None:
        assert route.url == "http://proxy.corp:3128"  # a bare host:port is an http:// proxy


def test_the_server_setting_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    for direct in ("none", "None", ""):
        assert proxy_for(outside_server(proxy=direct)) is None
    route = proxy_for(outside_server(proxy="socks5h://127.0.0.1:1080"))
    assert route is not None
    assert (route.url, route.source) == ("socks5h://127.0.0.1:1080", SETTING_SOURCE)
    loopback = proxy_for(outside_server(base_url="http://127.0.0.1:1/v1", proxy="http://127.0.0.1:8080"))
    assert loopback is not None, "an explicit proxy applies on loopback too (a debugging proxy)"


def test_a_proxy_scheme_httpx_cannot_speak_is_a_setup_error() -> None:
    with pytest.raises(NetworkSetupError, match=r"socks4://127\.0\.0\.1:1080 \(from this server's") as caught:
        HttpClient(outside_server(proxy="socks4://127.0.0.1:1080"))
    assert exit_code_for(caught.value) == EXIT_USAGE


def test_socks_without_socksio_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)  # `import socksio` now fails
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(NetworkSetupError, match=r"needs the socksio package.*httpx\[socks\]") as caught:
        HttpClient(outside_server())
    assert "ALL_PROXY" in str(caught.value)


# --- through a proxy, and its failures -----------------------------------------------------------------


async def test_environment_proxy_failure_names_the_proxy_and_hides_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://alice:s3cret-pw@127.0.0.1:{port}")
    failure = await failure_of(outside_server())
    assert isinstance(failure, ConnectionFailedError)
    message = str(failure)
    assert f"could not connect to proxy http://***@127.0.0.1:{port} for {OUTSIDE}" in message
    assert "Connection refused" in message
    assert "check HTTPS_PROXY" in message
    assert "s3cret" not in message


async def test_socks_proxy_in_all_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{port}")
    failure = await failure_of(outside_server())
    assert isinstance(failure, ConnectionFailedError)
    assert f"could not connect to proxy socks5://127.0.0.1:{port} for {OUTSIDE}" in str(failure)
    assert "ALL_PROXY" in str(failure)


async def test_server_proxy_failure_names_the_setting(make_provider: Callable[..., Provider]) -> None:
    port = closed_port()
    provider = make_provider("openai", proxy=f"http://bob:hunter22@127.0.0.1:{port}", max_retries=0)
    with pytest.raises(ConnectionFailedError) as caught:
        await provider.list_assistants()
    message = str(caught.value)
    assert f"could not connect to proxy http://***@127.0.0.1:{port} for {provider.server.base_url}" in message
    assert "check this server's proxy setting" in message
    assert "hunter22" not in message


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
async def test_server_socks_proxy_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch,
    make_provider: Callable[..., Provider],
    emulator: EmulatorServer,
    scheme: str,
) -> None:
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{closed_port()}")  # overridden by the setting
    async with TunnelProxy() as proxy:
        provider = make_provider("openai", proxy=f"{scheme}://127.0.0.1:{proxy.port}")
        assert [a.id for a in await provider.list_assistants()] == list(ASSISTANTS)
        events = await collect_events(provider.send(SendRequest(assistant_id="echo", text="via socks")))
        assert "via socks" in text_of(events)
        await provider.aclose()
    assert proxy.targets[0] == ("127.0.0.1", emulator.port)


async def test_a_proxy_refusing_the_tunnel_is_said() -> None:
    async with TunnelProxy(refusal="407 Proxy Authentication Required") as proxy:
        failure = await failure_of(outside_server(proxy=f"http://127.0.0.1:{proxy.port}"))
    assert isinstance(failure, ConnectionFailedError)
    assert str(failure) == (
        f"server 'outside': the proxy http://127.0.0.1:{proxy.port} refused to connect to {OUTSIDE} "
        "(407 Proxy Authentication Required); check this server's proxy setting"
    )


async def test_unreachable_openai_server_is_said_not_listed_as_empty(
    make_provider: Callable[..., Provider],
) -> None:
    provider = make_provider("openai", base_url=f"http://127.0.0.1:{closed_port()}/v1", max_retries=0)
    with pytest.raises(ConnectionFailedError, match=r"cannot reach server .*Connection refused"):
        await provider.list_assistants()


async def test_config_check_names_the_proxy() -> None:
    port = closed_port()
    check = await check_server(outside_server(proxy=f"socks5://u:pw-9f2e@127.0.0.1:{port}"))
    assert check.proxy == f"socks5://***@127.0.0.1:{port} (from this server's proxy setting)"
    assert check.reachable is False
    assert check.problem is not None
    assert f"could not connect to proxy socks5://***@127.0.0.1:{port}" in check.problem
    assert "pw-9f2e" not in check.proxy + check.problem
    direct = await check_server(outside_server(base_url=f"http://127.0.0.1:{port}/v1"))
    assert direct.proxy == "none (direct)"


# --- certificates ------------------------------------------------------------------------------------


class Certificates:
    """A private CA, a server certificate for 127.0.0.1 and localhost, and a client certificate."""

    def __init__(self, folder: Path) -> None:
        ca = trustme.CA()
        self.ca = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca))
        self.server = folder / "server.pem"
        ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(self.server))
        client = ca.issue_cert("client.example")
        self.client_both = folder / "client.pem"
        client.private_key_and_cert_chain_pem.write_to_path(str(self.client_both))
        self.client_cert = folder / "client-cert.pem"
        client.cert_chain_pems[0].write_to_path(str(self.client_cert))
        self.client_key = folder / "client-key.pem"
        client.private_key_pem.write_to_path(str(self.client_key))
        key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
        self.client_key_encrypted = folder / "client-key-encrypted.pem"
        self.client_key_encrypted.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"passphrase"),
            )
        )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture(scope="module")
def tls_emulator(certificates: Certificates) -> Iterator[EmulatorServer]:
    with EmulatorServer(tls=EmulatorTLS(certfile=str(certificates.server))) as server:
        yield server


@pytest.fixture(scope="module")
def mutual_tls_emulator(certificates: Certificates) -> Iterator[EmulatorServer]:
    tls_files = EmulatorTLS(certfile=str(certificates.server), client_ca=str(certificates.ca))
    with EmulatorServer(tls=tls_files) as server:
        yield server


def tls_server(emulator: EmulatorServer, **fields: Any) -> ServerConfig:
    return outside_server(name="tls", base_url=f"{emulator.base_url}/v1", **fields)


async def list_models(server: ServerConfig) -> list[str]:
    http = HttpClient(server)
    try:
        body = await http.request_json("GET", "/models")
    finally:
        await http.aclose()
    return [model["id"] for model in body["data"]]


async def test_an_untrusted_certificate_names_the_host_and_ca_bundle(tls_emulator: EmulatorServer) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    http = HttpClient(tls_server(tls_emulator, max_retries=3), sleep=sleep)
    with pytest.raises(CertificateError) as caught:
        await http.request("GET", "/models")
    await http.aclose()
    message = str(caught.value)
    assert f"the TLS certificate of 127.0.0.1:{tls_emulator.port} was refused" in message
    if sys.platform == "linux":  # OpenSSL's words; macOS and Windows verify through their own APIs
        assert "was refused: unable to get local issuer certificate;" in message
    assert 'set ca_bundle = "/path/to/ca.pem" in this server\'s config' in message
    assert waits == [], "a refused certificate is not retried"


async def test_ca_bundle_makes_the_certificate_trusted(
    tls_emulator: EmulatorServer, certificates: Certificates
) -> None:
    assert await list_models(tls_server(tls_emulator, ca_bundle=certificates.ca)) == list(ASSISTANTS)


async def test_http_proxy_tunnels_https_with_connect(
    tls_emulator: EmulatorServer, certificates: Certificates
) -> None:
    async with TunnelProxy() as proxy:
        server = tls_server(tls_emulator, ca_bundle=certificates.ca, proxy=f"127.0.0.1:{proxy.port}")
        assert await list_models(server) == list(ASSISTANTS)
    assert proxy.targets == [("127.0.0.1", tls_emulator.port)]


def test_a_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "ca.pem"
    with pytest.raises(ValidationError, match=re.escape(f"ca_bundle: there is no file at {missing}")):
        outside_server(ca_bundle=missing)
    outside_server(ca_bundle=missing, enabled=False)  # a server kept aside is not checked

    config = tmp_path / "config.toml"
    config.write_text(
        f'[[servers]]\nname = "work"\nkind = "openai"\nbase_url = "{OUTSIDE}"\nca_bundle = "corp-ca.pem"\n'
    )
    with pytest.raises(ConfigError, match=r"servers\.0.*ca_bundle: there is no file at .*corp-ca\.pem"):
        load_settings(config)
    (tmp_path / "corp-ca.pem").write_text("")
    [server] = load_settings(config).servers
    assert server.ca_bundle == tmp_path / "corp-ca.pem", "relative to the config file's folder"


def test_a_ca_bundle_that_is_not_pem_is_said_at_first_use(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(
        NetworkSetupError, match=re.escape(f"server 'outside': ca_bundle {junk} cannot be used")
    ) as caught:
        HttpClient(outside_server(ca_bundle=junk))
    assert exit_code_for(caught.value) == EXIT_USAGE


async def test_client_certificate_is_presented(
    mutual_tls_emulator: EmulatorServer, certificates: Certificates
) -> None:
    trusted = {"ca_bundle": certificates.ca}
    with pytest.raises(ProviderError):
        await list_models(tls_server(mutual_tls_emulator, **trusted))
    in_one_file = tls_server(mutual_tls_emulator, client_cert=certificates.client_both, **trusted)
    assert await list_models(in_one_file) == list(ASSISTANTS)
    apart = tls_server(
        mutual_tls_emulator,
        client_cert=certificates.client_cert,
        client_key=certificates.client_key,
        **trusted,
    )
    assert await list_models(apart) == list(ASSISTANTS)


def test_an_encrypted_client_key_is_refused_without_a_prompt(certificates: Certificates) -> None:
    server = outside_server(
        client_cert=certificates.client_cert, client_key=certificates.client_key_encrypted
    )
    with pytest.raises(NetworkSetupError, match=r"client_key .* is encrypted"):
        HttpClient(server)


def test_client_key_needs_client_cert(certificates: Certificates) -> None:
    with pytest.raises(ValidationError, match="client_key needs client_cert"):
        outside_server(client_key=certificates.client_key)


def test_the_system_trust_store_is_used_with_certifi_as_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    import certifi
    import truststore

    assert isinstance(tls.system_trust_context(), truststore.SSLContext)
    monkeypatch.setitem(sys.modules, "truststore", None)  # `import truststore` now fails
    fallback = tls.system_trust_context()
    assert not isinstance(fallback, truststore.SSLContext)
    assert fallback.verify_mode == ssl.CERT_REQUIRED
    assert fallback.check_hostname
    with open(certifi.where(), encoding="ascii") as bundle:
        assert fallback.cert_store_stats()["x509_ca"] == bundle.read().count("BEGIN CERTIFICATE")


@pytest.mark.parametrize(
    ("code", "why", "hint"),
    [
        (20, "unable to get local issuer certificate", True),
        (62, "Hostname mismatch, certificate is not valid for 'x'.", False),
        (10, "certificate has expired", False),
    ],
)
def test_certificate_failures_hint_ca_bundle_only_where_it_helps(code: int, why: str, hint: bool) -> None:
    failure = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {why}")
    failure.verify_code, failure.verify_message = code, why
    message = tls.describe_certificate_failure(outside_server(), failure, through="http://***@proxy:3128")
    assert message.startswith(
        f"server 'outside': the TLS certificate of api.example.test (as seen through the proxy "
        f"http://***@proxy:3128) was refused: {why}"
    )
    assert ("ca_bundle" in message) is hint
