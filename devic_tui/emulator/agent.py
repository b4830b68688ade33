"""Emulated agent chat API (contract §2): `POST /chat/{slug}` and `/v1/api/chat/{slug}`, JSON or SSE,
`conversationId` continuation, the `{data, error}` envelope and X-RateLimit headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from devic_tui.emulator.common import (
    ApiError,
    EmulatorState,
    answer_delay,
    apply_faults,
    endpoint,
    read_json,
    state_of,
)
from devic_tui.emulator.scripts import answer_for, chunked

API = "agent"
_ERROR_NAMES = {
    400: "ValidationError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
}


@dataclass
class AgentState:
    conversations: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    requests_in_window: int = 0


def render_error(error: ApiError) -> Response:
    if error.status in (429, 500):
        return Response(status_code=error.status)  # the platform sends these without a body
    name = _ERROR_NAMES.get(error.status, "Error")
    body = {"data": None, "error": {"name": name, "message": error.message, "details": {}}}
    return JSONResponse(body, status_code=error.status)


def _agent_state(state: EmulatorState) -> AgentState:
    found: AgentState = state.api_state(API, AgentState)
    return found


def _rate_headers(state: EmulatorState) -> dict[str, str]:
    agent = _agent_state(state)
    agent.requests_in_window += 1
    limit = state.options.agent_rate_limit
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - agent.requests_in_window)),
        "X-RateLimit-Reset": "4102444800",
    }


def _sse(payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


@endpoint(API, render_error)
async def chat(request: Request) -> Response:
    state = state_of(request)
    slug = request.path_params["slug"]
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        raise ApiError(400, "Message field is required")
    apply_faults(state, API, slug)
    agent = _agent_state(state)
    conversation_id = body.get("conversationId")
    if conversation_id:
        if conversation_id not in agent.conversations:
            raise ApiError(404, f"Conversation '{conversation_id}' not found")
    else:
        conversation_id = state.new_id("conv")
        agent.conversations[conversation_id] = []
    history = agent.conversations[conversation_id]
    message: str = body["message"]
    history.append(("user", message))
    turn = sum(1 for role, _ in history if role == "user")
    answer = answer_for(slug, message, turn=turn)
    history.append(("assistant", answer))
    headers = _rate_headers(state)

    if not body.get("stream"):
        if slug == "junk":
            return Response(
                "<html><body>Service temporarily unavailable</body></html>",
                headers=headers,
                media_type="text/html",
            )
        if slug == "cut":
            return StreamingResponse(_cut_json(answer), headers=headers, media_type="application/json")
        data = {
            "response": answer,
            "conversationId": conversation_id,
            "metadata": {"model": "emulator-1", "tokens": len(answer.split())},
        }
        return JSONResponse({"data": data, "error": None}, headers=headers)
    return StreamingResponse(
        _stream(state, slug, answer, conversation_id),
        headers=headers,
        media_type="text/event-stream",
    )


async def _cut_json(answer: str) -> AsyncIterator[bytes]:
    text = json.dumps({"data": {"response": answer}, "error": None})
    yield text[: len(text) // 2].encode()
    raise ConnectionAbortedError("the cut assistant drops the connection")


async def _stream(state: EmulatorState, slug: str, answer: str, conversation_id: str) -> AsyncIterator[bytes]:
    if slug == "junk":
        yield b"data: this is not json\n\n"
        return
    size = 65536 if slug == "huge" else state.options.chunk_size
    pieces = list(chunked(answer, size))
    delay = answer_delay(state, slug)
    for index, piece in enumerate(pieces):
        if slug == "cut" and index == len(pieces) // 2:
            raise ConnectionAbortedError("the cut assistant drops the connection")
        if slug == "hang" and index == len(pieces) // 2:
            await asyncio.sleep(state.options.hang_seconds)
        yield _sse({"chunk": piece})
        if delay:
            await asyncio.sleep(delay)
    yield _sse({"conversationId": conversation_id})
    yield _sse("[DONE]")


def routes() -> list[BaseRoute]:
    return [
        Route("/chat/{slug}", chat, methods=["POST"]),
        Route("/v1/api/chat/{slug}", chat, methods=["POST"]),
    ]
