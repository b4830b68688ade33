"""The HTTP layer every provider shares: one httpx.AsyncClient per server with explicit timeouts,
our User-Agent, the token added per request, HTTPS enforced off loopback, same-host redirects only,
the server's proxy and TLS settings (never the environment's proxy for this machine), retries
(before any byte of an answer) and error responses and connection failures mapped to our error
classes, each saying what failed. Every response's rate-limit headers are noted in `limits`. The token
goes in `Authorization`, or where the server wants it in `X-Authorization` (`auth_header_order`); what
a server taught us (that header, its completions route) is kept between runs by a `HintsKeeper`."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from devic_tui import __version__
from devic_tui.config import ServerConfig
from devic_tui.providers.errors import (
    CertificateError,
    ConnectionFailedError,
    InsecureURLError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    RedirectRefusedError,
    StreamInterruptedError,
    error_from_response,
)
from devic_tui.providers.proxies import SETTING_SOURCE, ProxyRoute, proxy_for
from devic_tui.providers.remote_limits import LimitTracker
from devic_tui.providers.retry import RetryPolicy, next_delay, parse_retry_after
from devic_tui.providers.tls import certificate_failure, describe_certificate_failure, tls_context_for
from devic_tui.providers.tokens import resolve_token
from devic_tui.providers.urls import is_loopback_host
from devic_tui.server_hints import HintsKeeper, ServerHints

log = logging.getLogger("devic_tui.http")

USER_AGENT = f"devic-tui/{__version__}"
MAX_REDIRECTS = 5
WRITE_TIMEOUT = 60.0
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

AUTH_HEADER_NAMES = {"authorization": "Authorization", "x-authorization": "X-Authorization"}

ProgressCallback = Callable[[int, int], None]
Sleep = Callable[[float], Awaitable[None]]


def check_url_security(server: ServerConfig) -> None:
    """Refuse plain http:// to another machine unless the server opted out."""
    parts = urlsplit(server.resolved_base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecureURLError(
            f"server '{server.name}': base_url {server.resolved_base_url!r} is not an http(s) URL",
            server=server.name,
        )
    insecure = parts.scheme == "http" and not is_loopback_host(parts.hostname)
    if insecure and not server.allow_insecure_http:
        raise InsecureURLError(
            f"server '{server.name}': {parts.hostname} is reached over plain http://, which "
            "would send the token unencrypted; use https:// or set allow_insecure_http = true",
            server=server.name,
        )


def auth_header_order(server: ServerConfig) -> list[str]:
    """The headers to try the token in, in order: the one the config names, else `Authorization`,
    and for a Devs server (whose 2024 server reads only the legacy header) `X-Authorization` next."""
    if server.auth_header != "auto":
        return [server.auth_header]
    if server.kind == "devs":
        return ["authorization", "x-authorization"]
    return ["authorization"]


class ServerTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with one server's proxy and TLS settings, and nothing from the environment
    but what `proxy_for` takes from it; `route` is the proxy used (None: direct), for messages."""

    def __init__(self, server: ServerConfig) -> None:
        self.route = proxy_for(server)
        super().__init__(
            verify=tls_context_for(server),
            proxy=self.route.url if self.route else None,
            trust_env=False,
        )


def _failure_reason(error: BaseException) -> str:
    """The innermost cause of a connection failure in words ("Connection refused")."""
    innermost: BaseException = error
    seen = {id(error)}
    while (cause := innermost.__cause__ or innermost.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        innermost = cause
    if isinstance(innermost, socket.gaierror) and innermost.strerror:
        return innermost.strerror
    if isinstance(innermost, OSError) and innermost.errno and innermost.errno > 0:
        return os.strerror(innermost.errno)
    return str(innermost) or str(error) or type(error).__name__


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class HttpClient:
    """One server's connection pool and request policy."""

    def __init__(
        self,
        server: ServerConfig,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
        hints: HintsKeeper | None = None,
    ) -> None:
        check_url_security(server)
        self.server = server
        self.policy = policy or RetryPolicy(max_retries=server.max_retries)
        self._sleep = sleep
        self._token: str | None = None
        self._token_resolved = False
        self._auth_order = auth_header_order(server)
        self.auth_header = self._auth_order[0]
        """The header the token goes in: the first of the order until the server refuses it and
        takes the next (then that one, for the rest of the session)."""
        self._auth_settled = len(self._auth_order) == 1
        self.hints = ServerHints(base_url=server.resolved_base_url)
        """What this server taught us, in this run or (recalled from `keeper`) an earlier one."""
        self._keeper = hints
        self._hints_recalled = False
        # The limits this server's answers and refusals report: their headers here, what the
        # providers find in bodies there.
        self.limits = LimitTracker(server.name)
        transport = transport if transport is not None else ServerTransport(server)
        self.proxy: ProxyRoute | None = transport.route if isinstance(transport, ServerTransport) else None
        self._client = httpx.AsyncClient(
            base_url=server.resolved_base_url,
            timeout=httpx.Timeout(
                connect=server.connect_timeout,
                read=server.read_timeout,
                write=WRITE_TIMEOUT,
                pool=server.connect_timeout,
            ),
            headers={"User-Agent": USER_AGENT, **server.headers},
            follow_redirects=False,
            transport=transport,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"HttpClient(server={self.server.name!r}, base_url={self.server.resolved_base_url!r})"

    @property
    def name(self) -> str:
        return self.server.name

    async def aclose(self) -> None:
        await self._client.aclose()

    async def recall_hints(self) -> None:
        """Before the first request: start from the header that worked last time."""
        if self._hints_recalled or self._keeper is None:
            return
        self._hints_recalled = True
        self.hints = await self._keeper.recall(self.server)
        if not self._auth_settled and self.hints.auth_header in self._auth_order:
            self.auth_header = self.hints.auth_header

    async def learn(self, **facts: str) -> None:
        """Note what the server just showed (a `ServerHints` field each), kept for the next run."""
        await self.recall_hints()
        learned = self.hints.model_copy(update=facts)
        if learned == self.hints:
            return
        self.hints = learned
        if self._keeper is not None:
            await self._keeper.keep(self.server, learned)

    async def _auth_headers(self) -> dict[str, str]:
        if not self._token_resolved:
            self._token = await resolve_token(self.server)
            self._token_resolved = True
        return {AUTH_HEADER_NAMES[self.auth_header]: f"Bearer {self._token}"} if self._token else {}

    def _other_auth_header(self) -> str | None:
        """The header to try after a 401, while no answer has said which one this server reads."""
        if self._auth_settled or not self._token:
            return None
        return next((name for name in self._auth_order if name != self.auth_header), None)

    def _error(self, response: httpx.Response, body: str) -> ProviderError:
        return error_from_response(self.name, response, body, token_hint=self.server.token_source_hint())

    def connection_error(self, error: httpx.TransportError) -> ProviderError:
        """The ProviderError for a transport failure, saying what failed (the server, the proxy, TLS)."""
        url = self.server.resolved_base_url
        if isinstance(error, httpx.TimeoutException):
            if isinstance(error, httpx.ConnectTimeout):
                through = f" through the proxy {self.proxy.describe()}" if self.proxy else ""
                return ConnectionFailedError(
                    f"server '{self.name}' did not accept a connection within "
                    f"{self.server.connect_timeout:g} s ({url}){through}",
                    server=self.name,
                )
            return ProviderTimeoutError(
                f"server '{self.name}' stayed silent for {self.server.read_timeout:g} s",
                server=self.name,
            )
        if isinstance(error, httpx.ConnectError | httpx.ProxyError):
            certificate = certificate_failure(error)
            if certificate is not None:
                through = self.proxy.shown if self.proxy else ""
                return CertificateError(
                    describe_certificate_failure(self.server, certificate, through=through),
                    server=self.name,
                )
            return ConnectionFailedError(self._unreachable(error), server=self.name)
        return StreamInterruptedError(
            f"the connection to server '{self.name}' broke off ({type(error).__name__})",
            server=self.name,
        )

    def _unreachable(self, error: httpx.ConnectError | httpx.ProxyError) -> str:
        """What failed: the server itself, the connection to the proxy, or the proxy's own refusal."""
        reason = _failure_reason(error)
        url = self.server.resolved_base_url
        if self.proxy is None:
            return (
                f"cannot reach server '{self.name}' at {url} ({reason}): check the address and your network"
            )
        fix = (
            "check this server's proxy setting"
            if self.proxy.source == SETTING_SOURCE
            else f'check {self.proxy.source}, or set proxy (or proxy = "none") in this server\'s config'
        )
        proxy = self.proxy.shown
        if isinstance(error, httpx.ProxyError):  # the proxy answered, but would not carry the request
            return f"server '{self.name}': the proxy {proxy} refused to connect to {url} ({reason}); {fix}"
        return f"server '{self.name}': could not connect to proxy {proxy} for {url} ({reason}); {fix}"

    async def _send_following(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """Send, following redirects only while they stay on the configured origin."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._client.send(request, stream=stream)
            if response.status_code not in _REDIRECT_STATUSES or "location" not in response.headers:
                return response
            await response.aclose()
            target = request.url.join(response.headers["location"])
            if _origin(target) != _origin(request.url):
                raise RedirectRefusedError(
                    f"server '{self.name}' redirected to another host ({target.host}); "
                    "not following, as that would hand it your token",
                    server=self.name,
                    status=response.status_code,
                )
            method = request.method
            if response.status_code in (301, 302, 303) and method != "HEAD":
                method = "GET"
            headers = request.headers.copy()
            if method != request.method:
                # The body is dropped with the method change, so are the headers that describe it.
                for name in ("content-length", "content-type", "transfer-encoding"):
                    headers.pop(name, None)
            request = self._client.build_request(
                method,
                target,
                headers=headers,
                content=request.content if method == request.method else None,
            )
        raise RedirectRefusedError(
            f"server '{self.name}' redirected more than {MAX_REDIRECTS} times", server=self.name
        )

    async def _open(
        self, method: str, path: str, *, stream: bool, retry_reads: bool, **kwargs: Any
    ) -> httpx.Response:
        """A 2xx response (body unread when `stream`), after retries; otherwise a ProviderError."""
        await self.recall_hints()
        given = kwargs.pop("headers", None) or {}
        headers = {**given, **await self._auth_headers()}
        content_factory = kwargs.pop("content_factory", None)
        attempt = 0
        tried_both = False
        while True:
            if content_factory is not None:
                kwargs["content"] = content_factory()
            request = self._client.build_request(method, path, headers=headers, **kwargs)
            log.debug("%s %s (attempt %d)", method, request.url.path, attempt + 1)
            try:
                response = await self._send_following(request, stream=stream)
            except httpx.TransportError as error:
                mapped = self.connection_error(error)
                retry_this = mapped.retryable and (
                    isinstance(error, httpx.ConnectError | httpx.ConnectTimeout) or retry_reads
                )
                delay = next_delay(attempt, self.policy) if retry_this else None
                if delay is None:
                    raise mapped from None
                await self._sleep(delay)
                attempt += 1
                continue
            self.limits.note_headers(response.headers, status=response.status_code)
            if response.status_code != 401 and not self._auth_settled:
                self._auth_settled = True  # the server read the token from this header
                if self._token:
                    await self.learn(auth_header=self.auth_header)
            if response.is_success:
                return response
            body = (await response.aread()).decode("utf-8", "replace")
            await response.aclose()
            other = self._other_auth_header() if response.status_code == 401 and not tried_both else None
            if other is not None:
                log.info("%s %s -> 401 with %s: trying %s", method, request.url.path, self.auth_header, other)
                self.auth_header, tried_both = other, True
                headers = {**given, **await self._auth_headers()}
                continue
            if tried_both and response.status_code == 401:
                self.auth_header = self._auth_order[0]  # neither header worked: start over next time
            if response.status_code == 429:
                self.limits.note_payload(body)
            refused = self._error(response, body)
            log.debug("%s %s -> %d", method, request.url.path, response.status_code)
            retry_after = (
                refused.retry_after
                if isinstance(refused, RateLimitedError)
                else parse_retry_after(response.headers.get("retry-after"))
            )
            delay = next_delay(attempt, self.policy, status=response.status_code, retry_after=retry_after)
            if delay is None:
                raise refused
            await self._sleep(delay)
            attempt += 1

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send and read the whole body; GETs are also retried after a broken read."""
        response = await self._open(
            method, path, stream=False, retry_reads=method in ("GET", "HEAD"), **kwargs
        )
        return response

    async def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        return self.parse_json(response)

    def parse_json(self, response: httpx.Response) -> Any:
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            snippet = " ".join(response.text[:120].split())
            raise MalformedResponseError(
                f"server '{self.name}' answered with something that is not JSON: {snippet!r}",
                server=self.name,
            ) from None

    @asynccontextmanager
    async def stream(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """An open 2xx response to read incrementally; transport failures while reading are
        raised as StreamInterruptedError or ProviderTimeoutError."""
        response = await self._open(method, path, stream=True, retry_reads=False, **kwargs)
        try:
            yield response
        except httpx.TransportError as error:
            raise self.connection_error(error) from None
        finally:
            await response.aclose()

    async def upload(
        self,
        path: str,
        *,
        files: Mapping[str, tuple[str, bytes, str]],
        data: Mapping[str, str] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Any:
        """POST a multipart form, reporting (sent, total) bytes as the body goes out."""
        template = self._client.build_request("POST", path, files=files, data=data)
        total = int(template.headers.get("content-length", "0"))
        body = b"".join(template.stream)  # type: ignore[arg-type]

        async def counted() -> AsyncIterator[bytes]:
            step = 64 * 1024
            for start in range(0, len(body), step):
                yield body[start : start + step]
                if on_progress:
                    on_progress(min(start + step, len(body)), total)

        headers = {"content-type": template.headers["content-type"], "content-length": str(total)}
        if on_progress is None:
            return await self.request_json("POST", path, content=body, headers=headers)
        return await self.request_json("POST", path, content_factory=counted, headers=headers)
