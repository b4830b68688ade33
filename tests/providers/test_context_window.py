"""A model's context window, found over loopback HTTP against the emulator answering like vLLM (the
`/v1/models` entry says it), Ollama (`POST /api/show`), LM Studio (`GET /api/v0/models/{id}`) and
OpenAI (nowhere); the service's one door (the server's figure over the config's, else unknown, asked
once a session); and refusals and failures, which only ever make the window unknown. Then the
readers of each server's shapes, on the shapes the servers document."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from devic_tui.config import ServerConfig, Settings
from devic_tui.context_meter import ContextWindow
from devic_tui.emulator import EmulatorServer
from devic_tui.emulator.model_servers import DEFAULT_WINDOW, TRAINED_LENGTH, WINDOWS
from devic_tui.providers.base import Provider
from devic_tui.providers.model_windows import (
    looks_like_lmstudio,
    looks_like_ollama,
    root_url,
    window_of_entry,
    window_of_ollama_show,
)
from devic_tui.providers.registry import create_provider
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore

LONG_WINDOW = WINDOWS["long"]
OpenAIServer = Literal["vllm", "openai", "ollama", "lmstudio"]


def serve_like(emulator: EmulatorServer, server: OpenAIServer, **options: Any) -> None:
    """Forget the emulator's state and answer like `server` (vllm, openai, ollama, lmstudio)."""
    emulator.reset(dataclasses.replace(emulator.state.options, openai_server=server, **options))


def paths(emulator: EmulatorServer, api: str) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emulator.state.requests_for(api)]


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def make_service(tmp_path: Path) -> AsyncIterator[Callable[..., ChatService]]:
    made: list[ChatService] = []

    def make(*servers: ServerConfig) -> ChatService:
        service = ChatService(
            Settings(servers=list(servers)),
            store=TranscriptStore(tmp_path / "transcripts"),
            provider_factory=lambda server: create_provider(server, sleep=_no_sleep),
        )
        made.append(service)
        return service

    yield make
    for service in made:
        await service.aclose()


# --- from the server ----------------------------------------------------------------------------


