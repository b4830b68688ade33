"""Emulated Devs AIs and their knowledge (contract §4, "AIs and their knowledge"): create, edit (the
whole object) and delete AIs, and an AI's data sources (uploaded files, web pages, posted JSON) that
index over time: INITIALIZED, then INDEXING with `indexPercentage` rising as a string ("42.5"), then
COMPLETED after `EmulatorOptions.index_seconds` (a refresh goes through REFRESHING again).

Special names: a file whose name holds `broken` ends FAILED; the token `readonly-token` may read
but not create or edit AIs (403); the scripted `hostile` AI starts with a data source whose name
holds escape codes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from devic_tui.emulator.common import (
    READONLY_TOKEN,
    ApiError,
    EmulatorState,
    apply_faults,
    endpoint,
    read_json,
    state_of,
)
from devic_tui.emulator.devs_dialect import authenticate, iso_now, render_error, token_of

API = "devs"
STATE = "devs-knowledge"
PREFIX = "/api/v1"
MAX_FILE_BYTES = int(4.5 * 1024 * 1024)
INDEXED_SUFFIXES = (".txt", ".md", ".markdown", ".csv", ".pdf", ".epub", ".docx", ".json")
REFRESH_PERIODS = ("NEVER", "DAILY", "WEEKLY", "MONTHLY")
REQUIRED_AI_FIELDS = ("name", "description", "instructions", "src")
OPTION_KEYS = (
    "temperature",
    "topP",
    "topK",
    "maxTokens",
    "maxInputTokens",
    "frequencyPenalty",
    "presencePenalty",
)
INITIALIZING_PART = 0.1
"""The first part of the indexing time a new source stays INITIALIZED."""
HOSTILE_SOURCE = "notes\x1b]0;pwned-title\x07\x1b[2J\x1b[31m.md"


@dataclass
class Source:
    id: str
    ai_id: str
    name: str
    type: str
    created_at: str
    started: float
    """When its (re)indexing began (time.monotonic)."""
    refresh_period: str = "NEVER"
    refreshing: bool = False
    last_indexed_at: str | None = None
    updated_at: str = ""


@dataclass
class KnowledgeState:
    sources: dict[str, Source] = field(default_factory=dict)
    ais: dict[str, dict[str, Any]] = field(default_factory=dict)
    """AIs created or edited here, by id."""
    deleted: set[str] = field(default_factory=set)
    seeded: set[str] = field(default_factory=set)


def knowledge(state: EmulatorState) -> KnowledgeState:
    found: KnowledgeState = state.api_state(STATE, KnowledgeState)
    return found


def stored_ai(state: EmulatorState, ai_id: str) -> dict[str, Any] | None:
    """An AI created or edited here (None for the scripted ones as they are); 404 once deleted."""
    kept = knowledge(state)
    if ai_id in kept.deleted:
        raise ApiError(404, f"AI '{ai_id}' not found")
    return kept.ais.get(ai_id)


def _ai_of(request: Request) -> tuple[EmulatorState, str]:
    """The state and the AI the path names; an AI not made here answers as its script's faults say."""
    state = state_of(request)
    ai_id: str = request.path_params["ai_id"]
    if stored_ai(state, ai_id) is None:
        apply_faults(state, API, ai_id, on_send=False)
    return state, ai_id


def _status(state: EmulatorState, source: Source) -> tuple[str, float]:
    """Where its indexing stands now: (status, percentage)."""
    took = max(state.options.index_seconds, 1e-6)
    part = (time.monotonic() - source.started) / took
    if part >= 1:
        if source.last_indexed_at is None or source.refreshing:
            source.refreshing = False
            source.last_indexed_at = source.updated_at = iso_now()
        return ("FAILED", 0.0) if "broken" in source.name else ("COMPLETED", 100.0)
    if source.refreshing:
        return "REFRESHING", round(part * 100, 1)
    if part < INITIALIZING_PART:
        return "INITIALIZED", 0.0
    return "INDEXING", round(part * 100, 1)


