"""The Devs platform's AIs and their knowledge (contract §4, "AIs and their knowledge"): an AI's details,
creating and editing AIs, and its data sources (files, web pages, JSON) with their indexing. The paths
are in one table, the files the platform indexes in another; `DevsProvider` offers these through
small methods that call `DevsKnowledgeApi`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devic_tui.knowledge_models import AssistantDetails, AssistantDraft, DataSource, RefreshPeriod
from devic_tui.providers.errors import FileRejectedError, ForbiddenError, MalformedResponseError
from devic_tui.providers.parsing import as_list, first_str, parse_time, unwrap

if TYPE_CHECKING:
    from devic_tui.providers.http import HttpClient, ProgressCallback

KNOWLEDGE_PATHS = {
    "ai": "/api/v1/ai/{ai_id}",
    "create_ai": "/api/v1/ai",
    "data_sources": "/api/v1/ai/{ai_id}/data-sources",
    "add_file": "/api/v1/ai/{ai_id}/data-sources/file",
    "add_urls": "/api/v1/ai/{ai_id}/data-sources/web-urls",
    "add_json": "/api/v1/ai/{ai_id}/data-sources/api",
    "refresh": "/api/v1/data-sources/{source_id}/refresh",
    "remove": "/api/v1/data-sources/{source_id}",
}
REFRESH_QUERY = {"forceRefresh": "true"}

MAX_KNOWLEDGE_BYTES = int(4.5 * 1024 * 1024)
"""The largest file the platform indexes (its 2024 OpenAPI file: 4.5 MB)."""

INDEXED_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".pdf": "application/pdf",
    ".epub": "application/epub+zip",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".json": "application/json",
}
"""The files the platform indexes, by extension and MIME type: text, Markdown, CSV, PDF, EPUB, DOCX, JSON."""
INDEXED_KINDS = "text, Markdown, CSV, PDF, EPUB, DOCX or JSON"

_OPTION_KEYS = {"temperature": "temperature", "top_p": "topP", "top_k": "topK", "max_tokens": "maxTokens"}
"""Draft field -> the key of `options`, whose values the platform takes as one-element arrays."""
_FLAG_KEYS = {
    "generate_citations": "generateCitations",
    "chat_logs_visible": "chatLogsVisible",
    "intermediate_steps_visible": "intermediateStepsVisible",
}
_DETAIL_KEYS = frozenset(
    {"id", "name", "description", "modelId", "model", "visibility", "introduction", "instructions"}
    | {"options", "createdAt", "updatedAt"}
)
_SOURCE_KEYS = frozenset(
    {"id", "dataSourceId", "name", "type", "indexStatus", "status", "indexPercentage"}
    | {"refreshPeriod", "dataRefreshPeriod", "lastIndexedAt", "createdAt", "updatedAt"}
)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_knowledge_file(server: str, name: str, size: int, mime_type: str) -> str:
    """Refuse (FileRejectedError) a file the platform would not index: too large, empty, or of a
    type it does not read. Returns the MIME type to upload it as (the extension's, where the
    given one is vague)."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    mime = mime_type.split(";")[0].strip().lower()
    if suffix not in INDEXED_TYPES and mime not in INDEXED_TYPES.values():
        shown = f" ({mime})" if mime and mime != "application/octet-stream" else ""
        raise FileRejectedError(
            f"{name}{shown} is not a kind of file server '{server}' indexes; "
            f"knowledge files can be {INDEXED_KINDS}",
            server=server,
        )
    if size > MAX_KNOWLEDGE_BYTES:
        raise FileRejectedError(
            f"{name} is {_megabytes(size)}; server '{server}' indexes files of at most "
            f"{_megabytes(MAX_KNOWLEDGE_BYTES)}",
            server=server,
        )
    if size == 0:
        raise FileRejectedError(f"{name} is empty", server=server)
    if mime in INDEXED_TYPES.values():
        return mime
    return INDEXED_TYPES[suffix]


