"""Emulated Devic.ai assistants API (contract §1), under both `/v1` and `/api/v1`: assistants, sync
and async sends in the three request shapes, the realtime record polled for progress, stored chats,
chat lists, stop, client-side tool responses and file uploads, with Devic's error bodies.

An async answer is computed at poll time from timestamps, so it needs no background task: its parts
land `options.message_delay` apart (buffering, then processing, then completed), a stop freezes it,
and its live record expires `options.realtime_ttl` after it ended (then polling answers 404)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from devic_tui.emulator.common import (
    ApiError,
    EmulatorState,
    answer_delay,
    apply_faults,
    check_listing,
    endpoint,
    read_json,
    state_of,
)
from devic_tui.emulator.scripts import ASSISTANTS, answer_for

API = "devic"
PREFIXES = ("/v1", "/api/v1")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PARTS = 3
FILE_TYPES = ("image", "document", "audio", "video", "other")
TOOL_NAME = "ask_details"
_REASONS = {401: "Unauthorized", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large"}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Run:
    """One async answer in progress; where it stands is computed from the clock when asked."""

    started: float
    started_ms: int
    parts: list[str]
    delay: float
    hang: float = 0.0
    """Seconds the parts after the first wait (the `hang` assistant)."""
    tool_call: dict[str, Any] | None = None
    """A pending tool call the run stops at (the `tools` assistant) instead of answering."""
    stopped_at: float | None = None
    landed: int = 0
    ended_at: float | None = None
    tool_recorded: bool = False
    cut_after_first: bool = False
    served_with_text: int = 0

    def due(self, index: int) -> float:
        """Seconds after the start at which part `index` lands."""
        return self.delay * (index + 1) + (self.hang if index > 0 else 0.0)

    def elapsed(self, now: float) -> float:
        end = self.stopped_at if self.stopped_at is not None else now
        return end - self.started

    def landed_by(self, now: float) -> int:
        if self.tool_call is not None:
            return 0
        elapsed = self.elapsed(now)
        return sum(1 for index in range(len(self.parts)) if self.due(index) <= elapsed)

    def status(self, now: float) -> str:
        if self.stopped_at is not None:
            return "completed"
        elapsed = self.elapsed(now)
        if self.tool_call is not None:
            if elapsed >= self.delay:
                return "waiting_for_tool_response"
            return "buffering" if elapsed < self.delay / 2 else "processing"
        landed = self.landed_by(now)
        if landed >= len(self.parts):
            return "completed"
        return "buffering" if landed == 0 and elapsed < self.delay / 2 else "processing"


@dataclass
class Chat:
    uid: str
    assistant: str
    name: str
    created_ms: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None
    updated_ms: int = 0
    run: Run | None = None
    words: int = 0


@dataclass
class DevicState:
    chats: dict[str, Chat] = field(default_factory=dict)
    files: dict[str, tuple[str, int]] = field(default_factory=dict)


def _devic(state: EmulatorState) -> DevicState:
    found: DevicState = state.api_state(API, DevicState)
    return found


def render_error(error: ApiError) -> Response:
    """Devic's error bodies: NestJS style for 401, the gateway envelope for 429/5xx, else ErrorResponse."""
    body: dict[str, Any]
    if error.status == 401:
        body = {"statusCode": 401, "message": error.message, "error": _REASONS[401]}
    elif error.status == 429 or error.status >= 500:
        body = {
            "success": False,
            "error": {"message": error.message, "code": error.code},
            "timestamp": _iso(_now_ms()),
        }
    else:
        body = {"error": error.code, "message": error.message}
    return JSONResponse(body, status_code=error.status)


# --------------------------------------------------------------------------- helpers


def split_parts(text: str, most: int = MAX_PARTS) -> list[str]:
    """The answer as up to `most` messages, split between paragraphs outside code fences; joined
    with a blank line they give the answer back."""
    paragraphs: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not line and not fenced and current:
            paragraphs.append("\n".join(current))
            current = []
            continue
        current.append(line)
    if current:
        paragraphs.append("\n".join(current))
    if "\n\n".join(paragraphs) != text or len(paragraphs) < 2:
        return [text]
    count = min(most, len(paragraphs))
    size = -(-len(paragraphs) // count)
    return ["\n\n".join(paragraphs[i : i + size]) for i in range(0, len(paragraphs), size)]


def _assistant(identifier: str) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "name": identifier.replace("-", " ").title(),
        "description": ASSISTANTS[identifier],
        "state": "active",
        "model": "emulator-1",
        "provider": "emulator",
    }


