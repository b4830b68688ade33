"""An assistant's details (Devs, Devic, OpenAI-compatible) and the Devs platform's AIs and knowledge
against the loopback emulator: data sources listed, added (files checked before any request, web
pages, JSON), indexing watched until it ends, refreshed and removed; AIs created and edited with the
exact bodies the contract gives; a read-only key refused with words a person understands."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devic_tui.config import ServerConfig, Settings
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.common import READONLY_TOKEN
from devic_tui.knowledge_models import AssistantDraft, DataSource
from devic_tui.providers.base import Provider, UnsupportedError
from devic_tui.providers.devs import DevsProvider
from devic_tui.providers.devs_knowledge import (
    MAX_KNOWLEDGE_BYTES,
    draft_from_details,
    index_percentage,
    parse_data_source,
)
from devic_tui.providers.errors import (
    BadRequestError,
    FileRejectedError,
    ForbiddenError,
    NotFoundError,
)
from devic_tui.service import ChatService

MakeProvider = Callable[..., Provider]


@pytest.fixture
def emulator_options() -> EmulatorOptions:
    return EmulatorOptions(chunk_delay=0.0, index_seconds=0.3)


def devs(make_provider: MakeProvider, **fields: Any) -> DevsProvider:
    provider = make_provider("devs", **fields)
    assert isinstance(provider, DevsProvider)
    return provider


def requests(emulator: EmulatorServer, method: str | None = None) -> list[Any]:
    found = emulator.state.requests_for("devs")
    return [r for r in found if method is None or r.method == method]


@pytest.fixture
def service(server_config: Callable[..., ServerConfig]) -> ChatService:
    servers = [server_config("devs", name="devs"), server_config("openai", name="models")]
    return ChatService(Settings(servers=servers))


# ------------------------------------------------------------------------------------------ details


async def test_devs_details_come_from_the_ai_endpoint(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    details = await devs(make_provider).assistant_details("echo")
    assert details.id == "echo"
    assert details.introduction
    assert details.introduction.startswith("Hello, I am echo.")
    assert details.visibility == "ORGANIZATION"
    assert details.model == "emulator-model"
    assert details.options["temperature"] == [0.7]
    assert details.extra["userName"] == "emulator"
    assert [(r.method, r.path) for r in requests(emulator)] == [("GET", "/api/v1/ai/echo")]


async def test_devs_details_of_an_unknown_ai_say_not_found(make_provider: MakeProvider) -> None:
    with pytest.raises(NotFoundError, match="not found"):
        await devs(make_provider).assistant_details("nobody")


async def test_devic_details_come_from_its_listing(make_provider: MakeProvider) -> None:
    details = await make_provider("devic").assistant_details("echo")
    assert (details.model, details.provider) == ("emulator-1", "emulator")
    assert details.description == "Echoes what you send, files included"
    assert "model" not in details.extra
    with pytest.raises(NotFoundError):
        await make_provider("devic").assistant_details("nobody")


async def test_openai_details_come_from_the_model_entry(make_provider: MakeProvider) -> None:
    details = await make_provider("openai").assistant_details("echo")
    assert details.model == "echo"
    assert details.provider  # owned_by
    assert details.context_window  # vLLM's max_model_len
    assert "max_model_len" not in details.extra or details.extra["max_model_len"] == details.context_window


def test_a_percentage_is_read_from_a_string_or_a_number() -> None:
    assert index_percentage("42.5") == 42.5
    assert index_percentage(7) == 7.0
    assert index_percentage("lots") is None
    assert index_percentage(True) is None


def test_a_data_source_is_read_from_its_link_too() -> None:
    source = parse_data_source(
        {"aiId": "a", "dataSourceId": "d1", "dataSource": {"name": "n", "indexStatus": "indexing", "x": 1}}
    )
    assert source is not None
    assert (source.id, source.name, source.index_status, source.indexing) == ("d1", "n", "INDEXING", True)
    assert source.extra["x"] == 1
    assert parse_data_source({"name": "no id"}) is None


# ---------------------------------------------------------------------------------------- knowledge


async def wait_done(provider: DevsProvider, ai_id: str, source_id: str) -> DataSource:
    for _ in range(100):
        [found] = [s for s in await provider.data_sources(ai_id) if s.id == source_id]
        if not found.indexing:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("still indexing")


async def test_a_file_is_indexed_over_time(make_provider: MakeProvider, emulator: EmulatorServer) -> None:
    provider = devs(make_provider)
    assert await provider.data_sources("echo") == []
    source_id = await provider.add_file_source("echo", "guide.md", b"# Guide\n", "text/markdown")
    upload = requests(emulator, "POST")[-1]
    assert upload.path == "/api/v1/ai/echo/data-sources/file"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    [source] = await provider.data_sources("echo")
    assert (source.id, source.name, source.type) == (source_id, "guide.md", "FILE_UPLOAD")
    assert source.indexing
    done = await wait_done(provider, "echo", source_id)
    assert (done.index_status, done.index_percentage) == ("COMPLETED", 100.0)
    assert done.last_indexed_at is not None


async def test_a_broken_file_ends_failed(make_provider: MakeProvider) -> None:
    provider = devs(make_provider)
    source_id = await provider.add_file_source("echo", "broken.txt", b"x", "text/plain")
    assert (await wait_done(provider, "echo", source_id)).index_status == "FAILED"


@pytest.mark.parametrize(
    ("name", "size", "said"),
    [
        ("big.pdf", MAX_KNOWLEDGE_BYTES + 1, r"at most 4\.5 MB"),
        ("photo.png", 10, "knowledge files can be text, Markdown, CSV, PDF, EPUB, DOCX or JSON"),
        ("empty.txt", 0, "empty"),
    ],
)
async def test_a_file_the_platform_would_not_index_is_refused_before_any_request(
    make_provider: MakeProvider, emulator: EmulatorServer, name: str, size: int, said: str
) -> None:
    provider = devs(make_provider)
    with pytest.raises(FileRejectedError, match=said):
        await provider.add_file_source("echo", name, b"x" * size, "application/octet-stream")
    assert requests(emulator) == []


async def test_the_emulator_refuses_what_it_would_not_index(emulator: EmulatorServer) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=emulator.base_url, headers={"Authorization": "Bearer t"}) as client:
        path = "/api/v1/ai/echo/data-sources/file"
        refused = await client.post(path, files={"file": ("a.png", b"x", "image/png")})
        assert refused.status_code == 400
        too_big = await client.post(path, files={"file": ("a.txt", b"x" * (MAX_KNOWLEDGE_BYTES + 1))})
        assert too_big.status_code == 413


async def test_web_pages_and_json_are_added(make_provider: MakeProvider, emulator: EmulatorServer) -> None:
    provider = devs(make_provider)
    ids = await provider.add_url_sources("echo", ["https://a.example/", "https://b.example/"], "WEEKLY")
    json_id = await provider.add_json_source("echo", "prices", {"tea": 3})
    posts = requests(emulator, "POST")
    assert posts[0].path == "/api/v1/ai/echo/data-sources/web-urls"
    assert posts[0].body == {
        "urls": ["https://a.example/", "https://b.example/"],
        "dataRefreshPeriod": "WEEKLY",
    }
    assert posts[1].path == "/api/v1/ai/echo/data-sources/api"
    assert posts[1].body == {"name": "prices", "data": {"tea": 3}}
    listed = {s.id: s for s in await provider.data_sources("echo")}
    assert set(listed) == {*ids, json_id}
    assert listed[ids[0]].type == "WEB_URL"
    assert listed[ids[0]].refresh_period == "WEEKLY"
    assert listed[json_id].type == "API"


async def test_refresh_goes_through_refreshing_to_completed(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    source_id = await provider.add_json_source("echo", "prices", {"tea": 3})
    first = await wait_done(provider, "echo", source_id)
    await provider.refresh_source(source_id)
    put = requests(emulator, "PUT")[-1]
    assert (put.path, put.query) == (f"/api/v1/data-sources/{source_id}/refresh", {"forceRefresh": "true"})
    [refreshing] = await provider.data_sources("echo")
    assert refreshing.index_status == "REFRESHING"
    again = await wait_done(provider, "echo", source_id)
    assert again.index_status == "COMPLETED"
    assert again.last_indexed_at
    assert first.last_indexed_at
    assert again.last_indexed_at >= first.last_indexed_at


async def test_remove_and_a_missing_source(make_provider: MakeProvider, emulator: EmulatorServer) -> None:
    provider = devs(make_provider)
    source_id = await provider.add_json_source("echo", "prices", {"tea": 3})
    await provider.remove_source(source_id)
    assert requests(emulator, "DELETE")[-1].path == f"/api/v1/data-sources/{source_id}"
    assert await provider.data_sources("echo") == []
    with pytest.raises(NotFoundError, match="not found"):
        await provider.remove_source(source_id)


async def test_other_apis_say_they_have_no_knowledge(make_provider: MakeProvider) -> None:
    for kind in ("devic", "openai", "agent"):
        provider = make_provider(kind)
        assert not provider.capabilities.knowledge
        with pytest.raises(UnsupportedError, match=r"cannot list an assistant's knowledge"):
            await provider.data_sources("echo")
        with pytest.raises(UnsupportedError, match="cannot create assistants"):
            await provider.create_assistant(AssistantDraft(name="n", description="d", instructions="i"))


# ---------------------------------------------------------------------------------------------- AIs


async def test_create_then_edit_sends_the_whole_object(
    make_provider: MakeProvider, emulator: EmulatorServer
) -> None:
    provider = devs(make_provider)
    draft = AssistantDraft(
        name="Helper",
        description="Helps",
        instructions="Be brief.",
        introduction="Hi!",
        visibility="PRIVATE",
        temperature=0.3,
        top_k=40,
        generate_citations=True,
    )
    created = await provider.create_assistant(draft)
    create = requests(emulator, "POST")[-1]
    assert create.path == "/api/v1/ai"
    assert create.body == {
        "name": "Helper",
        "description": "Helps",
        "instructions": "Be brief.",
        "src": "",
        "introduction": "Hi!",
        "visibility": "PRIVATE",
        "generateCitations": True,
        "options": {"temperature": [0.3], "topK": [40]},
    }
    assert (created.name, created.introduction, created.options) == ("Helper", "Hi!", create.body["options"])

    details = await provider.assistant_details(created.id)
    edited_draft = draft_from_details(details).model_copy(update={"max_tokens": 500, "name": "Helper 2"})
    edited = await provider.update_assistant(created.id, edited_draft)
    patch = requests(emulator, "PATCH")[-1]
    assert patch.path == f"/api/v1/ai/{created.id}"
    assert patch.body == {
        **create.body,
        "name": "Helper 2",
        "options": {"temperature": [0.3], "topK": [40], "maxTokens": [500]},
    }
    assert edited.name == "Helper 2"
    assert (await provider.assistant_details(created.id)).options["maxTokens"] == [500]


async def test_the_emulator_wants_the_required_fields(emulator: EmulatorServer) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=emulator.base_url, headers={"Authorization": "Bearer t"}) as client:
        refused = await client.post("/api/v1/ai", json={"name": "x", "options": {"temperature": 0.3}})
    assert refused.status_code == 400
    assert "description, instructions, src are required" in refused.json()["message"]


async def test_a_bad_option_is_the_servers_words(make_provider: MakeProvider) -> None:
    draft = AssistantDraft(name="", description="d", instructions="i", visibility="EVERYONE")
    with pytest.raises(BadRequestError, match="visibility must be"):
        await devs(make_provider).create_assistant(draft)


async def test_a_read_only_key_may_not_create_or_edit(make_provider: MakeProvider) -> None:
    provider = devs(make_provider, token=READONLY_TOKEN)
    draft = AssistantDraft(name="n", description="d", instructions="i")
    for attempt in (provider.create_assistant(draft), provider.update_assistant("echo", draft)):
        with pytest.raises(ForbiddenError) as refused:
            await attempt
        said = str(refused.value)
        assert "does not allow this key to create or edit AIs" in said
        assert "Forbidden: this key may not create or edit AIs" in said
    assert (await provider.assistant_details("echo")).id == "echo"  # reading is fine


# ----------------------------------------------------------------------------------------- service


async def test_the_service_checks_reads_uploads_and_waits(
    service: ChatService, emulator: EmulatorServer, tmp_path: Path
) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n", encoding="utf-8")
    checked = await service.check_knowledge_file("devs", path)
    assert (checked.name, checked.size, checked.mime_type) == ("notes.md", 8, "text/markdown")
    progress: list[tuple[int, int]] = []
    source_id = await service.add_knowledge_file("devs", "echo", path, lambda s, t: progress.append((s, t)))
    assert progress
    assert progress[-1][0] == progress[-1][1]
    seen: list[list[DataSource]] = []
    [done] = await service.wait_for_indexing("devs", "echo", [source_id], seen.append, interval=0.05)
    assert done.index_status == "COMPLETED"
    assert seen[0][0].indexing
    await service.aclose()


async def test_the_service_refuses_files_before_sending(
    service: ChatService, emulator: EmulatorServer, tmp_path: Path
) -> None:
    picture = tmp_path / "a.png"
    picture.write_bytes(b"\x89PNG")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (MAX_KNOWLEDGE_BYTES + 1))
    with pytest.raises(FileRejectedError, match="not a kind of file"):
        await service.add_knowledge_file("devs", "echo", picture)
    with pytest.raises(FileRejectedError, match=r"at most 4\.5 MB"):
        await service.add_knowledge_file("devs", "echo", big)
    with pytest.raises(FileRejectedError, match="no such file"):
        await service.check_knowledge_file("devs", tmp_path / "gone.txt")
    with pytest.raises(UnsupportedError, match="cannot take knowledge files"):
        await service.check_knowledge_file("models", big)
    assert requests(emulator) == []
    await service.aclose()


async def test_the_service_passes_the_rest_on(service: ChatService, emulator: EmulatorServer) -> None:
    details = await service.assistant_details("devs", "markdown")
    assert details.introduction
    [source_id] = await service.add_knowledge_urls("devs", "echo", ["https://a.example/"])
    json_id = await service.add_knowledge_json("devs", "echo", "prices", {"tea": 3})
    assert {s.id for s in await service.data_sources("devs", "echo")} == {source_id, json_id}
    await service.wait_for_indexing("devs", "echo", [source_id, json_id], interval=0.05)
    await service.refresh_knowledge("devs", source_id)
    await service.remove_knowledge("devs", json_id)
    assert [s.id for s in await service.data_sources("devs", "echo")] == [source_id]
    created = await service.create_assistant(
        "devs", AssistantDraft(name="n", description="d", instructions="i")
    )
    updated = await service.update_assistant(
        "devs", created.id, AssistantDraft(name="m", description="d", instructions="i")
    )
    assert updated.name == "m"
    assert (await service.assistant_details("models", "echo")).model == "echo"
    await service.aclose()
