"""What a server teaches the app, kept between runs (`server_hints`): the header a Devs server reads
the token from, and where a server's chat completions are (the Devs platform's `/chats/completions`
first for a base URL ending in `/api/v1`, contract §4, else `/chat/completions`). Against the
emulator in both Devs dialects, and through a mock transport for a server the emulator is not."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import httpx

from devic_tui.config import ServerConfig, Settings
from devic_tui.emulator import EmulatorServer
from devic_tui.emulator.common import RecordedRequest
from devic_tui.emulator.scripts import echo_answer
from devic_tui.models import AssistantInfo
from devic_tui.providers.base import SendRequest
from devic_tui.providers.errors import NotFoundError
from devic_tui.providers.events import Done
from devic_tui.providers.http import HttpClient
from devic_tui.providers.openai_compat import OpenAIProvider, completions_order
from devic_tui.providers.registry import create_provider
from devic_tui.server_hints import HintsFile, ServerHints, hints_file
from devic_tui.service import ChatService
from devic_tui.store.transcripts import TranscriptStore
from tests.conftest import TEST_TOKEN
from tests.providers.events import collect_events as collect
from tests.providers.events import error_of, text_of


async def _no_sleep(_: float) -> None:
    return None


def devs_calls(emulator: EmulatorServer, since: int = 0) -> list[tuple[str, str, str | None]]:
    requests: list[RecordedRequest] = emulator.state.requests_for("devs")[since:]
    return [(r.method, r.path, r.auth_header) for r in requests]


def ask(text: str = "hello there", model: str = "echo") -> SendRequest:
    return SendRequest(assistant_id=model, text=text)


# ------------------------------------------------------------------------------ completions paths


def test_the_order_of_the_completions_paths() -> None:
    def order(base_url: str, **fields: str) -> list[str]:
        return completions_order(ServerConfig(name="s", kind="openai", base_url=base_url, **fields))  # type: ignore[arg-type]

    assert order("https://api.openai.com/v1") == ["/chat/completions", "/chats/completions"]
    assert order("https://api.devs.ai/api/v1") == ["/chats/completions", "/chat/completions"]
    assert order("https://api.devs.ai/api/v1/") == ["/chats/completions", "/chat/completions"]
    assert order("https://x.example/v1", completions_path="/chats/completions") == ["/chats/completions"]
    remembered = completions_order(
        ServerConfig(name="s", kind="openai", base_url="https://api.devs.ai/api/v1"), "/chat/completions"
    )
    assert remembered == ["/chat/completions", "/chats/completions"]


async def test_a_devs_base_url_asks_chats_completions_first_and_reads_its_event_stream(
    server_config: Callable[..., ServerConfig], emulator: EmulatorServer
) -> None:
    provider = create_provider(server_config("openai", base_url=emulator.base_url + "/api/v1"))
    events = await collect(provider.send(ask("what the platform answers")))
    await provider.aclose()
    assert text_of(events) == echo_answer("what the platform answers")
    done = events[-1]
    assert isinstance(done, Done)
    assert done.metadata["chatId"]  # the chat the platform kept it in
    assert devs_calls(emulator) == [("POST", "/api/v1/chats/completions", "authorization")]


async def test_a_server_with_no_completions_says_so_and_points_at_the_base_url(
    server_config: Callable[..., ServerConfig], emulator: EmulatorServer
) -> None:
    # The April 2024 server has neither path.
    config = server_config(
        "openai", base_url=emulator.base_url + "/devs-2024/api/v1", auth_header="x-authorization"
    )
    provider = create_provider(config)
    events = await collect(provider.send(ask()))
    await provider.aclose()
    error = error_of(events)
    assert isinstance(error, NotFoundError)
    assert "/chat/completions (404) answered the same" in str(error)
    assert "check base_url" in str(error)
    assert [path for _, path, _ in devs_calls(emulator)] == [
        "/devs-2024/api/v1/chats/completions",
        "/devs-2024/api/v1/chat/completions",
    ]


async def test_an_unknown_model_is_said_as_the_server_said_it(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    error = error_of(await collect(make_provider("openai").send(ask(model="no-such-model"))))
    assert isinstance(error, NotFoundError)
    assert "does not exist" in str(error)


def _devs_without_its_own_path(seen: list[httpx.Request]) -> httpx.MockTransport:
    """A server at …/api/v1 that has only `/chat/completions`."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/chats/completions"):
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": "ok"}}]})

    return httpx.MockTransport(answer)


