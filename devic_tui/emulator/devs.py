"""Emulated Devs platform API (contract §4) in its two dialects. The seed's (`events`): AIs (the
scripted assistant names) under `/api/v1/me/ai` and `/api/v1/ai`, chats with messages and files, the
send and tool-output streams as named SSE events in the contract's "our choice" shapes, duplicate
(POST), reset (PUT and POST), delete, usage, the 5 MB upload limit, and chat completions
(`/chat/completions` streams OpenAI-style chunks, `/chats/completions` Devs-style events). The April
2024 server's (`2024`, always under `/devs-2024`, and under `/api/v1` when the emulator's
`devs_dialect` says so): the token only in `X-Authorization`, answers as `text/plain` stored as
`system` messages, flat chats in no order, `/me/chats`, duplicate by PUT copying no messages, reset
to a new chat id, and no tool-output, file or completion routes. Errors are `{"message", "error"}`
JSON (plain `Unauthorized` for a refused header)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from devic_tui.emulator import devs_knowledge
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
from devic_tui.emulator.devs_dialect import LEGACY_ROOT, authenticate, is_2024, iso_now, render_error
from devic_tui.emulator.scripts import ASSISTANTS, answer_for, chunked

API = "devs"
PREFIX = "/api/v1"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
USER_ID = "user_emulator"
TOOLS_AI = "tools"
_HUGE_CHUNK = 65536


@dataclass
class DevsChat:
    id: str
    ai_id: str
    created_at: str
    updated_at: str
    name: str = "New chat"
    messages: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    pending_tool: dict[str, Any] | None = None
    """The system message whose tool calls wait for outputs."""
    tool_asked: bool = False


API_TOKEN_LIMIT = 1_000_000
DATA_TOKEN_LIMIT = 5_000_000
DATA_GB_LIMIT = 2.0


@dataclass
class DevsState:
    chats: dict[str, DevsChat] = field(default_factory=dict)
    tokens: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per AI: (input tokens, output tokens) so far."""
    api_token_limit: int = API_TOKEN_LIMIT
    """The organisation's API tokens (its usage answer's `apiUsageTokenLimit`); a test lowers it."""


def _missing_in_2024(request: Request) -> None:
    """The 404 of a route the 2024 server does not have."""
    if is_2024(request):
        raise ApiError(404, f"Cannot {request.method} {request.url.path}")


LEGACY_STATE = "devs-2024"
"""The state of the server under `/devs-2024`: a server of its own, whose chats the other does not see."""


def _devs(request: Request) -> DevsState:
    key = LEGACY_STATE if request.url.path.startswith(LEGACY_ROOT) else API
    found: DevsState = state_of(request).api_state(key, DevsState)
    return found


def _ai_json(name: str) -> dict[str, Any]:
    stamp = "2025-01-01T00:00:00.000Z"
    return {
        "id": name,
        "createdAt": stamp,
        "updatedAt": stamp,
        "name": name,
        "description": ASSISTANTS[name],
        "src": None,
        "profile": {"headline": ASSISTANTS[name], "description": "", "features": []},
        "userName": "emulator",
        "categoryId": None,
        "messageCount": 0,
        "rating": 0,
        "ratingCount": 0,
        "introduction": f"Hello, I am {name}. {ASSISTANTS[name]}. Ask me anything.",
        "visibility": "ORGANIZATION",
        "modelId": "emulator-model",
        "instructions": f"You are {name}. {ASSISTANTS[name]}.",
        "options": {"temperature": [0.7], "topP": [1], "maxTokens": [2048]},
    }


def _chat_json(chat: DevsChat, *, messages: bool = False, flat: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": chat.id,
        "createdAt": chat.created_at,
        "updatedAt": chat.updated_at,
        "name": chat.name,
        "userId": USER_ID,
        "pinPosition": None,
    }
    if flat:  # the 2024 server's shape: the AI by id only
        body["aiId"] = chat.ai_id
    else:
        body["ai"] = {
            "id": chat.ai_id,
            "name": chat.ai_id,
            "src": None,
            "description": ASSISTANTS.get(chat.ai_id, ""),
            "userId": USER_ID,
            "userName": "emulator",
        }
    if messages:
        body["messages"] = [dict(m) for m in chat.messages]
    return body


def _message(state: EmulatorState, role: str, content: Any, **extra: Any) -> dict[str, Any]:
    stamp = iso_now()
    return {
        "id": state.new_id("msg"),
        "createdAt": stamp,
        "updatedAt": stamp,
        "content": content,
        "role": role,
        **extra,
    }


