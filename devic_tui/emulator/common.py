"""What every emulated API shares: the state object, request recording, the bearer-token check,
the fault modes chosen by assistant name, and the error each API renders in its own body shape."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from devic_tui.emulator.scripts import ASSISTANTS

BAD_TOKEN = "bad-token"
AUTH_HEADERS = ("authorization", "x-authorization")
"""The headers a token may come in (Devs also takes the legacy `X-Authorization`); never recorded."""
READONLY_TOKEN = "readonly-token"
"""A token the Devs API accepts but refuses (403) creating and editing AIs with."""


@dataclass
class EmulatorOptions:
    """Pacing of the emulator's answers; tests make them fast, the demo makes them visible."""

    chunk_delay: float = 0.0
    """Seconds between streamed chunks."""
    chunk_size: int = 12
    """Characters per streamed chunk."""
    slow_delay: float = 0.3
    """Seconds between chunks for the `slow` assistant."""
    hang_seconds: float = 3600.0
    """How long the `hang` assistant stays silent."""
    message_delay: float = 0.3
    """Devic async mode: seconds before each assistant message lands."""
    realtime_ttl: float = 600.0
    """Devic async mode: seconds a live record is kept before polling it answers 404."""
    agent_rate_limit: int = 1000
    """Agent API: requests allowed per window, reported in X-RateLimit-* headers."""
    openai_rate_limit: int = 1000
    """OpenAI-compatible API: requests allowed per model per minute, reported in
    x-ratelimit-*-requests headers (the `limited` assistant has its own, see `quotas`)."""
    index_seconds: float = 4.0
    """Devs knowledge: seconds a new (or refreshed) data source takes to index, its percentage
    rising meanwhile (long enough to watch in the demo; tests make it short)."""
    listed: tuple[str, ...] | None = None
    """The assistants the listing calls show (all when None); the others still answer by name."""
    unlisting_apis: tuple[str, ...] = ()
    """APIs (`devic`, `devs`, `openai`) whose assistant listing answers 404, as on a server that
    has none; their sends still answer. With `ollama` or `lmstudio`, that server's model route
    (`openai_server`) answers 404."""
    long_chars: int = 80_000
    """About how many characters the `long` assistant answers with (OpenAI-compatible API; it ends
    at the first section past this), streamed in `chunk_size` pieces like any other answer."""
    devs_dialect: Literal["events", "2024"] = "events"
    """How the Devs API under `/api/v1` speaks (contract §4); the one under `/devs-2024/api/v1` always
    speaks 2024. `events`: the seed's, with named SSE events. `2024`: the platform's own server of
    April 2024: the token only in `X-Authorization` (a request carrying `Authorization` is refused),
    answers streamed as `text/plain` and stored as `system` messages, flat chats in no order,
    `/me/chats`, reset to a new chat id, duplicate by `PUT` without the messages, and no tool-output,
    chat-file or completion routes."""
    devic_generated_answers: bool = False
    """Devic sync sends answer like a server generated from the OpenAPI document: a ChatHistory
    whose `messages` never hold the message sent, only the assistant's replies so far followed by
    the example user message a generator fills in (content `string`)."""
    openai_server: Literal["vllm", "openai", "ollama", "lmstudio"] = "vllm"
    """Which server the OpenAI-compatible API's model listing answers like, and so where a client
    finds a model's context window: `vllm` (each entry carries `max_model_len`), `openai` (no window
    anywhere, as OpenAI's own API), `ollama` (entries `owned_by: library` without a window, and
    `POST /api/show` answers), `lmstudio` (entries `owned_by: organization_owner` without a window,
    and `GET /api/v0/models/{id}` answers). The native routes of the others answer 404."""

    def listed_assistants(self) -> list[str]:
        return [name for name in ASSISTANTS if self.listed is None or name in self.listed]


@dataclass
class RecordedRequest:
    api: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    auth_header: str | None = None
    """The header the token came in (`authorization`, `x-authorization`), the token itself not kept."""


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        headers: dict[str, str] | None = None,
        plain: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or {
            400: "BAD_REQUEST",
            401: "UNAUTHORIZED",
            403: "FORBIDDEN",
            404: "NOT_FOUND",
            409: "CONFLICT",
            413: "PAYLOAD_TOO_LARGE",
            429: "RATE_LIMITED",
            500: "INTERNAL_ERROR",
        }.get(status, "ERROR")
        self.headers = headers or {}
        self.plain = plain
        """Answer with the bare message as text/plain (as some servers refuse a token)."""


@dataclass
class EmulatorState:
    options: EmulatorOptions = field(default_factory=EmulatorOptions)
    requests: list[RecordedRequest] = field(default_factory=list)
    fault_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    apis: dict[str, Any] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def api_state(self, name: str, factory: Callable[[], Any]) -> Any:
        if name not in self.apis:
            self.apis[name] = factory()
        return self.apis[name]

    def requests_for(self, api: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.api == api]

    def spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def state_of(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, "the body is not valid JSON") from None


def bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer …`, else a 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token")
    return token.strip()


Authenticate = Callable[[Request], str]


async def record(request: Request, api: str, authenticate: Authenticate = bearer_token) -> Any:
    """Check the token, log the request (never the token) and return its JSON body if any."""
    content_type = request.headers.get("content-type", "")
    body: Any = None
    if "multipart/form-data" not in content_type:
        body = await read_json(request)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in AUTH_HEADERS}
    auth_header = next((name for name in AUTH_HEADERS if name in request.headers), None)
    state_of(request).requests.append(
        RecordedRequest(
            api, request.method, request.url.path, dict(request.query_params), body, headers, auth_header
        )
    )
    if authenticate(request) == BAD_TOKEN:
        raise ApiError(401, "invalid token")
    return body


def apply_faults(state: EmulatorState, api: str, name: str, *, on_send: bool = True) -> None:
    """Raise the ApiError a fault-mode assistant answers with, if this call should fail."""
    if name not in ASSISTANTS or name == "missing":
        raise ApiError(404, f"assistant '{name}' not found")
    if name == "unauthorized":
        raise ApiError(401, "this assistant refuses every token")
    if not on_send:
        return
    key = (api, name)
    state.fault_counts[key] += 1
    count = state.fault_counts[key]
    if name == "ratelimit-once" and count == 1:
        raise ApiError(429, "rate limit exceeded, slow down", headers={"Retry-After": "1"})
    if name == "flaky" and count <= 2:
        raise ApiError(500, "internal error (the flaky assistant fails twice)")


def check_listing(state: EmulatorState, api: str) -> None:
    """Raise the 404 of a server without an assistant listing, when the options say so."""
    if api in state.options.unlisting_apis:
        raise ApiError(404, "Cannot GET the assistant listing: there is no such route")


def answer_delay(state: EmulatorState, name: str) -> float:
    return state.options.slow_delay if name == "slow" else state.options.chunk_delay


ErrorRenderer = Callable[[ApiError], Response]
Handler = Callable[[Request], Awaitable[Response]]


def endpoint(
    api: str, render_error: ErrorRenderer, authenticate: Authenticate = bearer_token
) -> Callable[[Handler], Handler]:
    """Wrap a handler: record and authenticate the request, render ApiErrors in the API's shape."""

    def wrap(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                await record(request, api, authenticate)
                return await handler(request)
            except ApiError as error:
                response = render_error(error)
                response.headers.update(error.headers)
                return response

        wrapped.__name__ = handler.__name__
        return wrapped

    return wrap