def index_percentage(value: Any) -> float | None:
    """The percentage indexed, sent as a number or as a number in a string ("42.5")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%"))
        except ValueError:
            return None
    return None


def parse_details(raw: Any) -> AssistantDetails | None:
    """An AI object as details; None without an id."""
    raw = unwrap(raw)
    ai_id = first_str(raw, ("id", "aiId"))
    if not ai_id:
        return None
    options = raw.get("options") if isinstance(raw.get("options"), dict) else {}
    return AssistantDetails(
        id=ai_id,
        name=first_str(raw, ("name",)) or ai_id,
        description=first_str(raw, ("description",)) or "",
        model=first_str(raw, ("modelId", "model")),
        visibility=first_str(raw, ("visibility",)),
        introduction=first_str(raw, ("introduction",)),
        instructions=first_str(raw, ("instructions",)),
        options=options,
        created_at=parse_time(raw.get("createdAt")),
        updated_at=parse_time(raw.get("updatedAt")),
        extra={k: v for k, v in raw.items() if k not in _DETAIL_KEYS},
    )


def parse_data_source(raw: Any) -> DataSource | None:
    """A DataSource from its object, or from an AI's link to it (`{aiId, dataSourceId, dataSource}`)."""
    if not isinstance(raw, dict):
        return None
    if isinstance(raw.get("dataSource"), dict):
        raw = {**{k: v for k, v in raw.items() if k != "dataSource"}, **raw["dataSource"]}
    source_id = first_str(raw, ("id", "dataSourceId"))
    if not source_id:
        return None
    return DataSource(
        id=source_id,
        name=first_str(raw, ("name",)) or source_id,
        type=first_str(raw, ("type",)) or "",
        index_status=(first_str(raw, ("indexStatus", "status")) or "").upper(),
        index_percentage=index_percentage(raw.get("indexPercentage")),
        refresh_period=first_str(raw, ("refreshPeriod", "dataRefreshPeriod")),
        last_indexed_at=parse_time(raw.get("lastIndexedAt")),
        created_at=parse_time(raw.get("createdAt")),
        updated_at=parse_time(raw.get("updatedAt")),
        extra={k: v for k, v in raw.items() if k not in _SOURCE_KEYS},
    )


def source_ids(body: Any) -> list[str]:
    """The ids of the data sources an add answered with (`{aiId, dataSourceId}` or a list of them)."""
    body = unwrap(body)
    items = body if isinstance(body, list) else [body]
    found = [first_str(item, ("dataSourceId", "id")) for item in items]
    return [i for i in found if i]


def draft_body(draft: AssistantDraft) -> dict[str, Any]:
    """The AI object a create or an edit sends: unset fields left out, option values as one-element
    arrays (`{"temperature": [0.3]}`)."""
    body: dict[str, Any] = {
        "name": draft.name,
        "description": draft.description,
        "instructions": draft.instructions,
        "src": draft.src,
    }
    for field, key in (
        ("introduction", "introduction"),
        ("model_id", "modelId"),
        ("visibility", "visibility"),
    ):
        value = getattr(draft, field)
        if value is not None:
            body[key] = value
    for field, key in _FLAG_KEYS.items():
        value = getattr(draft, field)
        if value is not None:
            body[key] = value
    options = {key: [getattr(draft, f)] for f, key in _OPTION_KEYS.items() if getattr(draft, f) is not None}
    if options:
        body["options"] = options
    return body


def draft_from_details(details: AssistantDetails) -> AssistantDraft:
    """A draft holding an AI's current values, to change and send back whole as an edit."""
    options = details.options

    def option(key: str) -> Any:
        value = options.get(key)
        value = value[0] if isinstance(value, list) and value else value
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    def flag(key: str) -> bool | None:
        value = details.extra.get(key)
        return value if isinstance(value, bool) else None

    src = details.extra.get("src")
    top_k, max_tokens = option("topK"), option("maxTokens")
    return AssistantDraft(
        name=details.name,
        description=details.description,
        instructions=details.instructions or "",
        src=src if isinstance(src, str) else "",
        introduction=details.introduction,
        model_id=details.model,
        visibility=details.visibility,
        temperature=option("temperature"),
        top_p=option("topP"),
        top_k=int(top_k) if top_k else None,
        max_tokens=int(max_tokens) if max_tokens else None,
        generate_citations=flag("generateCitations"),
        chat_logs_visible=flag("chatLogsVisible"),
        intermediate_steps_visible=flag("intermediateStepsVisible"),
    )