def _chat_of(request: Request) -> tuple[EmulatorState, DevsChat]:
    state = state_of(request)
    chat_id = request.path_params["chat_id"]
    chat = _devs(request).chats.get(chat_id)
    if chat is None:
        raise ApiError(404, f"chat '{chat_id}' not found")
    return state, chat


def _count_tokens(devs: DevsState, ai_id: str, prompt: str, answer: str) -> dict[str, int]:
    usage = {"inputTokens": len(prompt.split()), "outputTokens": len(answer.split())}
    before = devs.tokens.get(ai_id, (0, 0))
    devs.tokens[ai_id] = (before[0] + usage["inputTokens"], before[1] + usage["outputTokens"])
    return usage


def _sse(event: str, payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"event: {event}\ndata: {data}\n\n".encode()


async def _pieces(state: EmulatorState, ai_id: str, answer: str) -> AsyncIterator[str]:
    """The answer in chunks, paced, with the `cut` and `hang` faults half way."""
    size = _HUGE_CHUNK if ai_id == "huge" else state.options.chunk_size
    pieces = list(chunked(answer, size))
    delay = answer_delay(state, ai_id)
    for index, piece in enumerate(pieces):
        if index and delay:
            await asyncio.sleep(delay)
        if ai_id == "cut" and index == len(pieces) // 2:
            raise ConnectionAbortedError("the cut assistant drops the connection")
        if ai_id == "hang" and index == len(pieces) // 2:
            await asyncio.sleep(state.options.hang_seconds)
        yield piece


async def _answer_stream(
    state: EmulatorState,
    ai_id: str,
    message_id: str,
    answer: str,
    usage: dict[str, int],
    chat_id: str | None = None,
) -> AsyncIterator[bytes]:
    """The seed's named events; `chat_id` (completions: the chat the answer was kept in) goes in
    `message.completed`."""
    yield _sse("message.created", {"messageId": message_id, "role": "assistant"})
    if ai_id == "junk":
        yield b"event: message.delta\ndata: this is not json\n\n"
        return
    async for piece in _pieces(state, ai_id, answer):
        yield _sse("message.delta", {"messageId": message_id, "content": {"text": piece}})
    completed: dict[str, Any] = {"messageId": message_id, "content": answer, "usage": usage}
    if chat_id is not None:
        completed["chatId"] = chat_id
    yield _sse("message.completed", completed)
    yield _sse("done", {})


def _stream(chunks: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(chunks, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


# ---------------------------------------------------------------------------------------------- AIs


@endpoint(API, render_error, authenticate)
async def list_ais(request: Request) -> Response:
    check_listing(state_of(request), API)
    ais = [_ai_json(name) for name in state_of(request).options.listed_assistants()]
    search = request.query_params.get("search", "").lower()
    if search:
        ais = [ai for ai in ais if search in ai["name"].lower()]
    if request.url.path.endswith("/me/ai") and not is_2024(request):
        return JSONResponse({"data": ais})
    return JSONResponse(ais)  # the bare-array shape, also seen in the wild


@endpoint(API, render_error, authenticate)
async def get_ai(request: Request) -> Response:
    ai_id = request.path_params["ai_id"]
    stored = devs_knowledge.stored_ai(state_of(request), ai_id)
    if stored is not None:
        return JSONResponse(stored)
    apply_faults(state_of(request), API, ai_id, on_send=False)
    return JSONResponse(_ai_json(ai_id))


@endpoint(API, render_error, authenticate)
async def ai_chats(request: Request) -> Response:
    state = state_of(request)
    ai_id = request.path_params["ai_id"]
    apply_faults(state, API, ai_id, on_send=False)
    devs = _devs(request)
    flat = is_2024(request)
    if request.method == "GET":
        chats = [c for c in devs.chats.values() if c.ai_id == ai_id]
        if flat:  # the 2024 server lists them in no particular order
            chats.sort(key=lambda c: c.id[::-1])
        return JSONResponse({"data": [_chat_json(c, flat=flat) for c in chats]})
    stamp = iso_now()
    chat = DevsChat(id=state.new_id("chat"), ai_id=ai_id, created_at=stamp, updated_at=stamp)
    devs.chats[chat.id] = chat
    return JSONResponse(_chat_json(chat, messages=True, flat=flat), status_code=201)


@endpoint(API, render_error, authenticate)
async def my_chats(request: Request) -> Response:
    """Every chat of the user, newest first (the 2024 server's route; the seed has none)."""
    if not is_2024(request):
        raise ApiError(404, f"Cannot GET {request.url.path}")
    chats = sorted(_devs(request).chats.values(), key=lambda c: c.updated_at, reverse=True)
    return JSONResponse({"data": [_chat_json(c, flat=True) for c in chats]})


# --------------------------------------------------------------------------------------------- chats


@endpoint(API, render_error, authenticate)
async def chat(request: Request) -> Response:
    state, found = _chat_of(request)
    if request.method == "GET":
        return JSONResponse(_chat_json(found, messages=True, flat=is_2024(request)))
    if request.method == "DELETE":
        del _devs(request).chats[found.id]
        return Response(status_code=204)
    return await _send(request, state, found)


def _read_prompt(chat: DevsChat, prompt: Any) -> tuple[str, list[str]]:
    """The text of a prompt and the names of what it attaches."""
    if isinstance(prompt, str):
        return prompt, []
    if not isinstance(prompt, list) or not prompt:
        raise ApiError(400, "prompt must be a string or a non-empty array of content")
    texts: list[str] = []
    names: list[str] = []
    files = {f["id"]: f for f in chat.files}
    for item in prompt:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
        elif kind == "file" and isinstance(item.get("id"), str):
            if item["id"] not in files:
                raise ApiError(400, f"file '{item['id']}' is not a file of this chat")
            names.append(files[item["id"]]["filename"])
        elif kind == "url" and isinstance(item.get("url"), str):
            names.append(item["url"])
        else:
            raise ApiError(400, f"unknown content item: {json.dumps(item)[:80]}")
    return "\n".join(texts), names


async def _send(request: Request, state: EmulatorState, found: DevsChat) -> Response:
    body = await read_json(request)
    if not isinstance(body, dict) or "prompt" not in body:
        raise ApiError(400, "prompt is required")
    if not isinstance(body.get("date"), str):
        raise ApiError(400, "date is required (ISO-8601)")
    if found.pending_tool is not None:
        raise ApiError(409, "this chat waits for tool outputs")
    text, names = _read_prompt(found, body["prompt"])
    apply_faults(state, API, found.ai_id)
    found.messages.append(_message(state, "user", body["prompt"]))
    found.updated_at = iso_now()
    if found.name == "New chat" and text.strip():
        found.name = text.strip().splitlines()[0][:40]

    legacy = is_2024(request)
    if found.ai_id == TOOLS_AI and not found.tool_asked and not legacy:
        return _stream(_ask_tools(state, found))
    turn = sum(1 for m in found.messages if m["role"] == "user")
    answer = answer_for(found.ai_id, text, names, turn=turn)
    reply = _message(state, "system" if legacy else "assistant", answer)
    found.messages.append(reply)
    usage = _count_tokens(_devs(request), found.ai_id, text, answer)
    if legacy:
        return StreamingResponse(_text_stream(state, found.ai_id, answer), media_type="text/plain")
    return _stream(_answer_stream(state, found.ai_id, reply["id"], answer, usage))


async def _text_stream(state: EmulatorState, ai_id: str, answer: str) -> AsyncIterator[bytes]:
    """The 2024 server's answer: the text itself in pieces, ended by EOF (no ids, no usage)."""
    async for piece in _pieces(state, ai_id, answer):
        yield piece.encode()


def _tool_calls(state: EmulatorState) -> list[dict[str, Any]]:
    return [
        {
            "toolCallId": state.new_id("call"),
            "name": "collect_details",
            "description": "A few details before the answer",
            "fields": [
                {"name": "city", "label": "City", "type": "string", "required": True},
                {
                    "name": "units",
                    "label": "Units",
                    "type": "choice",
                    "required": True,
                    "choices": ["metric", "imperial"],
                },
            ],
        }
    ]


async def _ask_tools(state: EmulatorState, found: DevsChat) -> AsyncIterator[bytes]:
    calls = _tool_calls(state)
    system = _message(state, "system", "", toolCalls=calls)
    found.messages.append(system)
    found.pending_tool = system
    found.tool_asked = True
    yield _sse("tool.call", {"systemMessageId": system["id"], "toolCalls": calls})


def _outputs_answer(outputs: list[dict[str, Any]]) -> str:
    lines = ["Thanks, that is what I needed. You answered:", ""]
    for output in outputs:
        status = output.get("status") or "success"
        lines.append(f"- `{output['toolCallId']}` ({status}):")
        try:
            values = json.loads(output["output"])
        except ValueError:
            values = None
        if isinstance(values, dict):
            lines += [f"  - {key}: {value}" for key, value in values.items()]
        else:
            lines.append(f"  > {output['output']}")
    return "\n".join(lines)


@endpoint(API, render_error, authenticate)
async def tool_outputs(request: Request) -> Response:
    _missing_in_2024(request)
    state, found = _chat_of(request)
    apply_faults(state, API, found.ai_id, on_send=False)
    body = await read_json(request)
    pending = found.pending_tool
    if pending is None:
        raise ApiError(400, "no tool call is waiting in this chat")
    if not isinstance(body, dict) or body.get("systemMessageId") != pending["id"]:
        raise ApiError(400, f"systemMessageId must be '{pending['id']}'")
    outputs = body.get("outputs")
    wanted = {call["toolCallId"] for call in pending["toolCalls"]}
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("output"), str) and o.get("toolCallId") in wanted
        for o in outputs
    ):
        raise ApiError(400, "outputs must be [{toolCallId, output, status?}] for the waiting tool calls")
    if {o["toolCallId"] for o in outputs} != wanted:
        raise ApiError(400, "every waiting tool call needs an output")
    found.pending_tool = None
    answer = _outputs_answer(outputs)
    reply = _message(state, "assistant", answer)
    found.messages.append(reply)
    found.updated_at = iso_now()
    usage = _count_tokens(_devs(request), found.ai_id, " ".join(o["output"] for o in outputs), answer)
    return _stream(_answer_stream(state, found.ai_id, reply["id"], answer, usage))


@endpoint(API, render_error, authenticate)
async def duplicate(request: Request) -> Response:
    legacy = is_2024(request)
    if request.method != ("PUT" if legacy else "POST"):  # each dialect takes one method
        raise ApiError(405, f"Cannot {request.method} {request.url.path}")
    state, found = _chat_of(request)
    stamp = iso_now()
    copy = DevsChat(
        id=state.new_id("chat"),
        ai_id=found.ai_id,
        created_at=stamp,
        updated_at=stamp,
        name=f"{found.name} (copy)",
        messages=[] if legacy else [{**m, "id": state.new_id("msg")} for m in found.messages],
        files=[] if legacy else [dict(f) for f in found.files],
        tool_asked=found.tool_asked and not legacy,
    )
    _devs(request).chats[copy.id] = copy
    if legacy:  # the 2024 server answers the new, empty chat, without its messages
        return JSONResponse(_chat_json(copy, flat=True), status_code=201)
    return JSONResponse(_chat_json(copy, messages=True), status_code=201)


@endpoint(API, render_error, authenticate)
async def reset(request: Request) -> Response:
    state, found = _chat_of(request)
    if is_2024(request):  # the 2024 server answers a new chat, under a new id
        devs = _devs(request)
        del devs.chats[found.id]
        stamp = iso_now()
        fresh = DevsChat(id=state.new_id("chat"), ai_id=found.ai_id, created_at=stamp, updated_at=stamp)
        devs.chats[fresh.id] = fresh
        return JSONResponse(_chat_json(fresh, messages=True, flat=True))
    found.messages.clear()
    found.pending_tool = None
    found.tool_asked = False
    found.updated_at = iso_now()
    return JSONResponse(_chat_json(found, messages=True))


@endpoint(API, render_error, authenticate)
async def files(request: Request) -> Response:
    _missing_in_2024(request)
    state, found = _chat_of(request)
    if request.method == "GET":
        return JSONResponse({"data": found.files})
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "multipart field 'file' is required")
    content = await upload.read()
    if len(content) > MAX_UPLOAD_BYTES:
        raise ApiError(413, f"file is {len(content):,} bytes; the limit is {MAX_UPLOAD_BYTES:,} (5 MB)")
    source = form.get("source", "USER")
    if source not in ("USER", "SYSTEM"):
        raise ApiError(400, "source must be USER or SYSTEM")
    file_id = state.new_id("file")
    record = {
        "id": file_id,
        "createdAt": iso_now(),
        "source": source,
        "filename": upload.filename or "upload",
        "size": len(content),
        "mimeType": upload.content_type or "application/octet-stream",
        "url": f"{str(request.base_url).rstrip('/')}{PREFIX}/files/{file_id}",
        "metadata": {},
        "deletedAt": None,
        "status": "UPLOADED",
    }
    found.files.append(record)
    return JSONResponse(record, status_code=201)


