"""OpenAI-compatible chat completions (contract §3): `POST {base}/chat/completions` with the whole
history each time, answered as JSON or as SSE chunks (OpenAI's `choices[0].delta.content`, or the Devs
platform's named events, §4), and `GET {base}/models` to list what can be chatted with. The Devs
platform's completions are at `/chats/completions` (§4): `completions_order` says which path is
tried first, and the one that answers is kept in the HTTP client's hints.

The stream is decoded in layers: `iter_sse` turns bytes into events, and `_Answer` turns each event
into our typed events while it keeps what the final `Done` needs (model, finish reason, usage)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from devic_tui.config import ServerConfig
from devic_tui.knowledge_models import AssistantDetails
from devic_tui.models import AssistantInfo, Usage
from devic_tui.providers.base import MISSING_ROUTE, Capabilities, Provider, SendRequest, guarded
from devic_tui.providers.errors import (
    ConnectionFailedError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    ServerError,
)
from devic_tui.providers.events import Done, Notice, SendEvent, TextDelta, UsageReport
from devic_tui.providers.http import HttpClient
from devic_tui.providers.limits import capped_text, stream_too_long
from devic_tui.providers.model_windows import ModelWindows
from devic_tui.providers.parsing import as_list, first_str, parse_time
from devic_tui.providers.remote_limits import LimitTracker
from devic_tui.providers.sse import event_json, is_done_marker, iter_sse

PATHS = {"chat": "/chat/completions", "models": "/models"}
DEVS_COMPLETIONS = "/chats/completions"
"""Where the Devs platform answers completions (`/chat/completions` is its alias)."""
DEVS_API_ROOT = "/api/v1"
SAMPLING_PARAMETERS = ("temperature", "top_p", "max_tokens")
"""The chat settings an OpenAI-compatible request carries in its body, by their API names."""
ANSWER_SETTINGS = ("system_prompt", *SAMPLING_PARAMETERS)

# Devs-style stream (contract §4): event names, and where each looks for its text.
DEVS_DELTA = "message.delta"
DEVS_CREATED = "message.created"
DEVS_COMPLETED = "message.completed"
DEVS_ERROR = "error"
DEVS_DONE = "done"
_PLAIN_EVENTS = ("", "message")
_DEVS_TEXT_KEYS = ("content", "text", "delta")

_FINISH_NOTICES = {
    "length": "the answer was cut off by the model's length limit",
    "content_filter": "the answer was stopped by the server's content filter",
}


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_from(payload: Any) -> Usage | None:
    """Token figures from OpenAI's `{prompt_tokens, completion_tokens, total_tokens}` or Devs'
    `{inputTokens, outputTokens}`; None when there are none."""
    if not isinstance(payload, dict):
        return None
    usage = Usage(
        input_tokens=_int_or_none(payload.get("prompt_tokens", payload.get("inputTokens"))),
        output_tokens=_int_or_none(payload.get("completion_tokens", payload.get("outputTokens"))),
        total_tokens=_int_or_none(payload.get("total_tokens", payload.get("totalTokens"))),
    )
    return usage if usage.total is not None else None


def devs_text(payload: dict[str, Any]) -> str | None:
    """The text of a Devs event: `content.text`, `content` (a string), `text` or `delta`."""
    content = payload.get("content")
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        text: str = content["text"]
        return text
    for key in _DEVS_TEXT_KEYS:
        value = payload.get(key)
        if isinstance(value, str):
            return value
    return None


@dataclass
class _Answer:
    """What one answer has said so far, beyond its text: the parts `Done` reports at the end."""

    server: str
    model: str | None = None
    finish_reason: str | None = None
    chat_id: str | None = None
    usage: Usage | None = None
    final_text: str | None = None
    message_ids: list[str] = field(default_factory=list)
    finished: bool = False
    limits: LimitTracker | None = None
    """Where the limits Devic's model gateway reports in its `devic` block go."""

    def _fail_on_error(self, payload: dict[str, Any]) -> None:
        error = payload.get("error")
        if not error:
            return
        if isinstance(error, dict):
            message = first_str(error, ("message", "code", "type")) or "unknown error"
        else:
            message = first_str(payload, ("message",)) or str(error)
        raise ServerError(f"server '{self.server}' reported an error: {message}", server=self.server)

    def _note(self, payload: dict[str, Any]) -> None:
        self.model = first_str(payload, ("model",)) or self.model
        self.chat_id = first_str(payload, ("chatId",)) or self.chat_id
        found = usage_from(payload.get("usage"))
        if found is not None:
            self.usage = found
        if self.limits is not None and "devic" in payload:
            self.limits.note_payload(payload)

    def _add_message_id(self, value: str | None) -> None:
        if value and value not in self.message_ids:
            self.message_ids.append(value)

    def completion(self, payload: Any) -> list[SendEvent]:
        """A whole (non-streamed) `chat.completion` object."""
        if not isinstance(payload, dict):
            raise MalformedResponseError(
                f"server '{self.server}' answered with something that is not an object",
                server=self.server,
            )
        self._fail_on_error(payload)
        self._note(payload)
        choices = payload.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices else None
        message = choice.get("message") if isinstance(choice, dict) else None
        text = message.get("content") if isinstance(message, dict) else None
        if text is None and isinstance(choice, dict):
            text = choice.get("text")
        if not isinstance(text, str):
            raise MalformedResponseError(
                f"server '{self.server}' answered without `choices[0].message.content`",
                server=self.server,
            )
        if isinstance(choice, dict):
            self.finish_reason = first_str(choice, ("finish_reason",)) or self.finish_reason
        return [TextDelta(text=text)]

    def chunk(self, payload: Any) -> list[SendEvent]:
        """One `chat.completion.chunk` of an OpenAI-style stream."""
        if not isinstance(payload, dict):
            return []
        self._fail_on_error(payload)
        self._note(payload)
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return []
        choice = choices[0]
        self.finish_reason = first_str(choice, ("finish_reason",)) or self.finish_reason
        delta = choice.get("delta")
        text = delta.get("content") if isinstance(delta, dict) else None
        if text is None:
            text = choice.get("text")
        return [TextDelta(text=text)] if isinstance(text, str) and text else []

    def devs_event(self, name: str, payload: Any) -> list[SendEvent]:
        """One named event of a Devs-style stream; unknown names are ignored."""
        if not isinstance(payload, dict):
            return []
        if name == DEVS_ERROR:
            message = first_str(payload, ("message", "error")) or "unknown error"
            raise ServerError(f"server '{self.server}' reported an error: {message}", server=self.server)
        self._note(payload)
        message_id = first_str(payload, ("messageId",))
        if name == DEVS_CREATED:
            self._add_message_id(message_id)
        elif name == DEVS_DELTA:
            text = devs_text(payload)
            return [TextDelta(text=text, message_id=message_id)] if text else []
        elif name == DEVS_COMPLETED:
            self._add_message_id(message_id)
            text = devs_text(payload)
            if text is not None:
                self.final_text = text
        return []

    def ending(self, started: datetime) -> list[SendEvent]:
        """The events after the text: a notice for a cut answer, usage, and Done."""
        events: list[SendEvent] = []
        notice = _FINISH_NOTICES.get(self.finish_reason or "")
        if notice:
            events.append(Notice(text=f"server '{self.server}': {notice}"))
        if self.usage is not None:
            events.append(UsageReport(usage=self.usage))
        metadata = {
            key: value
            for key, value in (
                ("model", self.model),
                ("finish_reason", self.finish_reason),
                ("chatId", self.chat_id),
            )
            if value is not None
        }
        events.append(
            Done(
                started_at=started,
                finished_at=datetime.now(UTC),
                final_text=self.final_text,
                message_ids=self.message_ids,
                metadata=metadata,
            )
        )
        return events