def _chat_of(state: EmulatorState, assistant: str, uid: str) -> Chat:
    chat = _devic(state).chats.get(uid)
    if chat is None or chat.assistant != assistant:
        raise ApiError(404, f"chat '{uid}' not found")
    return chat


def _message(chat: Chat, role: str, content: Any, at_ms: int, **extra: Any) -> dict[str, Any]:
    message = {"uid": f"{chat.uid}-m{len(chat.messages) + 1}", "role": role, "content": content}
    message.update(timestamp=at_ms, chatUid=chat.uid, **extra)
    chat.messages.append(message)
    chat.updated_ms = max(chat.updated_ms, at_ms)
    return message


def _advance(chat: Chat, now: float) -> Run | None:
    """Land the parts of the chat's run that are due by `now`; the run, if any."""
    run = chat.run
    if run is None:
        return None
    landed = run.landed_by(now)
    while run.landed < landed:
        at_ms = run.started_ms + int(run.due(run.landed) * 1000)
        _message(chat, "assistant", {"message": run.parts[run.landed]}, at_ms)
        run.landed += 1
    status = run.status(now)
    if status == "waiting_for_tool_response" and run.tool_call is not None and not run.tool_recorded:
        at_ms = run.started_ms + int(run.delay * 1000)
        _message(chat, "assistant", {"message": ""}, at_ms, tool_calls=[run.tool_call])
        run.tool_recorded = True
    if run.ended_at is None and status == "completed":
        run.ended_at = run.stopped_at if run.stopped_at is not None else run.started + run.due(landed - 1)
    return run


def _going(run: Run | None, now: float) -> bool:
    return run is not None and run.status(now) in ("buffering", "processing")