@endpoint(API, render_error, authenticate)
async def usage(request: Request) -> Response:
    devs = _devs(request)
    tokens = devs.tokens
    used = sum(i + o for i, o in tokens.values())
    data: dict[str, Any] = (
        {"dataUsedInGb": 0.0, "dataUsageLimitInGb": DATA_GB_LIMIT}
        if is_2024(request)
        else {"dataTokensUsed": 0, "dataUsageTokenLimit": DATA_TOKEN_LIMIT}
    )
    return JSONResponse(
        {
            "orgUsage": {
                "orgId": "org-emulator",
                "apiTokensUsed": used,
                "apiUsageTokenLimit": devs.api_token_limit,
                **data,
                "tokensUsed": used,
                "inputTokens": sum(i for i, _ in tokens.values()),
                "outputTokens": sum(o for _, o in tokens.values()),
            },
            "aiUsages": [
                {"aiId": ai_id, "aiDataTokensUsed": 0, "aiApiTokensUsed": i + o}
                for ai_id, (i, o) in tokens.items()
            ],
        }
    )


# ------------------------------------------------------------------------------------- completions


def _last_user_text(messages: Any) -> tuple[str, int]:
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty array")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise ApiError(400, "messages hold no user message")
    content = users[-1].get("content")
    if isinstance(content, list):
        content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str):
        raise ApiError(400, "a message's content must be text")
    return content, len(users)


