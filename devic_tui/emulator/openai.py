"""Emulated OpenAI-compatible API (contract §3): `POST /v1/chat/completions`, answered as one
`chat.completion` or as `chat.completion.chunk` events ending with a usage chunk and `[DONE]`, and
`GET /v1/models` listing every scripted assistant as a model (with a `description`, as some servers
add). Errors come in OpenAI's `{"error": {"message", "type", "code"}}` shape; the fault modes are the
emulator's (see its docstring). Every answer carries `x-ratelimit-*-requests` headers, and the
`limited` model plays Devic's model gateway near a tenant limit (see `quotas`)."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

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
from devic_tui.emulator.model_servers import model_fields
from devic_tui.emulator.quotas import take_request
from devic_tui.emulator.scripts import ASSISTANTS, answer_for, chunked, long_answer

API = "openai"
OWNER = "devic-emulator"
CREATED = 1_700_000_000
_SCRIPTED = frozenset({"markdown", "long", "fences", "huge"})
"""Names whose answer is a fixed script; every other name answers like `echo`."""
_HUGE_CHUNK = 65536

_ERROR_KINDS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
}


def render_error(error: ApiError) -> Response:
    kind, default_code = _ERROR_KINDS.get(error.status, ("api_error", "error"))
    # Codes set here are lower-case (OpenAI's); the shared layer's upper-case defaults are replaced.
    code = error.code if error.code.islower() else default_code
    body = {"error": {"message": error.message, "type": kind, "code": code}}
    return JSONResponse(body, status_code=error.status)


def _text_of(content: Any) -> str | None:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if all(isinstance(p, str) for p in parts):
            return "\n".join(p for p in parts if isinstance(p, str))
    return None


def _validate(body: Any) -> tuple[str, list[tuple[str, str]], bool]:
    """The model, the messages as (role, text) and the stream flag; ApiError 400 when malformed."""
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter", code="missing_model")
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "'messages' must be a non-empty array", code="missing_messages")
    messages: list[tuple[str, str]] = []
    for index, item in enumerate(raw):
        role = item.get("role") if isinstance(item, dict) else None
        text = _text_of(item.get("content")) if isinstance(item, dict) else None
        if not isinstance(role, str) or text is None:
            raise ApiError(
                400, f"messages[{index}] needs a string 'role' and 'content'", code="invalid_message"
            )
        messages.append((role, text))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be a boolean", code="invalid_stream")
    return model, messages, stream


@functools.lru_cache(maxsize=2 * len(_SCRIPTED))
def _scripted(model: str, long_chars: int) -> str:
    """A fixed script, built once (`huge` takes about a second to write)."""
    if model == "long":
        return long_answer(target_chars=long_chars)
    return answer_for(model, "")


_PARAMETERS = ("temperature", "top_p", "max_tokens")


def _answer(model: str, messages: list[tuple[str, str]], long_chars: int, body: dict[str, Any]) -> str:
    """The scripted answer; an echo also says what the request carried besides the message (the
    history, a system prompt, the sampling parameters), so a person sees what was sent."""
    if model in _SCRIPTED:
        return _scripted(model, long_chars)
    prompts = [text for role, text in messages if role == "user"]
    answer = answer_for(model, prompts[-1] if prompts else "", turn=max(1, len(prompts)))
    system = [text for role, text in messages if role == "system"]
    chat = [item for item in messages if item[0] != "system"]
    earlier = len(chat) - 1
    count = f"{len(chat)} message{'s' if len(chat) != 1 else ''}"
    lines = [answer, "", f"The request carried {count}: {earlier} of history and this one."]
    if system:
        lines.append(f"Its system prompt: “{' '.join(system[0].split())[:200]}”.")
    parameters = [f"{name} {body[name]}" for name in _PARAMETERS if name in body]
    if parameters:
        lines.append(f"Its parameters: {', '.join(parameters)}.")
    return "\n".join(lines)


def _usage(messages: list[tuple[str, str]], answer: str) -> dict[str, int]:
    prompt = sum(len(text.split()) for _, text in messages)
    completion = len(answer.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


@endpoint(API, render_error)
async def models(request: Request) -> Response:
    check_listing(state_of(request), API)
    data = [
        {
            "id": name,
            "object": "model",
            "created": CREATED,
            "owned_by": OWNER,
            "description": description,
            **model_fields(state_of(request).options, name),
        }
        for name, description in ASSISTANTS.items()
        if name in state_of(request).options.listed_assistants()
    ]
    return JSONResponse({"object": "list", "data": data})


@endpoint(API, render_error)
async def chat_completions(request: Request) -> Response:
    state = state_of(request)
    body = await read_json(request)
    model, messages, stream = _validate(body)
    try:
        apply_faults(state, API, model)
    except ApiError as error:
        if error.status != 404:
            raise
        raise ApiError(
            404,
            f"The model '{model}' does not exist or you do not have access to it.",
            code="model_not_found",
        ) from None
    quota = take_request(state, model)
    if quota.refused:
        return quota.refusal()
    answer = _answer(model, messages, state.options.long_chars, body)
    completion_id = state.new_id("chatcmpl")
    usage = _usage(messages, answer)
    devic = quota.devic_block(usage["total_tokens"])
    extra = {"devic": devic} if devic else {}
    if stream:
        return StreamingResponse(
            _stream(state, model, completion_id, answer, usage, extra),
            media_type="text/event-stream",
            headers=quota.headers,
        )
    if model == "junk":
        return Response("<html><body>Bad gateway</body></html>", media_type="text/html")
    body = json.dumps(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
            ],
            "usage": usage,
            **extra,
        }
    )
    if model in ("cut", "hang"):
        return StreamingResponse(_broken_body(state, model, body), media_type="application/json")
    return Response(body, media_type="application/json", headers=quota.headers)


async def _broken_body(state: EmulatorState, model: str, body: str) -> AsyncIterator[bytes]:
    """Half of the JSON answer, then a dropped connection (`cut`) or a long silence (`hang`)."""
    half = len(body) // 2
    yield body[:half].encode()
    if model == "cut":
        raise ConnectionAbortedError("the cut assistant drops the connection")
    await asyncio.sleep(state.options.hang_seconds)
    yield body[half:].encode()


def _chunk(completion_id: str, model: str, delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def _stream(
    state: EmulatorState,
    model: str,
    completion_id: str,
    answer: str,
    usage: dict[str, int],
    extra: dict[str, Any] | None = None,
) -> AsyncIterator[bytes]:
    if model == "junk":
        yield b"data: this is not json\n\n"
        return
    yield _sse(_chunk(completion_id, model, {"role": "assistant", "content": ""}, None))
    size = _HUGE_CHUNK if model == "huge" else state.options.chunk_size
    pieces = list(chunked(answer, size))
    delay = answer_delay(state, model)
    for index, piece in enumerate(pieces):
        if model == "cut" and index == len(pieces) // 2:
            raise ConnectionAbortedError("the cut assistant drops the connection")
        if model == "hang" and index == len(pieces) // 2:
            await asyncio.sleep(state.options.hang_seconds)
        yield _sse(_chunk(completion_id, model, {"content": piece}, None))
        if delay:
            await asyncio.sleep(delay)
    yield _sse(_chunk(completion_id, model, {}, "stop"))
    final = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": usage,
        **(extra or {}),
    }
    yield _sse(final)
    yield _sse("[DONE]")


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]
