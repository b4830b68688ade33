"""The shared HTTP layer (providers/http.py) at the protocol level, mostly through httpx.MockTransport
for what a real emulator cannot produce: URL security, redirects, status-to-error mapping, Retry-After,
retries before (and never after) the first byte, JSON parsing, and the token kept out of every text."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from devic_tui.config import ServerConfig
from devic_tui.providers.errors import (
    AuthError,
    BadRequestError,
    ConnectionFailedError,
    ForbiddenError,
    InsecureURLError,
    MalformedResponseError,
    NotFoundError,
    PayloadTooLargeError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    RedirectRefusedError,
    ServerError,
    StreamInterruptedError,
)
from devic_tui.providers.http import MAX_REDIRECTS, USER_AGENT, HttpClient, is_loopback_host
from devic_tui.providers.registry import create_provider
from devic_tui.providers.retry import RetryPolicy

TOKEN = "sk-http-layer-secret-7c1e"
BASE = "https://api.example/v1"

Handler = Callable[[httpx.Request], httpx.Response]


def server(**fields: Any) -> ServerConfig:
    fields.setdefault("name", "mock")
    fields.setdefault("kind", "openai")
    fields.setdefault("base_url", BASE)
    fields.setdefault("token", TOKEN)
    return ServerConfig(**fields)


class Recorder:
    """A MockTransport handler that records every request and answers from a list (the last repeats)."""

    def __init__(self, *answers: httpx.Response | Handler | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client(recorder: Recorder, sleeps: Sleeps | None = None, **fields: Any) -> HttpClient:
    return HttpClient(server(**fields), transport=httpx.MockTransport(recorder), sleep=sleeps or Sleeps())


# --- URL security ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://example.com/v1", "http://10.0.0.8:8080", "http://api.devic.ai"])
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(InsecureURLError, match="allow_insecure_http"):
        HttpClient(server(base_url=url))
    with pytest.raises(InsecureURLError):
        create_provider(server(base_url=url))


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com/v1", "https://"])
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(InsecureURLError, match="not an http"):
        HttpClient(server(base_url=url))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:1234/v1", "http://[::1]:9000", "https://example.com"]
)
async def test_loopback_and_https_are_allowed(url: str) -> None:
    await HttpClient(server(base_url=url)).aclose()


async def test_allow_insecure_http_opts_out() -> None:
    await HttpClient(server(base_url="http://example.com/v1", allow_insecure_http=True)).aclose()


def test_is_loopback_host() -> None:
    assert is_loopback_host("localhost")
    assert is_loopback_host("127.0.0.2")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("example.com")
    assert not is_loopback_host("192.168.1.1")


# --- headers -------------------------------------------------------------------------------------


async def test_token_user_agent_and_extra_headers_are_sent() -> None:
    recorder = Recorder(httpx.Response(200, json={"ok": True}))
    http = client(recorder, headers={"x-user-identifier": "u-1"})
    assert await http.request_json("GET", "/models") == {"ok": True}
    await http.aclose()
    [request] = recorder.requests
    assert request.url == "https://api.example/v1/models"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["x-user-identifier"] == "u-1"


async def test_no_token_source_sends_no_authorization() -> None:
    recorder = Recorder(httpx.Response(200, json=[]))
    http = HttpClient(server(token=None), transport=httpx.MockTransport(recorder))
    await http.request("GET", "/models")
    await http.aclose()
    assert "authorization" not in recorder.requests[0].headers


# --- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/steal",
        "//evil.example/steal",
        "http://api.example/v1/other",  # the same host, but the token would travel unencrypted
        "https://api.example:8443/v1/other",
    ],
)
async def test_redirect_to_another_origin_is_refused(location: str) -> None:
    recorder = Recorder(httpx.Response(302, headers={"location": location}))
    http = client(recorder)
    with pytest.raises(RedirectRefusedError, match="redirected to another host") as caught:
        await http.request("POST", "/chat/completions", json={"model": "m"})
    await http.aclose()
    assert len(recorder.requests) == 1  # the other host never got a request, let alone the token
    assert recorder.requests[0].url.host == "api.example"
    assert caught.value.status == 302
    assert TOKEN not in str(caught.value)


async def test_redirect_refused_when_streaming_too() -> None:
    recorder = Recorder(httpx.Response(307, headers={"location": "https://evil.example/x"}))
    http = client(recorder)
    with pytest.raises(RedirectRefusedError):
        async with http.stream("POST", "/chat/completions", json={}):
            pass
    await http.aclose()
    assert [r.url.host for r in recorder.requests] == ["api.example"]


@pytest.mark.parametrize("status", [307, 308])
async def test_same_host_redirect_is_followed_with_method_and_body(status: int) -> None:
    recorder = Recorder(
        lambda r: (
            httpx.Response(status, headers={"location": "/v2/chat"})
            if r.url.path == "/v1/chat"
            else httpx.Response(200, json={"moved": True})
        )
    )
    http = client(recorder)
    assert await http.request_json("POST", "/chat", json={"a": 1}) == {"moved": True}
    await http.aclose()
    first, second = recorder.requests
    assert str(second.url) == "https://api.example/v2/chat"
    assert second.method == "POST"
    assert second.content == first.content == b'{"a":1}'
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


async def test_same_host_redirect_of_a_get() -> None:
    recorder = Recorder(
        lambda r: (
            httpx.Response(301, headers={"location": "https://api.example/v1/models/"})
            if r.url.path == "/v1/models"
            else httpx.Response(200, json={"data": []})
        )
    )
    http = client(recorder)
    assert await http.request_json("GET", "/models") == {"data": []}
    await http.aclose()
    assert [r.url.path for r in recorder.requests] == ["/v1/models", "/v1/models/"]


async def test_see_other_redirect_turns_post_into_a_clean_get() -> None:
    recorder = Recorder(
        lambda r: (
            httpx.Response(303, headers={"location": "/v1/result"})
            if r.method == "POST"
            else httpx.Response(200, json={"done": True})
        )
    )
    http = client(recorder)
    assert await http.request_json("POST", "/chat", json={"a": 1}) == {"done": True}
    await http.aclose()
    get = recorder.requests[1]
    assert get.method == "GET"
    assert get.content == b""
    assert "content-length" not in get.headers or get.headers["content-length"] == "0"


async def test_redirect_loop_is_cut() -> None:
    recorder = Recorder(lambda r: httpx.Response(307, headers={"location": r.url.path + "x"}))
    http = client(recorder)
    with pytest.raises(RedirectRefusedError, match=f"more than {MAX_REDIRECTS} times"):
        await http.request("GET", "/loop")
    await http.aclose()
    assert len(recorder.requests) == MAX_REDIRECTS + 1


# --- statuses to errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "words"),
    [
        (400, BadRequestError, "refused the request (400)"),
        (401, AuthError, "refused the token (401): check the token in the config file"),
        (403, ForbiddenError, "does not allow this (403)"),
        (404, NotFoundError, "has no such thing (404)"),
        (409, BadRequestError, "refused the request (409)"),
        (413, PayloadTooLargeError, "too large (413)"),
        (422, BadRequestError, "(422)"),
        (429, RateLimitedError, "rate limiting requests (429); wait and try again"),
        (500, ServerError, "failed (500)"),
        (502, ServerError, "failed (502)"),
        (503, ServerError, "failed (503)"),
    ],
)
async def test_status_maps_to_its_error_class(status: int, expected: type[ProviderError], words: str) -> None:
    recorder = Recorder(httpx.Response(status, json={"error": {"message": "the server's own words"}}))
    http = client(recorder, max_retries=0)
    with pytest.raises(ProviderError) as caught:
        await http.request("POST", "/chat", json={})
    await http.aclose()
    error = caught.value
    assert type(error) is expected
    assert error.status == status
    assert error.server == "mock"
    assert words in str(error)
    assert "the server's own words" in str(error)
    assert str(error).startswith("server 'mock'")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"message": "top-level message"}, "top-level message"),
        ({"error": "a plain string"}, "a plain string"),
        ({"statusCode": 404, "message": "Nest says no"}, "Nest says no"),
        ({"detail": "FastAPI says no"}, "FastAPI says no"),
    ],
)
async def test_error_message_found_in_every_body_shape(body: dict[str, Any], said: str) -> None:
    http = client(Recorder(httpx.Response(404, json=body)))
    with pytest.raises(NotFoundError, match=said):
        await http.request("GET", "/x")
    await http.aclose()


async def test_html_error_body_is_described_not_dumped() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000 + "</body></html>"
    http = client(Recorder(httpx.Response(502, text=page)), max_retries=0)
    with pytest.raises(ServerError) as caught:
        await http.request("GET", "/x")
    await http.aclose()
    message = str(caught.value)
    assert "answered with HTML, not JSON" in message
    assert len(message) < 400


async def test_empty_error_body_uses_the_reason_phrase() -> None:
    http = client(Recorder(httpx.Response(503)), max_retries=0)
    with pytest.raises(ServerError, match="Service Unavailable"):
        await http.request("GET", "/x")
    await http.aclose()


# --- retries and Retry-After ---------------------------------------------------------------------


async def test_retry_after_seconds_is_honoured() -> None:
    recorder = Recorder(httpx.Response(429, headers={"retry-after": "2"}), httpx.Response(200, json={}))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    await http.request("POST", "/chat", json={})
    await http.aclose()
    assert sleeps.delays == [2.0]
    assert len(recorder.requests) == 2


async def test_retry_after_http_date_is_honoured() -> None:
    when = formatdate(time.time() + 10, usegmt=True)
    recorder = Recorder(httpx.Response(429, headers={"retry-after": when}), httpx.Response(200, json={}))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    await http.request("GET", "/x")
    await http.aclose()
    [delay] = sleeps.delays
    assert 8.0 <= delay <= 10.0


async def test_retry_after_beyond_the_cap_gives_up_at_once() -> None:
    recorder = Recorder(httpx.Response(429, headers={"retry-after": "3600"}))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    with pytest.raises(RateLimitedError, match="try again in 3600 s") as caught:
        await http.request("GET", "/x")
    await http.aclose()
    assert caught.value.retry_after == 3600.0
    assert sleeps.delays == []
    assert len(recorder.requests) == 1


async def test_server_errors_back_off_then_succeed() -> None:
    recorder = Recorder(httpx.Response(500), httpx.Response(502), httpx.Response(200, json={"ok": 1}))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    assert await http.request_json("GET", "/x") == {"ok": 1}
    await http.aclose()
    policy = RetryPolicy()
    assert len(sleeps.delays) == 2
    assert policy.base_delay * 0.5 <= sleeps.delays[0] <= policy.base_delay
    assert policy.base_delay <= sleeps.delays[1] <= policy.base_delay * 2


async def test_retries_stop_at_max_retries() -> None:
    recorder = Recorder(httpx.Response(503))
    sleeps = Sleeps()
    http = client(recorder, sleeps, max_retries=2)
    with pytest.raises(ServerError):
        await http.request("GET", "/x")
    await http.aclose()
    assert len(recorder.requests) == 3
    assert len(sleeps.delays) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
async def test_client_errors_are_not_retried(status: int) -> None:
    recorder = Recorder(httpx.Response(status))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    with pytest.raises(ProviderError):
        await http.request("GET", "/x")
    await http.aclose()
    assert len(recorder.requests) == 1
    assert sleeps.delays == []


async def test_retry_after_on_503_is_honoured() -> None:
    recorder = Recorder(httpx.Response(503, headers={"retry-after": "4"}), httpx.Response(200, json={}))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    await http.request("GET", "/x")
    await http.aclose()
    assert sleeps.delays == [4.0]


async def test_connection_failures_are_retried_then_reported() -> None:
    refused = httpx.ConnectError("connection refused")
    recorder = Recorder(refused, refused, httpx.Response(200, json={}))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    await http.request("POST", "/chat", json={})
    assert len(recorder.requests) == 3
    failing = client(Recorder(refused), Sleeps(), max_retries=1)
    with pytest.raises(ConnectionFailedError, match="check the address and your network"):
        await failing.request("POST", "/chat", json={})
    await http.aclose()
    await failing.aclose()


async def test_connect_timeout_says_connect() -> None:
    http = client(Recorder(httpx.ConnectTimeout("slow")), max_retries=0, connect_timeout=2)
    with pytest.raises(ConnectionFailedError, match="did not accept a connection within 2 s"):
        await http.request("GET", "/x")
    await http.aclose()


async def test_read_timeout_of_a_post_is_not_retried() -> None:
    recorder = Recorder(httpx.ReadTimeout("silent"))
    http = client(recorder, read_timeout=7)
    with pytest.raises(ProviderTimeoutError, match="stayed silent for 7 s"):
        await http.request("POST", "/chat", json={})
    await http.aclose()
    assert len(recorder.requests) == 1


async def test_broken_read_of_a_get_is_retried() -> None:
    recorder = Recorder(httpx.ReadError("reset"), httpx.Response(200, json={"ok": True}))
    http = client(recorder)
    assert await http.request_json("GET", "/x") == {"ok": True}
    await http.aclose()
    assert len(recorder.requests) == 2


class BreaksAfter(httpx.AsyncByteStream):
    """A body that sends some bytes, then the connection breaks."""

    def __init__(self, *chunks: bytes, error: Exception) -> None:
        self.chunks = chunks
        self.error = error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ReadError("reset by peer"), StreamInterruptedError),
        (httpx.RemoteProtocolError("peer closed"), StreamInterruptedError),
        (httpx.ReadTimeout("silent"), ProviderTimeoutError),
    ],
)
async def test_no_retry_after_the_first_byte_of_a_stream(
    error: Exception, expected: type[ProviderError]
) -> None:
    body = BreaksAfter(b'data: {"chunk": "hel"}\n\n', error=error)
    recorder = Recorder(httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body))
    sleeps = Sleeps()
    http = client(recorder, sleeps)
    received: list[bytes] = []

    async def read() -> None:
        async with http.stream("POST", "/chat", json={}) as response:
            async for chunk in response.aiter_bytes():
                received.append(chunk)

    with pytest.raises(expected):
        await read()
    await http.aclose()
    assert received == [b'data: {"chunk": "hel"}\n\n']
    assert len(recorder.requests) == 1
    assert sleeps.delays == []


async def test_stream_retries_before_the_first_byte() -> None:
    recorder = Recorder(httpx.Response(503), httpx.Response(200, text="data: ok\n\n"))
    http = client(recorder)
    async with http.stream("POST", "/chat", json={}) as response:
        assert (await response.aread()) == b"data: ok\n\n"
    await http.aclose()
    assert len(recorder.requests) == 2


# --- JSON ----------------------------------------------------------------------------------------


async def test_html_with_200_is_malformed() -> None:
    page = "<!doctype html><html><body>Sign in to continue</body></html>"
    http = client(Recorder(httpx.Response(200, text=page, headers={"content-type": "text/html"})))
    with pytest.raises(MalformedResponseError, match="not JSON: '<!doctype html>"):
        await http.request_json("GET", "/x")
    await http.aclose()


async def test_empty_200_body_is_none() -> None:
    http = client(Recorder(httpx.Response(204)))
    assert await http.request_json("DELETE", "/x") is None
    await http.aclose()


# --- the token never shows -----------------------------------------------------------------------


async def test_token_is_never_in_errors_or_reprs() -> None:
    echoed = {"error": {"message": f"invalid api key {TOKEN}"}}
    http = client(Recorder(httpx.Response(401, json=echoed)))
    with pytest.raises(AuthError) as caught:
        await http.request("GET", "/x")
    await http.aclose()
    error = caught.value
    assert "invalid api key ***" in str(error)
    for text in (str(error), repr(error), error.message, repr(http), repr(http.server), str(http.server)):
        assert TOKEN not in text


@pytest.mark.parametrize(
    "make_error",
    [
        lambda: httpx.Response(302, headers={"location": f"https://evil.example/?t={TOKEN}"}),
        lambda: httpx.Response(500, text=f"traceback ... Authorization: Bearer {TOKEN}"),
        lambda: httpx.Response(429, text=TOKEN),
    ],
)
async def test_token_echoed_by_a_server_is_masked(make_error: Callable[[], httpx.Response]) -> None:
    http = client(Recorder(make_error()), max_retries=0)
    with pytest.raises(ProviderError) as caught:
        await http.request("GET", "/x")
    await http.aclose()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value)