@endpoint(API, render_error, authenticate)
async def completions(request: Request) -> Response:
    _missing_in_2024(request)
    state = state_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise ApiError(400, "model is required")
    ai_id: str = body["model"]
    prompt, turn = _last_user_text(body.get("messages"))
    apply_faults(state, API, ai_id)
    stamp = iso_now()
    record = DevsChat(id=state.new_id("chat"), ai_id=ai_id, created_at=stamp, updated_at=stamp)
    answer = answer_for(ai_id, prompt, turn=turn)
    record.messages += [_message(state, "user", prompt), _message(state, "assistant", answer)]
    _devs(request).chats[record.id] = record
    usage = _count_tokens(_devs(request), ai_id, prompt, answer)
    completion_id = state.new_id("chatcmpl")
    if not body.get("stream"):
        if ai_id == "junk":
            return Response("<html><body>Bad gateway</body></html>", media_type="text/html")
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "model": ai_id,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": usage["inputTokens"],
                    "completion_tokens": usage["outputTokens"],
                    "total_tokens": usage["inputTokens"] + usage["outputTokens"],
                },
                "chatId": record.id,
            }
        )
    if request.url.path.endswith("/chats/completions"):
        return _stream(_answer_stream(state, ai_id, record.messages[-1]["id"], answer, usage, record.id))
    return _stream(_openai_stream(state, ai_id, completion_id, record.id, answer, usage))


