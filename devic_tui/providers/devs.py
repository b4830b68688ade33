"""The Devs platform API (contract §4), in both dialects its servers speak: AIs under `/api/v1/me/ai`,
chats that live on the server, a send answered either with named SSE events (`message.delta`,
`tool.call`, `message.completed` …) or, by the April 2024 server, with the text itself as `text/plain`;
replies stored as `system` messages read as the AI's, tool outputs that continue the answer, chat files
uploaded before the message that references them, duplicate (PUT, else POST), reset (which may answer
a new chat id), delete and usage. A route a server lacks turns its action off, said once. Every path
and discriminator is in the tables below, so a change is one line."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from devic_tui.config import ServerConfig
from devic_tui.knowledge_models import AssistantDetails, AssistantDraft, DataSource, RefreshPeriod
from devic_tui.models import (
    AssistantInfo,
    Attachment,
    RemoteChat,
    RemoteChatDetail,
    RemoteFile,
    RemoteMessage,
    Role,
    Usage,
)
from devic_tui.providers.base import (
    MISSING_ROUTE,
    Capabilities,
    Provider,
    SendRequest,
    ToolOutput,
    UnsupportedError,
    UploadResult,
)
from devic_tui.providers.context import text_with_context
from devic_tui.providers.devs_knowledge import DevsKnowledgeApi, check_knowledge_file, draft_from_details
from devic_tui.providers.errors import (
    FileRejectedError,
    MalformedResponseError,
    ProviderError,
    ServerError,
    error_from_status,
)
from devic_tui.providers.events import (
    Done,
    MessageBoundary,
    Progress,
    SendEvent,
    StreamError,
    TextDelta,
    ToolCall,
    ToolCallRequest,
    ToolField,
    UsageReport,
)
from devic_tui.providers.http import HttpClient, ProgressCallback
from devic_tui.providers.limits import capped_text, stream_too_long
from devic_tui.providers.parsing import as_list, first_str, parse_time, unwrap
from devic_tui.providers.remote_limits import from_devs_usage
from devic_tui.providers.sse import event_json, is_done_marker, iter_sse
from devic_tui.records import USAGE_UNREPORTED

log = logging.getLogger("devic_tui.devs")

PATHS = {
    "assistants": "/api/v1/me/ai",
    "assistant_chats": "/api/v1/ai/{ai_id}/chats",
    "my_chats": "/api/v1/me/chats",
    "create_chat": "/api/v1/ai/{ai_id}/chats",
    "chat": "/api/v1/chats/{chat_id}",
    "send": "/api/v1/chats/{chat_id}",
    "delete": "/api/v1/chats/{chat_id}",
    "duplicate": "/api/v1/chats/{chat_id}/duplicate",
    "reset": "/api/v1/chats/{chat_id}/reset",
    "tool_outputs": "/api/v1/chats/{chat_id}/tool-outputs",
    "files": "/api/v1/chats/{chat_id}/files",
    "usage": "/api/v1/usage/ai",
}
METHODS = {"reset": "PUT", "duplicate": "PUT", "duplicate_else": "POST"}
ASSISTANT_QUERY = {"scope": "ALL"}
UPLOAD_SOURCE = "USER"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

EVENTS = {
    "created": "message.created",
    "delta": "message.delta",
    "completed": "message.completed",
    "tool_call": "tool.call",
    "tool_prefix": "tool.",
    "error": "error",
    "done": "done",
    "unnamed": "message",
}
CONTENT = {"text": "text", "file": "file", "url": "url"}
"""The `type` of each Content item of a prompt (the contract's choice; the seed gives no keys)."""

_TEXT_KEYS = ("text", "delta")
_ROLES: dict[str, Role] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "system": "assistant",  # the platform stores the AI's replies as `system` messages
    "tool": "tool",
}