def _source_json(state: EmulatorState, source: Source) -> dict[str, Any]:
    status, percentage = _status(state, source)
    return {
        "id": source.id,
        "createdAt": source.created_at,
        "updatedAt": source.updated_at or source.created_at,
        "lastIndexedAt": source.last_indexed_at,
        "name": source.name,
        "type": source.type,
        "refreshPeriod": source.refresh_period,
        "indexStatus": status,
        "indexPercentage": f"{percentage:.1f}",
    }


def _add(state: EmulatorState, ai_id: str, name: str, kind: str, refresh_period: str = "NEVER") -> Source:
    stamp = iso_now()
    source = Source(
        id=state.new_id("ds"),
        ai_id=ai_id,
        name=name,
        type=kind,
        created_at=stamp,
        updated_at=stamp,
        started=time.monotonic(),
        refresh_period=refresh_period,
    )
    knowledge(state).sources[source.id] = source
    return source


def _seed(state: EmulatorState, ai_id: str) -> None:
    """The `hostile` AI's knowledge, indexed long ago, with escape codes in its name."""
    kept = knowledge(state)
    if ai_id == "hostile" and ai_id not in kept.seeded:
        kept.seeded.add(ai_id)
        _add(state, ai_id, HOSTILE_SOURCE, "FILE_UPLOAD").started -= 10 * state.options.index_seconds


def _linked(source: Source) -> dict[str, str]:
    return {"aiId": source.ai_id, "dataSourceId": source.id}


# ---------------------------------------------------------------------------------------------- AIs


def _check_writer(request: Request) -> None:
    if token_of(request) == READONLY_TOKEN:
        raise ApiError(403, "Forbidden: this key may not create or edit AIs")


def _checked_ai_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be an AI object")
    missing = [k for k in REQUIRED_AI_FIELDS if not isinstance(body.get(k), str)]
    if missing:
        raise ApiError(400, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required")
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise ApiError(400, "options must be an object")
    for key, value in options.items():
        if key not in OPTION_KEYS:
            raise ApiError(400, f"options.{key} is not an option")
        if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], int | float)):
            raise ApiError(400, f"options.{key} must be a one-element array of a number, such as [0.5]")
    if body.get("visibility") not in (None, "PRIVATE", "GROUP", "ORGANIZATION", "ANYONE_WITH_LINK"):
        raise ApiError(400, "visibility must be PRIVATE, GROUP, ORGANIZATION or ANYONE_WITH_LINK")
    return body


def _ai_record(ai_id: str, body: dict[str, Any], created_at: str) -> dict[str, Any]:
    return {
        "id": ai_id,
        "createdAt": created_at,
        "updatedAt": iso_now(),
        "userName": "emulator",
        "categoryId": None,
        "messageCount": 0,
        "rating": 0,
        "ratingCount": 0,
        "visibility": "PRIVATE",
        "options": {},
        **body,
    }


@endpoint(API, render_error, authenticate)
async def create_ai(request: Request) -> Response:
    state = state_of(request)
    _check_writer(request)
    body = _checked_ai_body(await read_json(request))
    ai_id = state.new_id("ai")
    record = _ai_record(ai_id, body, iso_now())
    knowledge(state).ais[ai_id] = record
    return JSONResponse(record, status_code=201)


@endpoint(API, render_error, authenticate)
async def edit_ai(request: Request) -> Response:
    state, ai_id = _ai_of(request)
    _check_writer(request)
    kept = knowledge(state)
    if request.method == "DELETE":
        kept.ais.pop(ai_id, None)
        kept.deleted.add(ai_id)
        return Response(status_code=204)
    body = _checked_ai_body(await read_json(request))
    created_at = kept.ais.get(ai_id, {}).get("createdAt", "2025-01-01T00:00:00.000Z")
    kept.ais[ai_id] = record = _ai_record(ai_id, body, created_at)
    return JSONResponse(record)


# ------------------------------------------------------------------------------------- data sources