def completions_order(server: ServerConfig, remembered: str | None = None) -> list[str]:
    """The completions paths to try, in order: the one the config names, else the one that answered
    last time, then the standard path, or for a base URL shaped like the Devs platform's
    (`…/api/v1`), its own path first; the other is tried where the first is missing (404/405)."""
    if server.completions_path != "auto":
        return [server.completions_path]
    devs_shaped = urlsplit(server.resolved_base_url).path.rstrip("/").endswith(DEVS_API_ROOT)
    order = [DEVS_COMPLETIONS, PATHS["chat"]] if devs_shaped else [PATHS["chat"], DEVS_COMPLETIONS]
    if remembered in order:
        order.remove(remembered)
        order.insert(0, remembered)
    return order


def _no_completions(missing: list[tuple[str, ProviderError]]) -> ProviderError:
    """Every completions path answered 404 or 405: the first answer (it may name a model the server
    lacks), saying that the other paths were missing too, which points at the base URL instead."""
    (_, first), others_missing = missing[0], missing[1:]
    if not others_missing:
        return first
    others = ", ".join(f"{path} ({error.status})" for path, error in others_missing)
    return type(first)(
        f"{first.message}; {others} answered the same: if the model exists, check base_url "
        "(the part of the address before /chat/completions)",
        server=first.server,
        status=first.status,
    )