class DevsKnowledgeApi:
    """The calls themselves, over the provider's HTTP client."""

    def __init__(self, server: str, http: HttpClient) -> None:
        self.server = server
        self.http = http

    def _malformed(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(f"server '{self.server}' answered {what}", server=self.server)

    async def details(self, ai_id: str) -> AssistantDetails:
        body = await self.http.request_json("GET", KNOWLEDGE_PATHS["ai"].format(ai_id=ai_id))
        found = parse_details(body)
        if found is None:
            raise self._malformed("the AI's details without an id")
        return found

    async def data_sources(self, ai_id: str) -> list[DataSource]:
        body = await self.http.request_json("GET", KNOWLEDGE_PATHS["data_sources"].format(ai_id=ai_id))
        found = (parse_data_source(raw) for raw in as_list(body, "dataSources"))
        return [s for s in found if s is not None]

    async def add_file(
        self, ai_id: str, name: str, content: bytes, mime_type: str, on_progress: ProgressCallback | None
    ) -> str:
        mime_type = check_knowledge_file(self.server, name, len(content), mime_type)
        body = await self.http.upload(
            KNOWLEDGE_PATHS["add_file"].format(ai_id=ai_id),
            files={"file": (name, content, mime_type)},
            on_progress=on_progress,
        )
        return self._one_id(body)

    async def add_urls(self, ai_id: str, urls: list[str], refresh_period: RefreshPeriod) -> list[str]:
        body = await self.http.request_json(
            "POST",
            KNOWLEDGE_PATHS["add_urls"].format(ai_id=ai_id),
            json={"urls": urls, "dataRefreshPeriod": refresh_period},
        )
        found = source_ids(body)
        if not found:
            raise self._malformed("the new web pages without a data source id")
        return found

    async def add_json(self, ai_id: str, name: str, data: dict[str, Any]) -> str:
        body = await self.http.request_json(
            "POST", KNOWLEDGE_PATHS["add_json"].format(ai_id=ai_id), json={"name": name, "data": data}
        )
        return self._one_id(body)

    def _one_id(self, body: Any) -> str:
        found = source_ids(body)
        if not found:
            raise self._malformed("the new knowledge without a data source id")
        return found[0]

    async def refresh(self, source_id: str) -> None:
        path = KNOWLEDGE_PATHS["refresh"].format(source_id=source_id)
        await self.http.request("PUT", path, params=REFRESH_QUERY)

    async def remove(self, source_id: str) -> None:
        await self.http.request("DELETE", KNOWLEDGE_PATHS["remove"].format(source_id=source_id))

    async def create(self, draft: AssistantDraft) -> AssistantDetails:
        return await self._write("POST", KNOWLEDGE_PATHS["create_ai"], draft)

    async def update(self, ai_id: str, draft: AssistantDraft) -> AssistantDetails:
        return await self._write("PATCH", KNOWLEDGE_PATHS["ai"].format(ai_id=ai_id), draft)

    async def _write(self, method: str, path: str, draft: AssistantDraft) -> AssistantDetails:
        try:
            body = await self.http.request_json(method, path, json=draft_body(draft))
        except ForbiddenError as error:
            said = str(error).partition("(403): ")[2] or str(error)
            raise ForbiddenError(
                f"server '{self.server}' does not allow this key to create or edit AIs (403): {said}",
                server=self.server,
                status=403,
            ) from None
        found = parse_details(body)
        if found is None:
            raise self._malformed("the AI without an id")
        return found