async def test_vllm_entry_gives_the_window_and_models_is_fetched_once(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    provider = make_provider("openai")
    assert await provider.context_window("echo") == DEFAULT_WINDOW
    assert await provider.context_window("long") == LONG_WINDOW
    assert paths(emulator, "openai") == [("GET", "/v1/models")]


async def test_the_listing_already_made_is_used(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    provider = make_provider("openai")
    await provider.list_assistants()
    assert await provider.context_window("long") == LONG_WINDOW
    assert paths(emulator, "openai") == [("GET", "/v1/models")]
    assert paths(emulator, "ollama") == paths(emulator, "lmstudio") == []


async def test_ollama_show_gives_the_window(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    serve_like(emulator, "ollama")
    provider = make_provider("openai")
    # `echo`: no num_ctx, so the model's own length; `long`: num_ctx (what Ollama runs) over it.
    assert await provider.context_window("echo") == DEFAULT_WINDOW
    assert await provider.context_window("long") == LONG_WINDOW < TRAINED_LENGTH
    shows = emulator.state.requests_for("ollama")
    assert [(r.method, r.path, r.body) for r in shows] == [
        ("POST", "/api/show", {"model": "echo"}),
        ("POST", "/api/show", {"model": "long"}),
    ]
    assert paths(emulator, "lmstudio") == []


async def test_lmstudio_model_gives_the_loaded_window_else_the_maximum(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    serve_like(emulator, "lmstudio")
    provider = make_provider("openai")
    assert await provider.context_window("echo") == DEFAULT_WINDOW  # loaded below its maximum
    assert await provider.context_window("long") == LONG_WINDOW  # not loaded: its maximum
    assert paths(emulator, "lmstudio") == [("GET", "/api/v0/models/echo"), ("GET", "/api/v0/models/long")]
    assert paths(emulator, "ollama") == []


async def test_openai_says_nothing_and_nothing_else_is_asked(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    serve_like(emulator, "openai")
    provider = make_provider("openai")
    assert await provider.context_window("echo") is None
    assert paths(emulator, "openai") == [("GET", "/v1/models")]
    assert paths(emulator, "ollama") == paths(emulator, "lmstudio") == []


async def test_other_apis_do_not_say(make_provider: Callable[..., Provider]) -> None:
    assert await make_provider("devs").context_window("echo") is None


# --- refusals and failures: unknown, never an error ---------------------------------------------


@pytest.mark.parametrize("server", ["ollama", "lmstudio"])
@pytest.mark.parametrize("model", ["echo", "unauthorized", "junk"])
async def test_a_refused_native_route_gives_none(
    make_provider: Callable[..., Provider], emulator: EmulatorServer, server: OpenAIServer, model: str
) -> None:
    # `echo`: the route answers 404, as on a server without it; `unauthorized`: 401; `junk`: HTML.
    serve_like(emulator, server, unlisting_apis=(server,) if model == "echo" else ())
    assert await make_provider("openai").context_window(model) is None
    assert len(emulator.state.requests_for(server)) == 1


async def test_an_unlisted_model_is_not_asked_after(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    serve_like(emulator, "ollama")
    assert await make_provider("openai").context_window("not-on-the-server") is None
    assert paths(emulator, "ollama") == []  # nothing says the server is Ollama's for it


async def test_a_refused_model_list_gives_none(
    make_provider: Callable[..., Provider], emulator: EmulatorServer
) -> None:
    serve_like(emulator, "vllm", unlisting_apis=("openai",))
    provider = make_provider("openai")
    assert await provider.context_window("echo") is None
    assert await provider.context_window("long") is None
    assert paths(emulator, "openai") == [("GET", "/v1/models")]  # a refused listing is not asked again


async def test_a_refused_token_gives_none(make_provider: Callable[..., Provider]) -> None:
    assert await make_provider("openai", token="bad-token").context_window("echo") is None


async def test_an_unreachable_server_gives_none(make_provider: Callable[..., Provider]) -> None:
    provider = make_provider("openai", base_url="http://127.0.0.1:9/v1", connect_timeout=1.0)
    assert await provider.context_window("echo") is None


# --- the service's door --------------------------------------------------------------------------


async def test_the_servers_figure_wins_over_the_config(
    make_service: Callable[..., ChatService], server_config: Callable[..., ServerConfig]
) -> None:
    service = make_service(server_config("openai"))
    window = await service.context_window("emu-openai", "long", 100_000)
    assert window == ContextWindow(tokens=LONG_WINDOW, source="server")


async def test_the_config_when_the_server_says_nothing(
    make_service: Callable[..., ChatService],
    server_config: Callable[..., ServerConfig],
    emulator: EmulatorServer,
) -> None:
    serve_like(emulator, "openai")
    service = make_service(server_config("openai"))
    window = await service.context_window("emu-openai", "echo", 8000)
    assert window == ContextWindow(tokens=8000, source="config")


async def test_unknown_when_neither_says(
    make_service: Callable[..., ChatService],
    server_config: Callable[..., ServerConfig],
    emulator: EmulatorServer,
) -> None:
    serve_like(emulator, "openai")
    service = make_service(server_config("openai"))
    window = await service.context_window("emu-openai", "echo", None)
    assert window == ContextWindow(tokens=None, source="unknown")
    assert not window.known


async def test_the_server_is_asked_once_a_session(
    make_service: Callable[..., ChatService],
    server_config: Callable[..., ServerConfig],
    emulator: EmulatorServer,
) -> None:
    serve_like(emulator, "ollama")
    service = make_service(server_config("openai"))
    for _ in range(3):
        assert (await service.context_window("emu-openai", "echo", None)).tokens == DEFAULT_WINDOW
    assert paths(emulator, "ollama") == [("POST", "/api/show")]
    # Its answer is kept (the server now refuses the route), the config's figure applied afresh.
    serve_like(emulator, "ollama", unlisting_apis=("ollama",))
    assert (await service.context_window("emu-openai", "echo", 500)).source == "server"
    assert paths(emulator, "ollama") == []
    window = await service.context_window("emu-openai", "long", 500)
    assert window == ContextWindow(tokens=500, source="config")
    assert await service.context_window("emu-openai", "long", None) == ContextWindow(source="unknown")
    assert paths(emulator, "ollama") == [("POST", "/api/show")]


async def test_the_door_never_raises(
    make_service: Callable[..., ChatService], server_config: Callable[..., ServerConfig]
) -> None:
    unreachable = server_config("openai", name="down", base_url="http://127.0.0.1:9/v1", connect_timeout=1.0)
    insecure = server_config("openai", name="plain", base_url="http://example.com/v1")
    service = make_service(unreachable, insecure)
    assert await service.context_window("down", "echo", 4000) == ContextWindow(tokens=4000, source="config")
    assert (await service.context_window("plain", "echo", None)).source == "unknown"  # URL refused
    assert (await service.context_window("nobody", "echo", None)).source == "unknown"  # no such server


# --- the readers, on the shapes the servers document ------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"id": "m", "owned_by": "vllm", "max_model_len": 8192}, 8192),  # vLLM
        ({"id": "m", "context_length": 200_000, "top_provider": {"context_length": 128_000}}, 200_000),
        ({"id": "m", "context_length": None, "top_provider": {"context_length": 128_000}}, 128_000),
        ({"id": "m", "context_window": 131_072}, 131_072),  # Groq
        ({"id": "m", "max_context_length": 32768, "loaded_context_length": 4096}, 4096),  # LM Studio
        ({"id": "m", "max_context_length": 32768, "state": "not-loaded"}, 32768),
        ({"id": "m", "max_model_len": "16384"}, 16384),
        ({"id": "m", "max_model_len": 2048.0}, 2048),
        ({"id": "m", "max_model_len": True}, None),
        ({"id": "m", "max_model_len": 0}, None),
        ({"id": "m", "max_model_len": "big"}, None),
        ({"id": "m", "owned_by": "openai"}, None),
        (None, None),
        ("not an entry", None),
    ],
)
def test_window_of_entry(entry: Any, expected: int | None) -> None:
    assert window_of_entry(entry) == expected


OLLAMA_SHOW: dict[str, Any] = {
    "parameters": 'num_keep                       24\nstop                           "<|eot_id|>"',
    "model_info": {
        "general.architecture": "llama",
        "llama.context_length": 8192,
        "llama.embedding_length": 4096,
    },
}


def test_ollama_show_model_info() -> None:
    assert window_of_ollama_show(OLLAMA_SHOW) == 8192


def test_ollama_show_num_ctx_wins() -> None:
    body = {**OLLAMA_SHOW, "parameters": "num_ctx                        2048\n" + OLLAMA_SHOW["parameters"]}
    assert window_of_ollama_show(body) == 2048


def test_ollama_show_any_context_length_when_the_architecture_key_differs() -> None:
    body = {"model_info": {"general.architecture": "qwen2moe", "qwen2.context_length": 32768}}
    assert window_of_ollama_show(body) == 32768


@pytest.mark.parametrize("body", [None, {}, {"model_info": {}}, {"model_info": [1]}, {"parameters": 7}])
def test_ollama_show_without_a_window(body: Any) -> None:
    assert window_of_ollama_show(body) is None


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("http://localhost:11434/v1", "http://localhost:11434"),
        ("http://localhost:1234/v1/", "http://localhost:1234"),
        ("https://gpu.example.com/ollama/v1", "https://gpu.example.com/ollama"),
        ("https://api.openai.com/v2", None),
        ("http://localhost:8000", None),
    ],
)
def test_root_url(base_url: str, root: str | None) -> None:
    assert root_url(ServerConfig(name="s", kind="openai", base_url=base_url)) == root


def test_server_recognised_by_port_or_owner() -> None:
    ollama = ServerConfig(name="o", kind="openai", base_url="http://localhost:11434/v1")
    lmstudio = ServerConfig(name="l", kind="openai", base_url="http://localhost:1234/v1")
    other = ServerConfig(name="x", kind="openai", base_url="http://localhost:8000/v1")
    assert looks_like_ollama(ollama, None)
    assert not looks_like_ollama(other, None)
    assert looks_like_ollama(other, {"id": "llama3:latest", "owned_by": "library"})
    assert looks_like_lmstudio(lmstudio, None)
    assert not looks_like_lmstudio(other, {"id": "m", "owned_by": "vllm"})
    assert looks_like_lmstudio(other, {"id": "m", "owned_by": "organization_owner"})