def _openapi_message(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the OpenAPI writes it: content a string, the time ISO-8601."""
    content = message["content"]
    text = content.get("message", "") if isinstance(content, dict) else content
    shown = {"uid": message["uid"], "role": message["role"], "content": text}
    shown["timestamp"] = _iso(message["timestamp"])
    return shown


def _chat_history(chat: Chat) -> dict[str, Any]:
    body: dict[str, Any] = {
        "chatUid": chat.uid,
        "assistantIdentifier": chat.assistant,
        "createdAt": _iso(chat.created_ms),
        "messages": [_openapi_message(m) for m in chat.messages],
    }
    if chat.metadata:
        body["metadata"] = chat.metadata
    return body


def _generated_history(chat: Chat) -> dict[str, Any]:
    """A ChatHistory as a server generated from the OpenAPI document answers: its own record, the
    replies so far but none of the messages sent, then the example message its generator wrote."""
    body = _chat_history(chat)
    replies = [m for m in body["messages"] if m["role"] == "assistant"]
    example = {"role": "user", "content": "string", "timestamp": body["createdAt"]}
    body["messages"] = [*replies, example]
    return body


def _stored(chat: Chat) -> dict[str, Any]:
    return {
        "chatUID": chat.uid,
        "clientUID": "emulator",
        "userUID": "emulator-user",
        "name": chat.name,
        "assistantSpecializationIdentifier": chat.assistant,
        "chatContent": chat.messages,
        "creationTimestampMs": chat.created_ms,
        "lastEditTimestampMs": chat.updated_ms,
        "inputTokens": sum(len(str(m["content"]).split()) for m in chat.messages if m["role"] == "user"),
        "outputTokens": chat.words,
        "metadata": chat.metadata,
        "tenantId": chat.tenant_id,
    }


# --------------------------------------------------------------------------- validation


@dataclass
class SendBody:
    text: str
    chat_uid: str | None
    shape: str
    """`message`, `messages` or `legacy` (a `chatUuid` key)."""
    files: list[str]
    metadata: dict[str, Any]
    tenant_id: str | None


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a string")
    return value


def _files(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ApiError(400, "'files' must be an array")
    names = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ApiError(400, f"files[{index}].name must be a string")
        url = item.get("donwloadUrl", item.get("downloadUrl"))
        if not isinstance(url, str) or not url:
            raise ApiError(400, f"files[{index}] needs a donwloadUrl")
        if item.get("fileType") is not None and item["fileType"] not in FILE_TYPES:
            raise ApiError(400, f"files[{index}].fileType must be one of {', '.join(FILE_TYPES)}")
        names.append(item["name"])
    return names


def parse_send(body: Any) -> SendBody:
    """Read a send in any of the three request shapes, refusing what a strict server refuses."""
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object with 'message' or 'messages'")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ApiError(400, "'metadata' must be an object")
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise ApiError(400, "'tags' must be an array of strings")
    tenant_id = _optional_str(body, "tenantId")
    _optional_str(body, "subtenantId")
    files = _files(body.get("files"))
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "'messages' must be a non-empty array")
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if not users or not isinstance(users[-1].get("content"), str):
            raise ApiError(400, "'messages' must end with a user message whose content is a string")
        text: str = users[-1]["content"]
        return SendBody(text, _optional_str(body, "chatUid"), "messages", files, metadata or {}, tenant_id)
    message = body.get("message")
    if not isinstance(message, str):
        raise ApiError(400, "'message' is required and must be a string (or send 'messages')")
    if not message.strip() and not files:
        raise ApiError(400, "'message' must not be empty")
    if "chatUuid" in body:
        return SendBody(message, _optional_str(body, "chatUuid"), "legacy", files, metadata or {}, tenant_id)
    return SendBody(message, _optional_str(body, "chatUid"), "message", files, metadata or {}, tenant_id)


# --------------------------------------------------------------------------- handlers


@endpoint(API, render_error)
async def list_assistants(request: Request) -> Response:
    check_listing(state_of(request), API)
    return JSONResponse(
        {
            "success": True,
            "data": [_assistant(name) for name in state_of(request).options.listed_assistants()],
        }
    )


@endpoint(API, render_error)
async def get_assistant(request: Request) -> Response:
    identifier = request.path_params["identifier"]
    apply_faults(state_of(request), API, identifier, on_send=False)
    return JSONResponse(_assistant(identifier))


@endpoint(API, render_error)
async def send(request: Request) -> Response:
    state = state_of(request)
    identifier = request.path_params["identifier"]
    apply_faults(state, API, identifier, on_send=False)
    sent = parse_send(await read_json(request))
    is_async = request.query_params.get("async", "").lower() == "true"
    apply_faults(state, API, identifier)
    devic = _devic(state)
    now = time.monotonic()
    if sent.chat_uid:
        chat = _chat_of(state, identifier, sent.chat_uid)
        if _going(_advance(chat, now), now):
            raise ApiError(409, "the chat is still processing the previous message")
    else:
        chat = Chat(state.new_id("chat"), identifier, sent.text.strip()[:40] or "untitled", _now_ms())
        devic.chats[chat.uid] = chat
    chat.metadata.update(sent.metadata)
    chat.tenant_id = sent.tenant_id or chat.tenant_id
    content: dict[str, Any] = {"message": sent.text}
    if sent.files:
        content["files"] = [{"name": name, "url": "", "type": "document"} for name in sent.files]
    _message(chat, "user", content, _now_ms())
    turn = sum(1 for m in chat.messages if m["role"] == "user")
    answer = answer_for(identifier, sent.text, sent.files, turn=turn)
    chat.words += len(answer.split())

    if is_async:
        if identifier == "junk":
            return JSONResponse({"success": True, "data": {"queued": True}})
        chat.run = _new_run(state, chat, identifier, answer, now)
        return JSONResponse({"success": True, "data": {"chatUid": chat.uid}})

    chat.run = None
    delay = answer_delay(state, identifier)
    if identifier == "hang":
        delay = state.options.hang_seconds
    if delay:
        await asyncio.sleep(delay)
    if identifier == "junk":
        return Response("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
    at_ms = _now_ms()
    for part in split_parts(answer):
        _message(chat, "assistant", {"message": part}, at_ms)
    if sent.shape == "legacy":
        body: dict[str, Any] = {
            "chatUuid": chat.uid,
            "message": answer,
            "tokens_used": len(answer.split()),
            "timestamp": _iso(at_ms),
        }
    elif state.options.devic_generated_answers:
        body = _generated_history(chat)
    elif sent.shape == "messages":
        body = _chat_history(chat)
    else:
        body = {"success": True, "data": _chat_history(chat)}
    if identifier == "cut":
        return StreamingResponse(_cut(json.dumps(body)), media_type="application/json")
    return JSONResponse(body)


def _new_run(state: EmulatorState, chat: Chat, identifier: str, answer: str, now: float) -> Run:
    delay = state.options.message_delay + answer_delay(state, identifier)
    run = Run(started=now, started_ms=_now_ms(), parts=split_parts(answer), delay=delay)
    if identifier == "hang":
        run.hang = state.options.hang_seconds
    if identifier == "cut":
        run.cut_after_first = True
        run.hang = state.options.hang_seconds  # the connection drops before the rest could land
    if identifier == "tools":
        arguments = {"question": "Which city should the answer be about?"}
        run.tool_call = {
            "id": state.new_id("call"),
            "type": "function",
            "function": {"name": TOOL_NAME, "arguments": json.dumps(arguments)},
        }
    return run


async def _cut(text: str) -> AsyncIterator[bytes]:
    yield text[: len(text) // 2].encode()
    raise ConnectionAbortedError("the cut assistant drops the connection")


@endpoint(API, render_error)
async def realtime(request: Request) -> Response:
    state = state_of(request)
    identifier = request.path_params["identifier"]
    apply_faults(state, API, identifier, on_send=False)
    chat = _chat_of(state, identifier, request.path_params["chat_uid"])
    now = time.monotonic()
    run = _advance(chat, now)
    if run is None:
        raise ApiError(404, f"no live record for chat '{chat.uid}'")
    if run.ended_at is not None and now - run.ended_at > state.options.realtime_ttl:
        raise ApiError(404, f"the live record of chat '{chat.uid}' has expired")
    status = run.status(now)
    data: dict[str, Any] = {
        "chatUID": chat.uid,
        "clientUID": "emulator",
        "chatHistory": chat.messages,
        "status": status,
        "lastUpdatedAt": chat.updated_ms or chat.created_ms,
    }
    if status == "waiting_for_tool_response" and run.tool_call is not None:
        data["pendingToolCalls"] = [run.tool_call]
    body = json.dumps({"success": True, "data": data})
    if run.cut_after_first and run.landed:
        run.served_with_text += 1
        if run.served_with_text > 1:
            return StreamingResponse(_cut(body), media_type="application/json")
    return Response(body, media_type="application/json")


@endpoint(API, render_error)
async def stored_chat(request: Request) -> Response:
    state = state_of(request)
    identifier = request.path_params["identifier"]
    apply_faults(state, API, identifier, on_send=False)
    chat = _chat_of(state, identifier, request.path_params["chat_uid"])
    _advance(chat, time.monotonic())
    return JSONResponse(_stored(chat))


@endpoint(API, render_error)
async def list_chats(request: Request) -> Response:
    state = state_of(request)
    identifier = request.path_params["identifier"]
    apply_faults(state, API, identifier, on_send=False)
    try:
        offset = int(request.query_params.get("offset", "0"))
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        raise ApiError(400, "'offset' and 'limit' must be integers") from None
    if offset < 0 or not 1 <= limit <= 100:
        raise ApiError(400, "'offset' must be at least 0 and 'limit' between 1 and 100")
    chats = [c for c in _devic(state).chats.values() if c.assistant == identifier]
    chats.sort(key=lambda c: c.updated_ms or c.created_ms, reverse=True)
    histories = [
        {
            "chatUID": c.uid,
            "name": c.name,
            "creationTimestampMs": c.created_ms,
            "lastEditTimestampMs": c.updated_ms or c.created_ms,
        }
        for c in chats[offset : offset + limit]
    ]
    return JSONResponse({"histories": histories, "total": len(chats), "offset": offset, "limit": limit})


@endpoint(API, render_error)
async def stop(request: Request) -> Response:
    state = state_of(request)
    identifier = request.path_params["identifier"]
    apply_faults(state, API, identifier, on_send=False)
    chat = _chat_of(state, identifier, request.path_params["chat_uid"])
    now = time.monotonic()
    run = _advance(chat, now)
    if run is None or not _going(run, now):
        raise ApiError(400, f"chat '{chat.uid}' is not processing")
    run.stopped_at = now
    _advance(chat, now)
    return JSONResponse({"chatUid": chat.uid, "message": "the chat was stopped"})


@endpoint(API, render_error)
async def tool_response(request: Request) -> Response:
    state = state_of(request)
    identifier = request.path_params["identifier"]
    apply_faults(state, API, identifier, on_send=False)
    chat = _chat_of(state, identifier, request.path_params["chat_uid"])
    now = time.monotonic()
    run = _advance(chat, now)
    if run is None or run.tool_call is None or run.status(now) != "waiting_for_tool_response":
        raise ApiError(400, f"chat '{chat.uid}' is not waiting for a tool response")
    body = await read_json(request)
    responses = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(responses, list) or not responses:
        raise ApiError(400, "'responses' must be a non-empty array")
    answers: list[str] = []
    for index, item in enumerate(responses):
        if not isinstance(item, dict) or not isinstance(item.get("tool_call_id"), str):
            raise ApiError(400, f"responses[{index}].tool_call_id must be a string")
        if item["tool_call_id"] != run.tool_call["id"]:
            raise ApiError(400, f"no pending tool call '{item['tool_call_id']}'")
        if "content" not in item:
            raise ApiError(400, f"responses[{index}].content is required")
        content = item["content"]
        text = content if isinstance(content, str) else json.dumps(content)
        answers.append(text)
        _message(chat, "tool", text, _now_ms(), tool_call_id=item["tool_call_id"])
    user = next((m for m in reversed(chat.messages) if m["role"] == "user"), None)
    prompt = user["content"].get("message", "") if user else ""
    quoted = "\n".join(f"> {line}" for text in answers for line in (text.splitlines() or [""]))
    answer = "\n\n".join(
        [
            f"Thanks. The tool `{TOOL_NAME}` answered:",
            quoted,
            answer_for("echo", prompt, turn=sum(1 for m in chat.messages if m["role"] == "user")),
        ]
    )
    chat.words += len(answer.split())
    chat.run = _new_run(state, chat, "echo", answer, now)
    return JSONResponse({"success": True, "data": {"chatUid": chat.uid}})


@endpoint(API, render_error)
async def upload(request: Request) -> Response:
    state = state_of(request)
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "send the file as multipart/form-data in the field 'file'")
    async with request.form(max_files=1) as form:
        item = form.get("file")
        if not isinstance(item, UploadFile):
            raise ApiError(400, "the multipart field 'file' is required")
        content = await item.read()
        name = item.filename or "file"
        mime = item.content_type or "application/octet-stream"
    if len(content) > MAX_UPLOAD_BYTES:
        raise ApiError(413, f"'{name}' is {len(content)} bytes; files may be at most 25 MB")
    file_id = state.new_id("file")
    _devic(state).files[file_id] = (name, len(content))
    major = mime.split("/", 1)[0]
    file_type = major if major in ("image", "audio", "video") else "document"
    url = f"{str(request.base_url).rstrip('/')}/files/{file_id}/{name}"
    return JSONResponse({"name": name, "downloadUrl": url, "fileType": file_type})


def routes() -> list[BaseRoute]:
    assistant = "/assistants/{identifier}"
    chat = assistant + "/chats/{chat_uid}"
    table: list[tuple[str, Any, str]] = [
        ("/assistants", list_assistants, "GET"),
        (assistant, get_assistant, "GET"),
        (assistant + "/messages", send, "POST"),
        (assistant + "/chats", list_chats, "GET"),
        (chat, stored_chat, "GET"),
        (chat + "/realtime", realtime, "GET"),
        (chat + "/stop", stop, "POST"),
        (chat + "/tool-response", tool_response, "POST"),
        ("/files/upload", upload, "POST"),
    ]
    return [
        Route(prefix + path, handler, methods=[method])
        for prefix in PREFIXES
        for path, handler, method in table
    ]