_FIELD_TYPES = ("string", "number", "boolean", "choice")
_ERROR_STATUSES = {
    "BAD_REQUEST": 400,
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "PAYLOAD_TOO_LARGE": 413,
    "RATE_LIMITED": 429,
    "TOO_MANY_REQUESTS": 429,
}


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _delta_text(data: Any) -> str | None:
    """The text of a `message.delta`: `content.text`, `content` as a string, `text` or `delta`."""
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return None
    content = data.get("content")
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        text: str = content["text"]
        return text
    if isinstance(content, str):
        return content
    for key in _TEXT_KEYS:
        value = data.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and isinstance(value.get("text"), str):
            nested: str = value["text"]
            return nested
    return None


def _content_text(content: Any) -> tuple[str, list[RemoteFile]]:
    """A stored message's text and the files it references, from a string or a list of Content."""
    if isinstance(content, str):
        return content, []
    if isinstance(content, dict):
        return _content_text([content])
    texts: list[str] = []
    files: list[RemoteFile] = []
    if isinstance(content, list):
        for item in content:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, dict):
                kind = item.get("type")
                if kind == CONTENT["file"] and isinstance(item.get("id"), str):
                    files.append(RemoteFile(id=item["id"], name=item.get("name") or item["id"]))
                elif kind == CONTENT["url"] and isinstance(item.get("url"), str):
                    files.append(RemoteFile(name=item["url"], url=item["url"]))
                elif isinstance(item.get("text"), str):
                    texts.append(item["text"])
    return "\n".join(texts), files


def _usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None

    def number(*keys: str) -> int | None:
        for key in keys:
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    usage = Usage(
        input_tokens=number("inputTokens", "input_tokens", "prompt_tokens"),
        output_tokens=number("outputTokens", "output_tokens", "completion_tokens"),
        total_tokens=number("totalTokens", "total_tokens"),
    )
    return usage if usage.total is not None else None


def _tool_field(raw: Any) -> ToolField | None:
    if not isinstance(raw, dict):
        return None
    name = first_str(raw, ("name", "id", "key"))
    if not name:
        return None
    choices = [
        str(c.get("value", c.get("label", ""))) if isinstance(c, dict) else str(c)
        for c in raw.get("choices") or raw.get("options") or []
    ]
    kind = raw.get("type")
    if kind not in _FIELD_TYPES:
        kind = "choice" if choices else "string"
    return ToolField(
        name=name,
        label=first_str(raw, ("label", "title")) or "",
        type=kind,
        required=bool(raw.get("required", False)),
        choices=choices,
    )


def _tool_call(raw: Any) -> ToolCall | None:
    if not isinstance(raw, dict):
        return None
    function = raw.get("function") if isinstance(raw.get("function"), dict) else {}
    call_id = first_str(raw, ("toolCallId", "id", "tool_call_id"))
    name = first_str(raw, ("name",)) or first_str(function, ("name",)) or ""
    if not call_id:
        return None
    arguments = raw.get("arguments", function.get("arguments") if function else None)
    if arguments is not None and not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    fields = [f for f in (_tool_field(x) for x in raw.get("fields") or []) if f is not None]
    return ToolCall(
        id=call_id,
        name=name,
        description=first_str(raw, ("description",)) or "",
        arguments=arguments or "",
        fields=fields,
    )


@dataclass
class _Answer:
    """What one stream has said so far, message by message."""

    chat_id: str | None
    order: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    completed: bool = False
    current: str = ""
    plain: bool = False
    """The answer came as text/plain: no ids, no usage."""

    def start(self, message_id: str) -> None:
        self.current = message_id
        if message_id not in self.texts:
            self.order.append(message_id)
            self.texts[message_id] = ""

    def add(self, message_id: str | None, text: str) -> None:
        self.start(message_id or self.current)
        self.texts[self.current] += text

    def complete(self, message_id: str | None, text: str) -> None:
        self.start(message_id or self.current)
        self.texts[self.current] = text
        self.completed = True

    @property
    def final_text(self) -> str | None:
        if not self.completed:
            return None
        return "\n\n".join(self.texts[i] for i in self.order if self.texts[i])

    @property
    def message_ids(self) -> list[str]:
        return [i for i in self.order if i]


LIMITS_EVERY = 60.0
"""Seconds between two questions to the usage endpoint for the organisation's limits."""


