"""The slug-addressed agent chat API (contract §2): `POST {base}/chat/{slug}`, JSON or SSE chunks,
`conversationId` continuation, answers and errors inside a `{data, error}` envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx

from devic_tui.models import Usage
from devic_tui.providers.base import Capabilities, Provider, SendRequest, guarded
from devic_tui.providers.context import text_with_context
from devic_tui.providers.errors import MalformedResponseError, ServerError
from devic_tui.providers.events import Done, Notice, SendEvent, TextDelta, UsageReport
from devic_tui.providers.limits import capped_text
from devic_tui.providers.sse import event_json, is_done_marker, iter_sse

PATHS = {"chat": "/chat/{slug}"}
_TEXT_KEYS = ("chunk", "content", "text", "delta")
_LOW_RATE_SHARE = 0.1


class AgentProvider(Provider):
    kind = "agent"
    capabilities = Capabilities(streams=True)

    def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        answer = capped_text(self._send(request), server=self.name, max_bytes=self.server.max_answer_bytes)
        return guarded(answer)

    def _body(self, request: SendRequest) -> dict[str, Any]:
        text = text_with_context(request.text, request.history, request.carry_history)
        body: dict[str, Any] = {"message": text, "stream": self.server.stream}
        if request.conversation_id:
            body["conversationId"] = request.conversation_id
        return body

    async def _send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        path = PATHS["chat"].format(slug=request.assistant_id)
        started = datetime.now(UTC)
        async with self.http.stream(
            "POST", path, json=self._body(request), headers={"Accept": "text/event-stream"}
        ) as response:
            notice = self._rate_limit_notice(response)
            if notice:
                yield notice
            if "event-stream" in response.headers.get("content-type", ""):
                events = self._read_stream(response, request.conversation_id, started)
            else:
                await response.aread()
                events = self._read_json(response, request.conversation_id, started)
            async for event in events:
                yield event

    async def _read_json(
        self, response: httpx.Response, conversation_id: str | None, started: datetime
    ) -> AsyncIterator[SendEvent]:
        data = self._unwrap(self.http.parse_json(response))
        text = data.get("response")
        if not isinstance(text, str):
            raise MalformedResponseError(
                f"server '{self.name}' answered without a `response` text", server=self.name
            )
        yield TextDelta(text=text)
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        tokens = metadata.get("tokens") if metadata else None
        if isinstance(tokens, int):
            yield UsageReport(usage=Usage(total_tokens=tokens))
        yield Done(
            conversation_id=data.get("conversationId") or conversation_id,
            started_at=started,
            finished_at=datetime.now(UTC),
            metadata=metadata or {},
        )

    async def _read_stream(
        self, response: httpx.Response, conversation_id: str | None, started: datetime
    ) -> AsyncIterator[SendEvent]:
        async for event in iter_sse(response, server=self.name, max_bytes=self.server.max_stream_bytes):
            if is_done_marker(event):
                break
            payload = event_json(event, server=self.name)
            if not isinstance(payload, dict):
                continue
            if payload.get("error"):
                self._unwrap(payload)
            for key in _TEXT_KEYS:
                if isinstance(payload.get(key), str):
                    yield TextDelta(text=payload[key])
                    break
            if isinstance(payload.get("conversationId"), str):
                conversation_id = payload["conversationId"]
        yield Done(conversation_id=conversation_id, started_at=started, finished_at=datetime.now(UTC))

    def _unwrap(self, body: Any) -> dict[str, Any]:
        """The `data` of an envelope; an `error` inside a 2xx answer is the server failing."""
        if not isinstance(body, dict):
            raise MalformedResponseError(
                f"server '{self.name}' answered with something that is not an object",
                server=self.name,
            )
        error = body.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise ServerError(f"server '{self.name}' reported an error: {message}", server=self.name)
        data = body.get("data", body)
        if not isinstance(data, dict):
            raise MalformedResponseError(f"server '{self.name}' answered without data", server=self.name)
        return data

    def _rate_limit_notice(self, response: httpx.Response) -> Notice | None:
        try:
            limit = int(response.headers["x-ratelimit-limit"])
            remaining = int(response.headers["x-ratelimit-remaining"])
        except (KeyError, ValueError):
            return None
        if limit <= 0 or remaining > limit * _LOW_RATE_SHARE:
            return None
        reset = response.headers.get("x-ratelimit-reset", "")
        when = ""
        if reset.isdigit():
            when = " until " + datetime.fromtimestamp(int(reset), UTC).strftime("%H:%M UTC")
        return Notice(text=f"server '{self.name}': {remaining} of {limit} requests left{when}")