async def _openai_stream(
    state: EmulatorState, ai_id: str, completion_id: str, chat_id: str, answer: str, usage: dict[str, int]
) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        payload = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "model": ai_id,
            "chatId": chat_id,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload)}\n\n".encode()

    if ai_id == "junk":
        yield b"data: this is not json\n\n"
        return
    yield chunk({"role": "assistant", "content": ""})
    async for piece in _pieces(state, ai_id, answer):
        yield chunk({"content": piece})
    yield chunk({}, "stop")
    total = usage["inputTokens"] + usage["outputTokens"]
    tail = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "model": ai_id,
        "chatId": chat_id,
        "choices": [],
        "usage": {
            "prompt_tokens": usage["inputTokens"],
            "completion_tokens": usage["outputTokens"],
            "total_tokens": total,
        },
    }
    yield f"data: {json.dumps(tail)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for root in ("", LEGACY_ROOT):
        api = root + PREFIX
        chats = api + "/chats/{chat_id}"
        found += [
            Route(api + "/me/ai", list_ais, methods=["GET"]),
            Route(api + "/me/chats", my_chats, methods=["GET"]),
            Route(api + "/ai", list_ais, methods=["GET"]),
            Route(api + "/ai/{ai_id}", get_ai, methods=["GET"]),
            Route(api + "/ai/{ai_id}/chats", ai_chats, methods=["GET", "POST"]),
            Route(api + "/usage/ai", usage, methods=["GET"]),
            Route(api + "/usage/org", usage, methods=["GET"]),
            Route(api + "/chat/completions", completions, methods=["POST"]),
            Route(api + "/chats/completions", completions, methods=["POST"]),
            Route(chats, chat, methods=["GET", "POST", "DELETE"]),
            Route(chats + "/duplicate", duplicate, methods=["PUT", "POST"]),
            Route(chats + "/reset", reset, methods=["PUT", "POST"]),
            Route(chats + "/tool-outputs", tool_outputs, methods=["POST"]),
            Route(chats + "/files", files, methods=["GET", "POST"]),
            *devs_knowledge.routes(root),
        ]
    return found
