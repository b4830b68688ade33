"""The Devic.ai assistants API (contract §1): send in one of three request shapes, read every answer
shape Devic servers use, and in async mode (the default) follow the answer message by message by
polling the chat's realtime record, with stop, client-side tool calls, uploads and chat browsing.

Every path and discriminator lives in the tables below, so a change on Devic's side is one line.
The answer-shape readers are pure functions in `devic_answers.py`, tested on literal JSON."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from devic_tui.config import ServerConfig
from devic_tui.models import (
    AssistantInfo,
    Attachment,
    RemoteChat,
    RemoteChatDetail,
    Usage,
)
from devic_tui.providers.base import Capabilities, Provider, SendRequest, ToolOutput, UploadResult, guarded
from devic_tui.providers.context import text_with_context
from devic_tui.providers.devic_answers import (
    Anchor,
    DevicMessage,
    RealtimeState,
    async_chat_uid,
    file_type_for,
    parse_answer,
    parse_assistants,
    parse_chat_list,
    parse_realtime,
    parse_stored_chat,
    parse_upload,
    reply_messages,
)
from devic_tui.providers.errors import (
    BadRequestError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from devic_tui.providers.events import (
    Done,
    MessageBoundary,
    Notice,
    Progress,
    SendEvent,
    StreamError,
    TextDelta,
    ToolCallRequest,
    UsageReport,
)
from devic_tui.providers.http import HttpClient, ProgressCallback
from devic_tui.providers.parsing import parse_time

DEFAULT_PREFIX = "/api/v1"
PATHS = {
    "assistants": "/assistants",
    "assistant": "/assistants/{assistant}",
    "send": "/assistants/{assistant}/messages",
    "chats": "/assistants/{assistant}/chats",
    "chat": "/assistants/{assistant}/chats/{chat}",
    "realtime": "/assistants/{assistant}/chats/{chat}/realtime",
    "stop": "/assistants/{assistant}/chats/{chat}/stop",
    "tool_response": "/assistants/{assistant}/chats/{chat}/tool-response",
    "upload": "/files/upload",
}
ASYNC_PARAMS = {"async": "true"}
ASSISTANT_PARAMS = {"external": "true"}
CHAT_LIST_PARAMS = {"offset": "0", "limit": "100"}
UPLOAD_FIELD = "file"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024

STATUS_GOING = frozenset({"buffering", "processing"})
STATUS_COMPLETED = "completed"
STATUS_ERROR = "error"
STATUS_LIMIT = "limit_exceeded"
STATUS_TOOLS = "waiting_for_tool_response"
STATUS_HANDED_OFF = "handed_off"
STATUS_TERMINAL = frozenset({STATUS_COMPLETED, STATUS_ERROR, STATUS_LIMIT, STATUS_TOOLS, STATUS_HANDED_OFF})

POLL_GROWTH = 1.5
POLL_MAX_DELAY = 10.0

clock: Callable[[], float] = time.monotonic
"""The clock that measures a silent poll; tests may replace it."""


@dataclass
class _Followed:
    """What a poll loop has shown so far of one answer."""

    shown: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)
    count: int = 0


class DevicProvider(Provider):
    kind = "devic"
    capabilities = Capabilities(
        lists_assistants=True, lists_chats=True, server_history=True, answer_settings=frozenset({"metadata"})
    )

    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        super().__init__(server, http)
        uploads = server.request_shape == "message"
        self.capabilities = self.capabilities.model_copy(
            update={
                "upload": uploads,
                "max_upload_bytes": MAX_UPLOAD_BYTES if uploads else None,
                "stop": server.async_mode,
                "tool_calls": server.async_mode,
            }
        )
        self._resume: dict[str, tuple[int, int]] = {}
        """Per chat, when it stopped for a tool call: the history length (where the answer goes on)
        and how many messages of the answer were shown before it."""

    # -- paths and bodies

    @property
    def prefix(self) -> str:
        prefix = DEFAULT_PREFIX if self.server.path_prefix is None else self.server.path_prefix
        return "/" + prefix.strip("/") if prefix.strip("/") else ""

    def _path(self, name: str, **params: str) -> str:
        quoted = {key: quote(value, safe="") for key, value in params.items()}
        return self.prefix + PATHS[name].format(**quoted)

    def _files(self, attachments: list[Attachment]) -> list[dict[str, str]]:
        files = []
        for attachment in attachments:
            remote = attachment.remote
            if remote is None or not remote.url:
                continue
            files.append(
                {
                    "name": remote.name or attachment.name,
                    "downloadUrl": remote.url,
                    "donwloadUrl": remote.url,
                    "fileType": remote.file_type or file_type_for(attachment.mime_type),
                }
            )
        return files

    def body(self, request: SendRequest) -> dict[str, Any]:
        """The send body in the configured request shape; unset optional fields are left out."""
        server = self.server
        metadata = self.settings_for(request).metadata
        body: dict[str, Any]
        if server.request_shape == "legacy":
            body = {"message": self._text(request), "chatUuid": request.conversation_id}
            if metadata:
                body["metadata"] = metadata
            return body
        if server.request_shape == "messages":
            earlier = request.history if request.carry_history else []
            messages = [{"role": m.role, "content": m.content} for m in earlier]
            body = {"messages": [*messages, {"role": "user", "content": request.text}]}
        else:
            body = {"message": self._text(request)}
        if request.conversation_id:
            body["chatUid"] = request.conversation_id
        if metadata:
            body["metadata"] = metadata
        if server.tenant_id:
            body["tenantId"] = server.tenant_id
        if server.request_shape == "messages":
            if server.subtenant_id:
                body["subtenantId"] = server.subtenant_id
        else:
            files = self._files(request.attachments)
            if files:
                body["files"] = files
        return body

    def _malformed(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(f"server '{self.name}' {what}", server=self.name)

    def _text(self, request: SendRequest) -> str:
        """The message as sent in the `message` and `legacy` shapes: a branch's new chat gets
        its earlier exchange as a context block before it."""
        return text_with_context(request.text, request.history, request.carry_history)

    def _anchor(self, request: SendRequest) -> Anchor:
        """Our message as sent, and the answers the chat held before it (for a history without
        our message): none in a branch's new chat, unless they were sent as its messages."""
        messages_shape = self.server.request_shape == "messages"
        held = request.history if (not request.carry_history or messages_shape) else []
        known = "\n\n".join(m.content for m in held if m.role == "assistant")
        text = request.text if messages_shape else self._text(request)
        return Anchor(text=text, known=known)

    # -- send

    def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        if self.server.async_mode:
            return guarded(self._send_async(request))
        return guarded(self._send_sync(request))

    async def _send_sync(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        started = datetime.now(UTC)
        path = self._path("send", assistant=request.assistant_id)
        body = await self.http.request_json("POST", path, json=self.body(request))
        answer = parse_answer(body)
        # The chat's id is kept whatever the answer holds: the conversation goes on in that chat.
        chat_uid = (answer.chat_uid if answer else async_chat_uid(body)) or request.conversation_id
        if answer is None:
            error = self._malformed("answered with something that is not a Devic chat or message")
            yield StreamError(error=error, conversation_id=chat_uid)
            return
        reply = [m for m in reply_messages(answer.messages, self._anchor(request)) if m.text]
        if not reply:
            error = self._malformed(
                "answered without an assistant message that replies to the one we sent (the reply is missing)"
            )
            yield StreamError(error=error, conversation_id=chat_uid)
            return
        for index, message in enumerate(reply):
            if index:
                yield MessageBoundary(message_id=message.uid)
            yield TextDelta(text=message.text, message_id=message.uid)
        if answer.tokens_used is not None:
            yield UsageReport(usage=Usage(total_tokens=answer.tokens_used))
        yield Done(
            conversation_id=chat_uid,
            message_ids=[m.uid for m in reply if m.uid],
            started_at=started,
            finished_at=datetime.now(UTC),
            metadata={"devic": answer.metadata} if answer.metadata else {},
        )

    async def _send_async(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        started = datetime.now(UTC)
        path = self._path("send", assistant=request.assistant_id)
        body = await self.http.request_json("POST", path, params=ASYNC_PARAMS, json=self.body(request))
        chat_uid = async_chat_uid(body)
        if chat_uid is None:
            raise self._malformed("accepted the message but named no chatUid to follow")
        async for event in self._follow(request.assistant_id, chat_uid, self._anchor(request), started):
            yield event

    async def _follow(
        self, assistant_id: str, chat_uid: str, anchor: Anchor, started: datetime, shown: int = 0
    ) -> AsyncIterator[SendEvent]:
        """Poll the realtime record until the answer ends; errors end as a StreamError naming the chat.
        `shown` counts messages of this answer shown before (so the next one starts a new message)."""
        followed = _Followed(count=shown)
        try:
            async for event in self._poll(assistant_id, chat_uid, anchor, started, followed):
                yield event
        except ProviderError as error:
            yield StreamError(error=error, conversation_id=chat_uid)

    def _show(self, messages: list[DevicMessage], followed: _Followed) -> list[SendEvent]:
        """Events for the answer's messages not shown yet (each whole, one after another)."""
        events: list[SendEvent] = []
        for position, message in enumerate(messages):
            key = message.uid or f"#{position}"
            if key in followed.shown or not message.text:
                continue
            followed.shown.add(key)
            if message.uid:
                followed.ids.append(message.uid)
            if followed.count:
                events.append(MessageBoundary(message_id=message.uid))
            events.append(TextDelta(text=message.text, message_id=message.uid))
            followed.count += 1
        return events

    def _done(self, chat_uid: str, followed: _Followed, started: datetime, status: str) -> Done:
        return Done(
            conversation_id=chat_uid,
            message_ids=list(followed.ids),
            started_at=started,
            finished_at=datetime.now(UTC),
            metadata={"devic_status": status},
        )

    async def _poll(
        self, assistant_id: str, chat_uid: str, anchor: Anchor, started: datetime, followed: _Followed
    ) -> AsyncIterator[SendEvent]:
        path = self._path("realtime", assistant=assistant_id, chat=chat_uid)
        delay = self.server.poll_interval
        status: str | None = None
        quiet_since = clock()
        while True:
            await self.http._sleep(delay)
            delay = min(delay * POLL_GROWTH, POLL_MAX_DELAY)
            try:
                body = await self.http.request_json("GET", path)
            except NotFoundError:
                async for event in self._finish_from_store(assistant_id, chat_uid, anchor, started, followed):
                    yield event
                return
            state = parse_realtime(body)
            if state is None:
                raise self._malformed("answered a progress poll with something that is not a chat status")
            news = False
            if state.status != status:
                status = state.status
                news = True
                yield Progress(status=status, conversation_id=chat_uid)
            final = status in STATUS_TERMINAL
            for event in self._show(reply_messages(state.messages, anchor, final=final), followed):
                news = True
                yield event
            if final:
                for event in self._end(state, chat_uid, followed, started):
                    yield event
                return
            if news:
                quiet_since = clock()
            elif clock() - quiet_since > self.server.read_timeout:
                raise ProviderTimeoutError(
                    f"server '{self.name}': the answer stayed '{status}' with nothing new for "
                    f"{self.server.read_timeout:g} s; gave up waiting",
                    server=self.name,
                )

    def _end(
        self, state: RealtimeState, chat_uid: str, followed: _Followed, started: datetime
    ) -> list[SendEvent]:
        status = state.status
        if status == STATUS_COMPLETED:
            return [self._done(chat_uid, followed, started, status)]
        if status == STATUS_HANDED_OFF:
            notice = Notice(text=f"server '{self.name}': the assistant handed this conversation off")
            return [notice, self._done(chat_uid, followed, started, status)]
        if status == STATUS_TOOLS:
            calls = state.pending_tool_calls or next(
                (m.tool_calls for m in reversed(state.messages) if m.role == "assistant" and m.tool_calls),
                [],
            )
            if not calls:
                error = self._malformed("asked for a tool response but named no pending tool call")
                return [StreamError(error=error, conversation_id=chat_uid)]
            self._resume[chat_uid] = (len(state.messages), followed.count)
            return [ToolCallRequest(conversation_id=chat_uid, calls=calls)]
        said = _said(state.raw)
        if status == STATUS_LIMIT:
            limit_error: ProviderError = RateLimitedError(
                f"server '{self.name}': the assistant's usage limit is reached{said}", server=self.name
            )
            return [StreamError(error=limit_error, conversation_id=chat_uid)]
        failed = ServerError(f"server '{self.name}': the assistant's run failed{said}", server=self.name)
        return [StreamError(error=failed, conversation_id=chat_uid)]

    async def _finish_from_store(
        self, assistant_id: str, chat_uid: str, anchor: Anchor, started: datetime, followed: _Followed
    ) -> AsyncIterator[SendEvent]:
        """The live record expired (404): the stored chat holds the answer."""
        body = await self.http.request_json("GET", self._path("chat", assistant=assistant_id, chat=chat_uid))
        answer = parse_answer(body)
        if answer is None:
            raise self._malformed("answered with a stored chat that is not a Devic chat")
        events = self._show(reply_messages(answer.messages, anchor), followed)
        if not events and not followed.count:
            raise self._malformed(
                f"lost the live record of chat {chat_uid!r} (404) and its stored copy holds no "
                "assistant message after the one we sent (the reply is missing)"
            )
        for event in events:
            yield event
        if answer.tokens_used is not None:
            yield UsageReport(usage=Usage(total_tokens=answer.tokens_used))
        yield self._done(chat_uid, followed, started, "stored")

    async def stop(self, assistant_id: str, conversation_id: str) -> None:
        path = self._path("stop", assistant=assistant_id, chat=conversation_id)
        try:
            await self.http.request_json("POST", path)
        except BadRequestError as error:
            if error.status != 400:
                raise
            # 400: the chat is not processing any more; there is nothing to stop.

    def submit_tool_outputs(
        self,
        assistant_id: str,
        conversation_id: str,
        system_message_id: str | None,
        outputs: list[ToolOutput],
    ) -> AsyncIterator[SendEvent]:
        return guarded(self._submit_tool_outputs(assistant_id, conversation_id, outputs))

    async def _submit_tool_outputs(
        self, assistant_id: str, chat_uid: str, outputs: list[ToolOutput]
    ) -> AsyncIterator[SendEvent]:
        started = datetime.now(UTC)
        body = {
            "responses": [
                {"tool_call_id": output.tool_call_id, "content": output.output, "role": "tool"}
                for output in outputs
            ]
        }
        path = self._path("tool_response", assistant=assistant_id, chat=chat_uid)
        await self.http.request_json("POST", path, json=body)
        index, shown = self._resume.pop(chat_uid, (None, 0))
        async for event in self._follow(assistant_id, chat_uid, Anchor(index=index), started, shown):
            yield event

    # -- browsing and files

    async def list_assistants(self) -> list[AssistantInfo]:
        body = await self.http.request_json("GET", self._path("assistants"), params=ASSISTANT_PARAMS)
        return parse_assistants(body) or self.configured_assistants()

    async def list_chats(self, assistant_id: str) -> list[RemoteChat]:
        path = self._path("chats", assistant=assistant_id)
        body = await self.http.request_json("GET", path, params=CHAT_LIST_PARAMS)
        return parse_chat_list(body, assistant_id)

    async def get_chat(self, assistant_id: str, chat_id: str) -> RemoteChatDetail:
        body = await self.http.request_json("GET", self._path("chat", assistant=assistant_id, chat=chat_id))
        detail = parse_stored_chat(body, assistant_id, chat_id)
        if detail is None:
            raise self._malformed(f"answered with something that is not a stored chat for {chat_id!r}")
        return detail

    async def upload(
        self,
        assistant_id: str,
        conversation_id: str | None,
        attachment: Attachment,
        content: bytes,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        if not self.capabilities.upload:
            raise self._unsupported(f"upload files in the '{self.server.request_shape}' request shape")
        body = await self.http.upload(
            self._path("upload"),
            files={UPLOAD_FIELD: (attachment.name, content, attachment.mime_type)},
            on_progress=on_progress,
        )
        remote = parse_upload(body)
        if remote is None:
            raise self._malformed("answered an upload without the file's name and downloadUrl")
        if remote.file_type is None:
            remote = remote.model_copy(update={"file_type": file_type_for(attachment.mime_type)})
        return UploadResult(file=remote)


def _said(raw: dict[str, Any]) -> str:
    """What a realtime record says about why it ended, for an error message."""
    parts = []
    limit = raw.get("limitExceeded")
    if isinstance(limit, dict):
        if isinstance(limit.get("message"), str):
            parts.append(limit["message"])
        resets = parse_time(limit.get("resetsAt"))
        if resets is not None:
            parts.append(f"resets at {resets:%Y-%m-%d %H:%M} UTC")
    for key in ("error", "message", "errorMessage"):
        value = raw.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value:
            parts.append(value)
            break
    return ": " + "; ".join(parts) if parts else ""
