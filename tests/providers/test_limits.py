"""Remote limits against the emulator over loopback: the OpenAI-compatible API's x-ratelimit headers
and the `limited` model (few requests left, the model gateway's `devic` usage block, then its 429
TENANT_LIMIT_EXCEEDED refusal) read into the server's LimitTracker and ChatService.tightest_limit;
the refusal is a RateLimitedError that says when the limit resets and is not waited for; the agent
API's X-RateLimit headers are read the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devic_tui.config import ServerConfig, Settings
from devic_tui.emulator import EmulatorServer
from devic_tui.emulator.devs import API_TOKEN_LIMIT, DevsState
from devic_tui.emulator.quotas import LIMITED_LIMIT, LIMITED_START, LIMITED_WINDOW, Quotas
from devic_tui.models import AssistantInfo
from devic_tui.providers import devs as devs_module
from devic_tui.providers.base import Provider, SendRequest
from devic_tui.providers.devs import DevsProvider
from devic_tui.providers.errors import RateLimitedError
from devic_tui.providers.events import Done, SendEvent
from devic_tui.providers.http import HttpClient
from devic_tui.providers.registry import create_provider
from devic_tui.providers.remote_limits import (
    SOURCE_DEVIC_USAGE,
    SOURCE_DEVS_USAGE,
    SOURCE_HEADERS,
    SOURCE_OPENAI,
    describe_limit,
)
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from tests.conftest import TEST_TOKEN
from tests.providers.events import collect_events, error_of, text_of


def ask(model: str, text: str = "how much is left?") -> SendRequest:
    return SendRequest(assistant_id=model, text=text)


async def collect(provider: Provider, request: SendRequest) -> list[SendEvent]:
    return await collect_events(provider.send(request))


def _raw(emulator: EmulatorServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=emulator.base_url + "/v1", headers={"Authorization": f"Bearer {TEST_TOKEN}"}
    )


def _completion(model: str, *, stream: bool = False) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}


# --- what the emulator sends ---------------------------------------------------------------------


async def test_every_completion_reports_its_requests_counting_down_per_model(
    emulator: EmulatorServer,
) -> None:
    emulator.state.options.openai_rate_limit = 50
    async with _raw(emulator) as client:
        first = await client.post("/chat/completions", json=_completion("echo"))
        second = await client.post("/chat/completions", json=_completion("echo", stream=True))
        other = await client.post("/chat/completions", json=_completion("markdown"))
    assert first.headers["x-ratelimit-limit-requests"] == "50"
    assert first.headers["x-ratelimit-remaining-requests"] == "49"
    assert second.headers["x-ratelimit-remaining-requests"] == "48"
    assert other.headers["x-ratelimit-remaining-requests"] == "49"
    assert first.headers["x-ratelimit-reset-requests"] in {"59s", "1m0s"}
    assert "devic" not in first.json()


async def test_limited_carries_the_gateway_usage_block_then_refuses(emulator: EmulatorServer) -> None:
    async with _raw(emulator) as client:
        answers = [
            await client.post("/chat/completions", json=_completion("limited")) for _ in range(LIMITED_START)
        ]
        refused = await client.post("/chat/completions", json=_completion("limited"))
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["3", "2", "1", "0"]
    assert {a.headers["x-ratelimit-limit-requests"] for a in answers} == {str(LIMITED_LIMIT)}
    [usage] = answers[0].json()["devic"]["usage"]
    assert (usage["scope"], usage["metric"], usage["limit"]) == ("tenant", "tokens", 10_000)
    assert usage["current"] == answers[0].json()["usage"]["total_tokens"]
    assert refused.status_code == 429
    body = refused.json()
    assert (body["statusCode"], body["error"]) == (429, "TENANT_LIMIT_EXCEEDED")
    assert body["details"]["allowed"] is False
    assert (body["details"]["current"], body["details"]["limit"]) == (LIMITED_LIMIT, LIMITED_LIMIT)
    resets_at = datetime.fromisoformat(body["details"]["resetsAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=3) < resets_at - datetime.now(UTC) <= timedelta(seconds=LIMITED_WINDOW)
    assert int(refused.headers["retry-after"]) == body["retryAfter"] > 180


async def test_limited_streams_the_usage_block_in_its_last_chunk(emulator: EmulatorServer) -> None:
    async with _raw(emulator) as client:
        answer = await client.post("/chat/completions", json=_completion("limited", stream=True))
    chunks = [line for line in answer.text.splitlines() if line.startswith("data: {")]
    assert '"devic"' in chunks[-1]
    assert not any('"devic"' in chunk for chunk in chunks[:-1])


# --- read by the client --------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_after_a_send_to_limited_the_tightest_limit_is_3_of_100_requests(
    make_provider: Callable[..., Provider], stream: bool
) -> None:
    provider = make_provider("openai", stream=stream)
    events = await collect(provider, ask("limited"))
    assert isinstance(events[-1], Done)
    assert "how much is left?" in text_of(events)  # answers like echo
    tracker = provider.http.limits
    tightest = tracker.tightest()
    assert tightest is not None
    assert (tightest.scope, tightest.metric) == ("requests", "requests")
    assert (tightest.limit, tightest.remaining) == (100, 3)
    assert tightest.source == SOURCE_OPENAI
    assert describe_limit(tightest) == "limit 3/100 requests, resets in 4 m"
    tokens = [r for r in tracker.readings() if r.source == SOURCE_DEVIC_USAGE]
    assert [(r.scope, r.metric, r.limit) for r in tokens] == [("tenant", "tokens", 10_000)]


@pytest.mark.parametrize("stream", [True, False])
async def test_the_refusal_says_when_the_limit_resets_and_is_not_waited_for(
    server_config: Callable[..., ServerConfig], emulator: EmulatorServer, stream: bool
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    provider = create_provider(server_config("openai", stream=stream), sleep=sleep)
    try:
        for _ in range(LIMITED_START):
            assert isinstance((await collect(provider, ask("limited")))[-1], Done)
        events = await collect(provider, ask("limited"))
    finally:
        await provider.aclose()
    error = error_of(events)
    assert isinstance(error, RateLimitedError)
    assert error.status == 429
    assert error.resets_at is not None
    left = error.resets_at - datetime.now(UTC)
    assert timedelta(minutes=3) < left <= timedelta(seconds=LIMITED_WINDOW)
    assert "usage limit is reached (429); it resets in 4 m" in str(error)
    assert "Tenant limit exceeded" in str(error)
    assert error.retry_after is not None
    assert error.retry_after > 180
    assert waits == []  # the reset is past the retry cap: failed at once, not waited for
    assert len(emulator.state.requests_for("openai")) == LIMITED_START + 1
    tightest = provider.http.limits.tightest()
    assert tightest is not None
    assert (tightest.remaining, tightest.limit) == (0, 100)


async def test_the_http_client_raises_the_refusal_and_notes_it(emulator: EmulatorServer) -> None:
    server = ServerConfig(name="gw", kind="openai", base_url=emulator.base_url + "/v1", token=TEST_TOKEN)
    http = HttpClient(server)
    try:
        for _ in range(LIMITED_START):
            await http.request("POST", "/chat/completions", json=_completion("limited"))
        with pytest.raises(RateLimitedError, match="resets in 4 m") as caught:
            await http.request("POST", "/chat/completions", json=_completion("limited"))
    finally:
        await http.aclose()
    assert caught.value.resets_at is not None
    readings = http.limits.readings()
    assert {(r.scope, r.metric) for r in readings} >= {("requests", "requests"), ("tenant", "requests")}
    assert all(r.remaining == 0 for r in readings if r.metric == "requests")


async def test_limited_answers_again_once_its_window_starts_again(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    provider = make_provider("openai", stream=False, max_retries=0)
    for _ in range(LIMITED_START):
        await collect(provider, ask("limited"))
    assert isinstance(error_of(await collect(provider, ask("limited"))), RateLimitedError)
    quotas: Quotas = emulator.state.apis["openai-quotas"]
    quotas.windows["limited"].started -= LIMITED_WINDOW + 1  # the window is over
    assert isinstance((await collect(provider, ask("limited")))[-1], Done)
    tightest = provider.http.limits.tightest()
    assert tightest is not None
    assert (tightest.remaining, tightest.limit) == (3, 100)


async def test_the_agent_apis_x_ratelimit_headers_are_read(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    emulator.state.options.agent_rate_limit = 5
    provider = make_provider("agent", stream=False)
    await collect(provider, ask("echo"))
    tightest = provider.http.limits.tightest()
    assert tightest is not None
    assert (tightest.scope, tightest.limit, tightest.remaining) == ("requests", 5, 4)
    assert tightest.resets_at == datetime(2100, 1, 1, tzinfo=UTC)
    assert tightest.source == SOURCE_HEADERS


async def test_the_service_reports_the_tightest_limit_without_asking_the_server(
    server_config: Callable[..., ServerConfig], emulator: EmulatorServer, tmp_path: Path
) -> None:
    server = server_config("openai", stream=False)
    service = ChatService(Settings(servers=[server]), store=TranscriptStore(tmp_path / "transcripts"))
    try:
        assert service.tightest_limit("emu-openai") is None
        assert service.tightest_limit("no-such-server") is None
        assert emulator.state.requests_for("openai") == []
        conversation = service.new_conversation("emu-openai", AssistantInfo(id="limited", name="Limited"))
        turn = await service.start_turn(conversation, "hello", [])
        await collect_events(turn.events())
        tightest = service.tightest_limit("emu-openai")
        assert tightest is not None
        assert describe_limit(tightest) == "limit 3/100 requests, resets in 4 m"
    finally:
        await service.aclose()


# --- the Devs platform's usage endpoint ----------------------------------------------------------


async def test_the_devs_usage_endpoint_gives_the_organisations_token_limit(
    server_config: Callable[..., ServerConfig],
    emulator: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(devs_module, "LIMITS_EVERY", 0.0)
    server = server_config("devs")
    service = ChatService(Settings(servers=[server]), store=TranscriptStore(tmp_path / "transcripts"))
    try:
        conversation = service.new_conversation("emu-devs", AssistantInfo(id="echo", name="Echo"))
        turn = await service.start_turn(conversation, "one two three four five six seven eight", [])
        await collect_events(turn.events())
        await service.refresh_limits("emu-devs")
        tightest = service.tightest_limit("emu-devs")
        assert tightest is not None
        assert (tightest.scope, tightest.metric, tightest.limit) == (
            "organisation",
            "API tokens",
            API_TOKEN_LIMIT,
        )
        assert tightest.source == SOURCE_DEVS_USAGE
        used = API_TOKEN_LIMIT - tightest.remaining
        assert used > 8  # the prompt's words and the answer's
        assert service.limit_warning("emu-devs") is None  # plenty left
        emulator.state.api_state("devs", DevsState).api_token_limit = int(used) + 3
        await service.refresh_limits("emu-devs")
        assert service.limit_warning("emu-devs") == f"limit 3/{int(used) + 3} API tokens (organisation)"
        usage_asked = [r for r in emulator.state.requests_for("devs") if r.path.endswith("/usage/ai")]
        assert len(usage_asked) == 2
    finally:
        await service.aclose()


async def test_a_devs_server_without_the_usage_endpoint_shows_no_limit_and_is_not_asked_again(
    server_config: Callable[..., ServerConfig],
    emulator: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(devs_module, "LIMITS_EVERY", 0.0)
    server = server_config("devs", base_url=emulator.base_url + "/no-such-platform")
    asked: list[str] = []
    real_usage = DevsProvider.usage

    async def counted_usage(provider: DevsProvider) -> dict[str, Any]:
        asked.append(provider.name)
        return await real_usage(provider)

    monkeypatch.setattr(DevsProvider, "usage", counted_usage)
    service = ChatService(Settings(servers=[server]), store=TranscriptStore(tmp_path / "transcripts"))
    try:
        await service.refresh_limits("emu-devs")
        await service.refresh_limits("emu-devs")
        assert service.tightest_limit("emu-devs") is None
        assert asked == ["emu-devs"]  # the 404 said the route is not there: not asked again
    finally:
        await service.aclose()