async def test_the_completions_path_that_answered_is_kept_for_the_next_run(tmp_path: Path) -> None:
    server = ServerConfig(
        name="platform", kind="openai", token=TEST_TOKEN, base_url="https://devs.example/api/v1", stream=False
    )
    kept = HintsFile(tmp_path / "hints.json")
    seen: list[httpx.Request] = []

    async def one_run(asks: int) -> None:
        provider = OpenAIProvider(
            server, HttpClient(server, transport=_devs_without_its_own_path(seen), hints=kept)
        )
        for _ in range(asks):
            assert text_of(await collect(provider.send(ask()))) == "ok"
        await provider.aclose()

    await one_run(2)
    assert [r.url.path for r in seen] == [
        "/api/v1/chats/completions",  # missing
        "/api/v1/chat/completions",
        "/api/v1/chat/completions",  # straight there for the rest of the run
    ]
    seen.clear()
    await one_run(1)
    assert [r.url.path for r in seen] == ["/api/v1/chat/completions"]  # and in the next run
    assert kept.recall_now(server).completions_path == "/chat/completions"
    assert stat.S_IMODE(kept.path.stat().st_mode) == 0o600
    assert TEST_TOKEN not in kept.path.read_text()


# ---------------------------------------------------------------------------------- auth header


async def test_the_header_a_2024_server_reads_is_known_in_the_next_run(
    server_config: Callable[..., ServerConfig], emulator: EmulatorServer, tmp_path: Path
) -> None:
    config = server_config("devs", base_url=emulator.base_url + "/devs-2024")

    async def ask_in_a_new_run(text: str) -> None:
        service = ChatService(Settings(servers=[config]), store=TranscriptStore(tmp_path / "transcripts"))
        conversation = service.new_conversation(config.name, AssistantInfo(id="echo", name="echo"))
        turn = await service.start_turn(conversation, text, [])
        events = [event async for event in turn.events()]
        assert text_of(events) == echo_answer(text)
        await service.aclose()

    await ask_in_a_new_run("first run")
    assert devs_calls(emulator)[:2] == [
        ("POST", "/devs-2024/api/v1/ai/echo/chats", "authorization"),
        ("POST", "/devs-2024/api/v1/ai/echo/chats", "x-authorization"),
    ]
    before = len(emulator.state.requests_for("devs"))
    await ask_in_a_new_run("second run")
    second = devs_calls(emulator, before)
    assert second
    assert {header for _, _, header in second} == {"x-authorization"}  # no 401 first

    hints = hints_file()
    assert stat.S_IMODE(hints.stat().st_mode) == 0o600
    assert TEST_TOKEN not in hints.read_text()
    assert HintsFile().recall_now(config).auth_header == "x-authorization"


def test_hints_are_dropped_when_the_server_moves_and_a_broken_file_is_ignored(tmp_path: Path) -> None:
    kept = HintsFile(tmp_path / "hints.json")
    here = ServerConfig(name="s", kind="devs", base_url="https://one.example")
    kept.keep_now(here, ServerHints(auth_header="x-authorization"))
    assert kept.recall_now(here).auth_header == "x-authorization"
    moved = here.model_copy(update={"base_url": "https://two.example"})
    assert kept.recall_now(moved).auth_header is None
    kept.path.write_text("{not json")
    assert kept.recall_now(here) == ServerHints(base_url="https://one.example")
    kept.keep_now(here, ServerHints(completions_path="/chat/completions"))  # a broken file is replaced
    assert kept.recall_now(here).completions_path == "/chat/completions"