class DevsProvider(Provider):
    kind = "devs"
    capabilities = Capabilities(
        streams=True,
        lists_assistants=True,
        lists_chats=True,
        server_history=True,
        upload=True,
        max_upload_bytes=MAX_UPLOAD_BYTES,
        duplicate=True,
        reset=True,
        delete=True,
        tool_calls=True,
        usage=True,
    )

    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        super().__init__(server, http)
        self._limits_asked_at = -LIMITS_EVERY
        self._usage_route_missing = False
        self._my_chats_missing = False
        self._knowledge = DevsKnowledgeApi(self.name, self.http)

    # ------------------------------------------------------------------------------------ browse

    async def list_assistants(self) -> list[AssistantInfo]:
        configured = self.configured_assistants()
        try:
            body = await self.http.request_json("GET", PATHS["assistants"], params=ASSISTANT_QUERY)
        except ProviderError as error:
            if not configured:
                raise
            log.warning("server %s: listing AIs failed, using configured ones: %s", self.name, error)
            return configured
        listed = [a for a in (self._assistant(raw) for raw in as_list(body, "ais")) if a is not None]
        known = {a.id for a in listed}
        return listed + [a for a in configured if a.id not in known]

    def _assistant(self, raw: Any) -> AssistantInfo | None:
        ai_id = first_str(raw, ("id", "aiId"))
        if not ai_id:
            return None
        extra = {k: v for k, v in raw.items() if k not in ("id", "name", "description", "introduction")}
        return AssistantInfo(
            id=ai_id,
            name=first_str(raw, ("name",)) or ai_id,
            description=first_str(raw, ("description",)) or "",
            introduction=first_str(raw, ("introduction",)) or "",
            extra=extra,
        )

    async def list_chats(self, assistant_id: str) -> list[RemoteChat]:
        body = await self.http.request_json("GET", PATHS["assistant_chats"].format(ai_id=assistant_id))
        return self._chats(body, assistant_id)

    def _chats(self, body: Any, assistant_id: str = "") -> list[RemoteChat]:
        """The chats of a listing, newest first (the 2024 server lists an AI's in no order)."""
        chats = [
            c for c in (self._chat(raw, assistant_id) for raw in as_list(body, "chats")) if c is not None
        ]
        oldest = datetime.min.replace(tzinfo=UTC)
        return sorted(chats, key=lambda c: c.updated_at or c.created_at or oldest, reverse=True)

    async def list_all_chats(self) -> dict[str, list[RemoteChat]] | None:
        """Every chat of the user in one call (`/me/chats`), by AI; None where the server has no
        such route (it is not asked again)."""
        if self._my_chats_missing:
            return None
        try:
            body = await self.http.request_json("GET", PATHS["my_chats"])
        except ProviderError as error:
            if error.status not in MISSING_ROUTE:
                raise
            self._my_chats_missing = True
            return None
        by_ai: dict[str, list[RemoteChat]] = {}
        for chat in self._chats(body):
            by_ai.setdefault(chat.assistant_id, []).append(chat)
        return by_ai

    def _chat(self, raw: Any, assistant_id: str = "") -> RemoteChat | None:
        raw = unwrap(raw)
        chat_id = first_str(raw, ("id", "chatId"))
        if not chat_id:
            return None
        ai = raw.get("ai") if isinstance(raw.get("ai"), dict) else {}
        messages = raw.get("messages")
        return RemoteChat(
            id=chat_id,
            title=first_str(raw, ("name", "title")) or "",
            assistant_id=first_str(ai, ("id",)) or first_str(raw, ("aiId",)) or assistant_id,
            created_at=parse_time(raw.get("createdAt")),
            updated_at=parse_time(raw.get("updatedAt")),
            message_count=len(messages) if isinstance(messages, list) else None,
        )

    def _required_chat(self, body: Any, what: str, assistant_id: str = "") -> RemoteChat:
        chat = self._chat(body, assistant_id)
        if chat is None:
            raise MalformedResponseError(
                f"server '{self.name}' answered {what} without a chat id", server=self.name
            )
        return chat

    async def get_chat(self, assistant_id: str, chat_id: str) -> RemoteChatDetail:
        body = unwrap(await self.http.request_json("GET", PATHS["chat"].format(chat_id=chat_id)))
        chat = self._required_chat(body, "the chat", assistant_id)
        messages: list[RemoteMessage] = []
        for raw in as_list(body, "messages"):
            message = self._message(raw)
            if message is not None:
                messages.append(message)
        return RemoteChatDetail(chat=chat, messages=messages)

    def _message(self, raw: Any) -> RemoteMessage | None:
        if not isinstance(raw, dict):
            return None
        text, files = _content_text(raw.get("content"))
        if not text and not files:
            return None  # a system message that only carried tool calls, say
        role_name = str(raw.get("role") or "").lower()
        known = {"id", "role", "content", "createdAt"}
        return RemoteMessage(
            role=_ROLES.get(role_name, "system"),
            content=text,
            id=first_str(raw, ("id",)),
            created_at=parse_time(raw.get("createdAt")),
            files=files,
            extra={k: v for k, v in raw.items() if k not in known},
        )

    # -------------------------------------------------------------------------------------- send

    def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        answer = _Answer(chat_id=request.conversation_id)
        return self._guarded(self._send(request, answer), answer)

    def submit_tool_outputs(
        self,
        assistant_id: str,
        conversation_id: str,
        system_message_id: str | None,
        outputs: list[ToolOutput],
    ) -> AsyncIterator[SendEvent]:
        body: dict[str, Any] = {}
        if system_message_id is not None:
            body["systemMessageId"] = system_message_id
        body["outputs"] = [
            {"toolCallId": o.tool_call_id, "output": o.output, "status": o.status} for o in outputs
        ]
        answer = _Answer(chat_id=conversation_id)
        path = PATHS["tool_outputs"].format(chat_id=conversation_id)

        async def answered() -> AsyncIterator[SendEvent]:
            with self.route_of("tool_calls", "take tool answers"):
                async for event in self._stream(path, body, answer):
                    yield event

        return self._guarded(answered(), answer)

    async def _guarded(self, events: AsyncIterator[SendEvent], answer: _Answer) -> AsyncIterator[SendEvent]:
        """Like `base.guarded`, but the error names the chat created on the way, if any; the
        answer's text is held to `max_answer_bytes`."""
        capped = capped_text(events, server=self.name, max_bytes=self.server.max_answer_bytes)
        try:
            async for event in capped:
                yield event
        except ProviderError as error:
            yield StreamError(error=error, conversation_id=answer.chat_id)

    async def _create_chat(self, assistant_id: str) -> str:
        body = await self.http.request_json("POST", PATHS["create_chat"].format(ai_id=assistant_id))
        return self._required_chat(body, "the new chat", assistant_id).id

    def _prompt(self, request: SendRequest) -> str | list[dict[str, str]]:
        remote = [a.remote for a in request.attachments if a.remote is not None]
        text = text_with_context(request.text, request.history, request.carry_history)
        if not remote:
            return text
        prompt: list[dict[str, str]] = []
        if text:
            prompt.append({"type": CONTENT["text"], "text": text})
        for file in remote:
            if file.id:
                prompt.append({"type": CONTENT["file"], "id": file.id})
            elif file.url:
                prompt.append({"type": CONTENT["url"], "url": file.url})
        return prompt

    async def _send(self, request: SendRequest, answer: _Answer) -> AsyncIterator[SendEvent]:
        if answer.chat_id is None:
            answer.chat_id = await self._create_chat(request.assistant_id)
            yield Progress(status="chat created", conversation_id=answer.chat_id)
        body = {"date": _iso_now(), "prompt": self._prompt(request)}
        async for event in self._stream(PATHS["send"].format(chat_id=answer.chat_id), body, answer):
            yield event

    async def _stream(self, path: str, body: dict[str, Any], answer: _Answer) -> AsyncIterator[SendEvent]:
        started = datetime.now(UTC)
        async with self.http.stream(
            "POST", path, json=body, headers={"Accept": "text/event-stream"}
        ) as response:
            content_type = response.headers.get("content-type", "")
            if "json" in content_type:
                reader = self._read_json(response, answer)
            elif content_type.startswith("text/plain"):
                reader = self._read_text(response, answer)
            else:
                reader = self._read_events(response, answer)
            async for event in reader:
                yield event
        yield Done(
            conversation_id=answer.chat_id,
            message_ids=answer.message_ids,
            started_at=started,
            finished_at=datetime.now(UTC),
            final_text=answer.final_text,
            metadata={USAGE_UNREPORTED: True} if answer.plain else {},
        )

    async def _read_text(self, response: httpx.Response, answer: _Answer) -> AsyncIterator[SendEvent]:
        """The 2024 server's answer: its text itself, in pieces until the server closes the body
        (which may come whole, from a model that does not stream). It names no message and reports
        no usage. A transport failure on the way is raised as an interruption by `http.stream`."""
        answer.plain = True
        async for piece in response.aiter_text():
            if response.num_bytes_downloaded > self.server.max_stream_bytes:
                raise stream_too_long(self.name, self.server.max_stream_bytes)
            if piece:
                answer.add(None, piece)
                yield TextDelta(text=piece)
        answer.complete(None, answer.texts.get(answer.current, ""))

    async def _read_json(self, response: httpx.Response, answer: _Answer) -> AsyncIterator[SendEvent]:
        """A server that answered the send with one JSON message instead of a stream."""
        await response.aread()
        data = unwrap(self.http.parse_json(response))
        text = _delta_text(data)
        if text is None and isinstance(data, dict):
            text = first_str(data, ("message", "answer", "response"))
        if text is None:
            raise MalformedResponseError(
                f"server '{self.name}' answered the message without a stream or a text", server=self.name
            )
        message_id = first_str(data, ("messageId", "id")) or ""
        yield MessageBoundary(message_id=message_id or None)
        yield TextDelta(text=text, message_id=message_id or None)
        answer.complete(message_id, text)
        usage = _usage(data.get("usage")) if isinstance(data, dict) else None
        if usage:
            yield UsageReport(usage=usage)

    async def _read_events(self, response: httpx.Response, answer: _Answer) -> AsyncIterator[SendEvent]:
        events = iter_sse(response, server=self.name, max_bytes=self.server.max_stream_bytes)
        async for sse in events:
            if is_done_marker(sse) or sse.event == EVENTS["done"]:
                return
            name = sse.event
            if name == EVENTS["error"]:
                raise self._stream_error(_json_or_text(sse.data))
            if name == EVENTS["unnamed"]:
                text = _delta_text(_json_or_text(sse.data))
                if text:  # a data-only event that carries text: read it as a delta
                    answer.add(None, text)
                    yield TextDelta(text=text, message_id=answer.current or None)
                continue
            if name not in (EVENTS["created"], EVENTS["delta"], EVENTS["completed"]) and not name.startswith(
                EVENTS["tool_prefix"]
            ):
                log.debug("server %s: ignoring event %r", self.name, name)
                continue
            data = event_json(sse, server=self.name)
            if name == EVENTS["created"]:
                created = first_str(data, ("messageId", "id")) or ""
                answer.start(created)
                yield MessageBoundary(message_id=created or None)
            elif name == EVENTS["delta"]:
                text = _delta_text(data)
                if text:
                    message_id = first_str(data, ("messageId", "id"))
                    answer.add(message_id, text)
                    yield TextDelta(text=text, message_id=answer.current or None)
            elif name == EVENTS["completed"]:
                missing = self._complete(answer, data)
                if missing:
                    yield TextDelta(text=missing, message_id=answer.current or None)
                usage = _usage(data.get("usage")) if isinstance(data, dict) else None
                if usage:
                    yield UsageReport(usage=usage)
            elif name == EVENTS["tool_call"]:
                yield self._tool_request(data, answer)
            else:
                yield Progress(status=self._tool_activity(name, data), conversation_id=answer.chat_id)

    @staticmethod
    def _complete(answer: _Answer, data: Any) -> str:
        """Record a `message.completed`, whose text wins over the deltas (it becomes Done.final_text).
        Returns the tail the deltas missed when the final text extends them, to show it at once."""
        text = _delta_text(data)
        message_id = first_str(data, ("messageId", "id"))
        if text is None:
            answer.start(message_id or answer.current)
            return ""
        before = answer.texts.get(message_id or answer.current, "")
        answer.complete(message_id, text)
        return text[len(before) :] if text.startswith(before) else ""

    def _tool_request(self, data: Any, answer: _Answer) -> ToolCallRequest:
        raw_calls = as_list(data, "toolCalls", "tool_calls", "calls")
        if not raw_calls and isinstance(data, dict) and ("toolCallId" in data or "fields" in data):
            raw_calls = [data]
        calls = [c for c in (_tool_call(raw) for raw in raw_calls) if c is not None]
        if not calls:
            raise MalformedResponseError(
                f"server '{self.name}' asked for tool outputs without naming a tool call", server=self.name
            )
        return ToolCallRequest(
            conversation_id=answer.chat_id,
            system_message_id=first_str(data, ("systemMessageId", "messageId")),
            calls=calls,
        )

    @staticmethod
    def _tool_activity(name: str, data: Any) -> str:
        tool = first_str(data, ("name", "toolName")) if isinstance(data, dict) else None
        status = first_str(data, ("status",)) if isinstance(data, dict) else None
        words = [name] + ([tool] if tool else []) + ([status] if status else [])
        return " ".join(words)

    def _stream_error(self, data: Any) -> ProviderError:
        """An `error` event: the HTTP class its status or code names, else a server failure."""
        status: Any = None
        if isinstance(data, dict):
            status = data.get("status") or data.get("statusCode")
            code = data.get("error") if isinstance(data.get("error"), str) else data.get("code")
            if not isinstance(status, int) and isinstance(code, str):
                status = _ERROR_STATUSES.get(code.upper())
        body = json.dumps(data) if isinstance(data, dict) else str(data)
        if isinstance(status, int) and 400 <= status < 600:
            return error_from_status(self.name, status, body, token_hint=self.server.token_source_hint())
        said = first_str(data, ("message", "error")) if isinstance(data, dict) else str(data)[:200]
        return ServerError(
            f"server '{self.name}' failed while answering: {said or 'no reason given'}", server=self.name
        )

    # ------------------------------------------------------------------------------------- files

    async def upload(
        self,
        assistant_id: str,
        conversation_id: str | None,
        attachment: Attachment,
        content: bytes,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        if len(content) > MAX_UPLOAD_BYTES:
            raise FileRejectedError(
                f"'{attachment.name}' is {len(content):,} bytes; server '{self.name}' takes files "
                f"of at most {MAX_UPLOAD_BYTES:,} bytes (5 MB)",
                server=self.name,
            )
        created = None
        if conversation_id is None:
            created = conversation_id = await self._create_chat(assistant_id)
        try:
            with self.route_of("upload", "take chat files"):
                body = await self.http.upload(
                    PATHS["files"].format(chat_id=conversation_id),
                    files={"file": (attachment.name, content, attachment.mime_type)},
                    data={"source": UPLOAD_SOURCE},
                    on_progress=on_progress,
                )
        except UnsupportedError:
            if created is not None:  # made only to hold the file: not left behind, empty
                with contextlib.suppress(ProviderError):
                    await self.delete_chat(created)
            raise
        file = self._file(unwrap(body), attachment.name)
        if file is None:
            raise MalformedResponseError(
                f"server '{self.name}' took the file but answered without a file id", server=self.name
            )
        return UploadResult(file=file, conversation_id=created)

    def _file(self, raw: Any, fallback_name: str = "") -> RemoteFile | None:
        file_id = first_str(raw, ("id", "fileId"))
        if not file_id:
            return None
        size = raw.get("size")
        known = {"id", "filename", "name", "size", "mimeType", "url"}
        return RemoteFile(
            id=file_id,
            name=first_str(raw, ("filename", "name")) or fallback_name or file_id,
            url=first_str(raw, ("url", "downloadUrl")),
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            mime_type=first_str(raw, ("mimeType", "mime_type", "contentType")),
            extra={k: v for k, v in raw.items() if k not in known},
        )

    async def list_files(self, conversation_id: str) -> list[RemoteFile]:
        with self.route_of("upload", "take chat files"):
            body = await self.http.request_json("GET", PATHS["files"].format(chat_id=conversation_id))
        files = (self._file(raw) for raw in as_list(body, "files"))
        return [f for f in files if f is not None]

    # ------------------------------------------------------------------------------------- chats

    async def duplicate(self, conversation_id: str) -> RemoteChat:
        """The server's copy of the chat; `message_count` says whether it copied the messages (the
        2024 server makes an empty chat, and may answer without `messages`: then it is asked)."""
        path = PATHS["duplicate"].format(chat_id=conversation_id)
        try:
            body = await self.http.request_json(METHODS["duplicate"], path)
        except ProviderError as error:
            if error.status != 405:
                raise
            body = await self.http.request_json(METHODS["duplicate_else"], path)
        copy = self._required_chat(body, "the duplicate")
        if copy.message_count is None:
            detail = await self.get_chat(copy.assistant_id, copy.id)
            copy = copy.model_copy(update={"message_count": len(detail.messages)})
        return copy

    async def reset(self, conversation_id: str) -> RemoteChat:
        method = METHODS["reset"]
        body = await self.http.request_json(method, PATHS["reset"].format(chat_id=conversation_id))
        return self._required_chat(body, "the reset")

    async def delete_chat(self, conversation_id: str) -> None:
        await self.http.request("DELETE", PATHS["delete"].format(chat_id=conversation_id))

    async def usage(self) -> dict[str, Any]:
        body = unwrap(await self.http.request_json("GET", PATHS["usage"]))
        if not isinstance(body, dict):
            raise MalformedResponseError(
                f"server '{self.name}' answered the usage request without an object", server=self.name
            )
        self.http.limits.note(from_devs_usage(self.name, body))
        return body

    async def refresh_limits(self) -> None:
        """The organisation's limits from the usage endpoint, at most once a `LIMITS_EVERY`; a
        server without the endpoint (404, 405) is not asked again."""
        now = time.monotonic()
        if self._usage_route_missing or now - self._limits_asked_at < LIMITS_EVERY:
            return
        self._limits_asked_at = now
        try:
            await self.usage()
        except ProviderError as error:
            self._usage_route_missing = error.status in MISSING_ROUTE
            log.info("server %s: no usage limits: %s", self.name, error)

    # ------------------------------------------------------- details and knowledge (devs_knowledge)

    capabilities = capabilities.model_copy(update={"knowledge": True, "manage_assistants": True})

    async def assistant_details(self, assistant_id: str) -> AssistantDetails:
        return await self._knowledge.details(assistant_id)

    def check_knowledge_file(self, name: str, size: int, mime_type: str) -> str:
        return check_knowledge_file(self.name, name, size, mime_type)

    async def data_sources(self, ai_id: str) -> list[DataSource]:
        return await self._knowledge.data_sources(ai_id)

    async def add_file_source(
        self,
        ai_id: str,
        name: str,
        content: bytes,
        mime_type: str,
        on_progress: ProgressCallback | None = None,
    ) -> str:
        return await self._knowledge.add_file(ai_id, name, content, mime_type, on_progress)

    async def add_url_sources(self, ai_id: str, urls: list[str], refresh_period: RefreshPeriod) -> list[str]:
        return await self._knowledge.add_urls(ai_id, urls, refresh_period)

    async def add_json_source(self, ai_id: str, name: str, data: dict[str, Any]) -> str:
        return await self._knowledge.add_json(ai_id, name, data)

    async def refresh_source(self, source_id: str) -> None:
        await self._knowledge.refresh(source_id)

    async def remove_source(self, source_id: str) -> None:
        await self._knowledge.remove(source_id)

    async def create_assistant(self, draft: AssistantDraft) -> AssistantDetails:
        return await self._knowledge.create(draft)

    async def update_assistant(self, ai_id: str, draft: AssistantDraft) -> AssistantDetails:
        return await self._knowledge.update(ai_id, draft)

    def edit_draft(self, details: AssistantDetails) -> AssistantDraft:
        return draft_from_details(details)