@endpoint(API, render_error, authenticate)
async def data_sources(request: Request) -> Response:
    state, ai_id = _ai_of(request)
    _seed(state, ai_id)
    found = [_source_json(state, s) for s in knowledge(state).sources.values() if s.ai_id == ai_id]
    return JSONResponse({"data": found})


@endpoint(API, render_error, authenticate)
async def add_file(request: Request) -> Response:
    state, ai_id = _ai_of(request)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "multipart field 'file' is required")
    content = await upload.read()
    name = upload.filename or "upload"
    if len(content) > MAX_FILE_BYTES:
        raise ApiError(413, f"file is {len(content):,} bytes; the limit is {MAX_FILE_BYTES:,} (4.5 MB)")
    if not name.lower().endswith(INDEXED_SUFFIXES):
        raise ApiError(
            400, f"'{name}' cannot be indexed: upload text, Markdown, CSV, PDF, EPUB, DOCX or JSON"
        )
    source = _add(state, ai_id, name, "FILE_UPLOAD")
    return JSONResponse(_linked(source), status_code=201)


@endpoint(API, render_error, authenticate)
async def add_urls(request: Request) -> Response:
    state, ai_id = _ai_of(request)
    body = await read_json(request)
    urls = body.get("urls") if isinstance(body, dict) else None
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise ApiError(400, "urls must be a non-empty array of URLs")
    if any(not u.startswith(("http://", "https://")) for u in urls):
        raise ApiError(400, "each URL must start with http:// or https://")
    period = body.get("dataRefreshPeriod", "NEVER")
    if period not in REFRESH_PERIODS:
        raise ApiError(400, f"dataRefreshPeriod must be one of {', '.join(REFRESH_PERIODS)}")
    added = [_add(state, ai_id, url, "WEB_URL", period) for url in urls]
    return JSONResponse([_linked(s) for s in added], status_code=201)


@endpoint(API, render_error, authenticate)
async def add_json(request: Request) -> Response:
    state, ai_id = _ai_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        raise ApiError(400, "name is required")
    if not isinstance(body.get("data"), dict):
        raise ApiError(400, "data must be an object")
    source = _add(state, ai_id, body["name"], "API")
    return JSONResponse(_linked(source), status_code=201)


def _source_of(request: Request) -> tuple[EmulatorState, Source]:
    state = state_of(request)
    source_id = request.path_params["source_id"]
    source = knowledge(state).sources.get(source_id)
    if source is None:
        raise ApiError(404, f"data source '{source_id}' not found")
    return state, source


@endpoint(API, render_error, authenticate)
async def refresh_source(request: Request) -> Response:
    state, source = _source_of(request)
    if _status(state, source)[0] in ("INITIALIZED", "INDEXING", "REFRESHING"):
        raise ApiError(409, f"data source '{source.id}' is still being indexed")
    source.refreshing = True
    source.started = time.monotonic()
    source.updated_at = iso_now()
    return Response(status_code=202)


@endpoint(API, render_error, authenticate)
async def remove_source(request: Request) -> Response:
    state, source = _source_of(request)
    del knowledge(state).sources[source.id]
    return Response(status_code=204)


def routes(root: str = "") -> list[BaseRoute]:
    """The routes under `root` (the 2024 server's `/devs-2024`, or none)."""
    api = root + PREFIX
    ai = api + "/ai/{ai_id}"
    return [
        Route(api + "/ai", create_ai, methods=["POST"]),
        Route(ai, edit_ai, methods=["PATCH", "DELETE"]),
        Route(ai + "/data-sources", data_sources, methods=["GET"]),
        Route(ai + "/data-sources/file", add_file, methods=["POST"]),
        Route(ai + "/data-sources/web-urls", add_urls, methods=["POST"]),
        Route(ai + "/data-sources/api", add_json, methods=["POST"]),
        Route(api + "/data-sources/{source_id}/refresh", refresh_source, methods=["PUT"]),
        Route(api + "/data-sources/{source_id}", remove_source, methods=["DELETE"]),
    ]