class OpenAIProvider(Provider):
    kind = "openai"
    capabilities = Capabilities(
        streams=True, lists_assistants=True, usage=True, answer_settings=frozenset(ANSWER_SETTINGS)
    )

    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        super().__init__(server, http)
        self.capabilities = self.capabilities.model_copy(update={"streams": server.stream})
        self._totals: dict[str, int] = {"answers": 0, "input_tokens": 0, "output_tokens": 0}
        self._windows = ModelWindows(server, http, PATHS["models"])

    def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        answer = capped_text(self._send(request), server=self.name, max_bytes=self.server.max_answer_bytes)
        return guarded(answer)

    def _body(self, request: SendRequest) -> dict[str, Any]:
        """The chat's system prompt first, the history, the message; the parameters the chat sets
        (and only those: an unset one is the server's default)."""
        settings = self.settings_for(request)
        messages = [{"role": "system", "content": settings.system_prompt}] if settings.system_prompt else []
        messages.extend({"role": turn.role, "content": turn.content} for turn in request.history)
        messages.append({"role": "user", "content": request.text})
        body: dict[str, Any] = {
            "model": request.assistant_id,
            "messages": messages,
            "stream": self.server.stream,
        }
        for name in SAMPLING_PARAMETERS:
            value = getattr(settings, name)
            if value is not None:
                body[name] = value
        return body

    async def _send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        started = datetime.now(UTC)
        answer = _Answer(server=self.name, limits=self.http.limits)
        accept = "text/event-stream" if self.server.stream else "application/json"
        async with self._completions(self._body(request), accept) as response:
            if "event-stream" in response.headers.get("content-type", ""):
                async for event in self._read_stream(response, answer):
                    yield event
            else:
                for event in answer.completion(self._parse(await self._read_capped(response))):
                    yield event
        for event in answer.ending(started):
            if isinstance(event, UsageReport):
                self._count(event.usage)
            yield event

    @contextlib.asynccontextmanager
    async def _completions(self, body: dict[str, Any], accept: str) -> AsyncIterator[httpx.Response]:
        """The completions response, open, from the first path of `completions_order` the server
        has (404/405 on one: the next is tried); the path that answered is kept for the next run."""
        await self.http.recall_hints()  # the path that answered last time goes first
        order = completions_order(self.server, self.http.hints.completions_path)
        missing: list[tuple[str, ProviderError]] = []
        async with contextlib.AsyncExitStack() as opened:
            for path in order:
                try:
                    response = await opened.enter_async_context(
                        self.http.stream("POST", path, json=body, headers={"Accept": accept})
                    )
                except ProviderError as error:
                    if error.status not in MISSING_ROUTE:
                        raise
                    missing.append((path, error))
                    continue
                if len(order) > 1:
                    await self.http.learn(completions_path=path)
                yield response
                return
        raise _no_completions(missing)

    async def _read_stream(self, response: httpx.Response, answer: _Answer) -> AsyncIterator[SendEvent]:
        async for event in iter_sse(response, server=self.name, max_bytes=self.server.max_stream_bytes):
            if is_done_marker(event):
                return
            name = event.event or ""
            if name == DEVS_DONE:
                return
            if not event.data.strip():
                continue
            payload = event_json(event, server=self.name)
            found = answer.chunk(payload) if name in _PLAIN_EVENTS else answer.devs_event(name, payload)
            for item in found:
                yield item

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """The whole body, refusing to hold more than `max_stream_bytes` of it (the answer's text is
        held to `max_answer_bytes` once it is read)."""
        cap = self.server.max_stream_bytes
        parts: list[bytes] = []
        size = 0
        async for piece in response.aiter_bytes():
            size += len(piece)
            if size > cap:
                raise stream_too_long(self.name, cap)
            parts.append(piece)
        return b"".join(parts)

    def _parse(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            snippet = " ".join(raw[:120].decode("utf-8", "replace").split())
            raise MalformedResponseError(
                f"server '{self.name}' answered with something that is not JSON: {snippet!r}",
                server=self.name,
            ) from None

    def _count(self, usage: Usage) -> None:
        self._totals["answers"] += 1
        self._totals["input_tokens"] += usage.input_tokens or 0
        self._totals["output_tokens"] += usage.output_tokens or 0

    async def usage(self) -> dict[str, Any]:
        """Tokens reported by the answers of this session (the API keeps no account of its own)."""
        return dict(self._totals)

    async def context_window(self, assistant_id: str) -> int | None:
        """From the model's `/models` entry, else Ollama's or LM Studio's own API (see
        `model_windows`); None when the server does not say."""
        return await self._windows.window(assistant_id)

    async def list_assistants(self) -> list[AssistantInfo]:
        """The configured assistants first (with their names), then the server's other models;
        the configured ones alone when the server refuses the model list. When it cannot be reached,
        or nothing is configured, the failure is raised: an empty list would read as "no models"."""
        configured = self.configured_assistants()
        try:
            body = await self.http.request_json("GET", PATHS["models"])
            self._windows.remember(body)
        except (ConnectionFailedError, ProviderTimeoutError):
            raise
        except ProviderError:
            if not configured:
                raise
            return configured
        known = {assistant.id for assistant in configured}
        listed: list[AssistantInfo] = []
        for item in as_list(body, "models"):
            model_id = first_str(item, ("id", "name")) if isinstance(item, dict) else None
            if not model_id or model_id in known:
                continue
            known.add(model_id)
            # OpenAI's models carry only an id; some servers (OpenRouter, say) add a name and a description.
            listed.append(
                AssistantInfo(
                    id=model_id,
                    name=first_str(item, ("name",)) or model_id,
                    description=first_str(item, ("description",)) or "",
                    extra={k: v for k, v in item.items() if k not in ("id", "name", "description")},
                )
            )
        return configured + listed

    async def assistant_details(self, assistant_id: str) -> AssistantDetails:
        """The model's `/models` entry: its id is the model, `owned_by` its vendor, with the context
        window where the server states one; a configured model the server does not list is
        described from the config."""
        try:
            self._windows.remember(await self.http.request_json("GET", PATHS["models"]))
        except (ConnectionFailedError, ProviderTimeoutError):
            raise
        except ProviderError:
            if not any(a.id == assistant_id for a in self.configured_assistants()):
                raise
        entry = self._windows.entries.get(assistant_id)
        if entry is None:
            details = await super().assistant_details(assistant_id)  # the config's, or NotFoundError
            return details.model_copy(update={"model": assistant_id})
        configured = {a.id: a for a in self.configured_assistants()}.get(assistant_id)
        known = ("id", "name", "description", "owned_by", "created")
        return AssistantDetails(
            id=assistant_id,
            name=configured.name if configured else first_str(entry, ("name",)) or assistant_id,
            description=first_str(entry, ("description",)) or (configured.description if configured else ""),
            model=assistant_id,
            provider=first_str(entry, ("owned_by",)),
            context_window=await self._windows.window(assistant_id),
            created_at=parse_time(entry.get("created")),
            extra={k: v for k, v in entry.items() if k not in known},
        )
