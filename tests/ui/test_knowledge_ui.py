"""Pilot tests of a Devs AI's knowledge view and the AI form against the emulator over loopback: the
sources listed and watched while they index, a file added through the file dialog, files refused
before anything is sent, web pages and JSON data added, a source removed; an AI created and edited
(the edit sending the whole object) and a read-only key's refusal shown in the form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static, TextArea

from devic_tui.app import DevicTuiApp
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorOptions, EmulatorServer
from devic_tui.emulator.common import READONLY_TOKEN, RecordedRequest
from devic_tui.knowledge_models import AssistantDetails
from devic_tui.models import AssistantInfo
from devic_tui.screens.assistant_form import AssistantFormScreen
from devic_tui.screens.dialogs import ChoiceScreen, ConfirmScreen, PromptScreen
from devic_tui.screens.knowledge import KnowledgeScreen
from devic_tui.screens.knowledge_json import JsonSourceScreen
from devic_tui.screens.upload import UploadScreen
from tests.ui.conftest import modal, settle, wait_until

SERVER = "demo-devs"
AI = AssistantInfo(id="echo", name="Echo")


def fast_indexing(emulator: EmulatorServer) -> None:
    emulator.reset(EmulatorOptions(index_seconds=0.5))


def uploads(emulator: EmulatorServer) -> list[RecordedRequest]:
    return [r for r in emulator.state.requests_for("devs") if r.path.endswith("/data-sources/file")]


def rows(screen: KnowledgeScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


def status(screen: KnowledgeScreen) -> str:
    return str(screen.query_one("#knowledge-status", Static).render())


async def open_knowledge(pilot: Pilot[None]) -> KnowledgeScreen:
    app = pilot.app
    assert isinstance(app, DevicTuiApp)
    assert app.service is not None
    await settle(pilot)
    app.push_screen(KnowledgeScreen(app.service, SERVER, AI))
    screen = await modal(pilot, KnowledgeScreen)
    await wait_until(pilot, lambda: screen.loaded)
    return screen


async def add_through_the_dialog(pilot: Pilot[None], screen: KnowledgeScreen, *paths: Path) -> None:
    await pilot.press("a")
    dialog = await modal(pilot, UploadScreen)
    for path in paths:
        dialog.add(path)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: pilot.app.screen is screen)


async def test_a_file_added_through_the_dialog_indexes_to_completed(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer, tmp_path: Path
) -> None:
    fast_indexing(emulator)
    guide = tmp_path / "guide.md"
    guide.write_text("# Guide\n\nHow things work.\n")
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_knowledge(pilot)
        assert rows(screen) == []
        assert "no knowledge yet" in status(screen)
        await pilot.press("a")
        dialog = await modal(pilot, UploadScreen)
        assert "knowledge" in str(dialog.query_one("#upload-dialog").border_title)  # not "Attach files"
        assert str(dialog.query_one("#upload-attach", Button).label) == "Add"
        dialog.query_one("#upload-path", Input).value = str(guide)
        await pilot.press("enter", "ctrl+s")
        await wait_until(pilot, lambda: len(uploads(emulator)) == 1)
        await wait_until(pilot, lambda: bool(rows(screen)) and rows(screen)[0][2] == "COMPLETED", within=8)
        [row] = rows(screen)
        assert row[:4] == ["guide.md", "FILE_UPLOAD", "COMPLETED", "100.0 %"]
        assert "Added guide.md" in status(screen)
        await wait_until(pilot, lambda: screen._poll is None)  # no reading once nothing indexes


async def test_files_the_server_would_not_index_are_refused_before_sending(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer, tmp_path: Path
) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * (5 * 1024 * 1024))
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG....")
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_knowledge(pilot)
        await add_through_the_dialog(pilot, screen, big, picture)
        await wait_until(pilot, lambda: "Not added" in status(screen))
        said = status(screen)
        assert "4.5 MB" in said
        assert "photo.png" in said
        assert "Markdown" in said
        assert uploads(emulator) == []
        assert rows(screen) == []


async def test_web_pages_and_json_data_are_added_and_a_source_removed(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    fast_indexing(emulator)
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_knowledge(pilot)
        await pilot.press("u")
        prompt = await modal(pilot, PromptScreen)
        prompt.query_one(Input).value = "https://example.com/a\nhttps://example.com/b https://example.com/a"
        await pilot.press("enter")
        await modal(pilot, ChoiceScreen)
        await pilot.press("w")
        await wait_until(pilot, lambda: len(rows(screen)) == 2)
        posted = [r for r in emulator.state.requests_for("devs") if r.path.endswith("/web-urls")]
        assert [r.body for r in posted] == [
            {"urls": ["https://example.com/a", "https://example.com/b"], "dataRefreshPeriod": "WEEKLY"}
        ]
        assert {row[4] for row in rows(screen)} == {"WEEKLY"}

        await pilot.press("j")
        form = await modal(pilot, JsonSourceScreen)
        form.query_one("#json-name", Input).value = "products"
        form.query_one("#json-data", TextArea).text = "[1, 2]"
        await pilot.press("ctrl+s")
        assert "JSON object" in str(form.query_one("#json-error", Static).render())
        form.query_one("#json-data", TextArea).text = '{"items": ["tea"]}'
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(rows(screen)) == 3)
        assert "products" in [row[0] for row in rows(screen)]

        await wait_until(pilot, lambda: screen._poll is None, within=8)
        screen.query_one(DataTable).move_cursor(row=1)
        await pilot.press("r")
        second = screen.sources[1]
        await wait_until(
            pilot, lambda: any(r.path.endswith(f"/{second.id}/refresh") for r in emulator.state.requests)
        )
        await wait_until(
            pilot, lambda: screen.sources[1].index_status == "COMPLETED" and screen._poll is None, within=8
        )
        assert "again" in status(screen)
        screen.query_one(DataTable).move_cursor(row=0)
        first = rows(screen)[0][0]
        await pilot.press("d")
        await modal(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: len(rows(screen)) == 2)
        assert first not in [row[0] for row in rows(screen)]
        assert f"Removed {first}" in status(screen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, KnowledgeScreen))


async def test_escape_codes_in_a_source_name_never_reach_the_terminal(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert app.service is not None
        app.push_screen(KnowledgeScreen(app.service, SERVER, ("hostile", "Hostile")))
        screen = await modal(pilot, KnowledgeScreen)
        await wait_until(pilot, lambda: bool(rows(screen)))
        [[name, *_]] = rows(screen)
        assert "\x1b" not in name
        assert "\x07" not in name
        assert name.startswith("notes␛]0;pwned-title")


# ------------------------------------------------------------------------------------------ the AI form


def form_error(form: AssistantFormScreen) -> str:
    return str(form.query_one("#assistant-error", Static).render())


async def open_form(
    pilot: Pilot[None], details: AssistantDetails | None, results: list[AssistantDetails | None]
) -> AssistantFormScreen:
    """Push the form; what it dismisses with goes into `results`."""
    app = pilot.app
    assert isinstance(app, DevicTuiApp)
    assert app.service is not None
    await settle(pilot)
    app.push_screen(AssistantFormScreen(app.service, SERVER, details), results.append)
    return await modal(pilot, AssistantFormScreen)


def ai_requests(emulator: EmulatorServer, method: str) -> list[RecordedRequest]:
    return [r for r in emulator.state.requests_for("devs") if r.method == method and "/ai" in r.path]


async def test_an_ai_is_created_then_edited_whole(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    results: list[AssistantDetails | None] = []
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot, None, results)
        form.query_one("#assistant-name", Input).value = "Helper"
        await pilot.press("ctrl+s")
        assert form_error(form) == "Fill in: Description, Instructions."
        form.query_one("#assistant-description", Input).value = "Helps"
        form.query_one("#assistant-instructions", TextArea).text = "Be brief."
        form.query_one("#assistant-introduction", TextArea).text = "Hi!"
        form.query_one("#assistant-visibility", Select).value = "PRIVATE"
        form.query_one("#assistant-temperature", Input).value = "3"
        await pilot.press("ctrl+s")
        assert form_error(form).startswith("Temperature: Input should be less than or equal to 2")
        form.query_one("#assistant-temperature", Input).value = "0.3"
        form.query_one("#assistant-top_k", Input).value = "40"
        form.query_one("#assistant-generate_citations", Checkbox).value = True
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(results))
        [create] = ai_requests(emulator, "POST")
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
        created = results.pop()
        assert created is not None
        assert created.name == "Helper"

        assert app.service is not None
        details = await app.service.assistant_details(SERVER, created.id)
        form = await open_form(pilot, details, results)
        assert form.query_one("#assistant-top_k", Input).value == "40"
        assert form.query_one("#assistant-generate_citations", Checkbox).value
        form.query_one("#assistant-name", Input).value = "Helper 2"
        form.query_one("#assistant-max_tokens", Input).value = "500"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: bool(results))
        [patch] = ai_requests(emulator, "PATCH")
        assert patch.path == f"/api/v1/ai/{created.id}"
        assert patch.body == {
            **create.body,
            "name": "Helper 2",
            "options": {"temperature": [0.3], "topK": [40], "maxTokens": [500]},
        }
        edited = results.pop()
        assert edited is not None
        assert edited.name == "Helper 2"


async def test_a_read_only_key_is_refused_in_the_form_and_the_typing_kept(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    results: list[AssistantDetails | None] = []
    servers = [
        server.model_copy(update={"token": SecretStr(READONLY_TOKEN)}) if server.name == SERVER else server
        for server in demo_servers(emulator.base_url)
    ]
    app = make_app(servers)
    async with app.run_test(size=(120, 50)) as pilot:
        form = await open_form(pilot, None, results)
        form.query_one("#assistant-name", Input).value = "Mine"
        form.query_one("#assistant-description", Input).value = "d"
        form.query_one("#assistant-instructions", TextArea).text = "i"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: form_error(form).startswith("Not saved"))
        assert "does not allow this key to create or edit AIs" in form_error(form)
        assert app.screen is form
        assert form.query_one("#assistant-name", Input).value == "Mine"
        assert results == []


# ------------------------------------------------------------------------------------------ snapshot


def test_knowledge_snapshot(
    make_app: Callable[..., DevicTuiApp],
    snap_compare: Any,
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two sources, both indexed at one fixed moment, so the picture does not depend on when it is
    taken."""
    fast_indexing(emulator)
    monkeypatch.setattr("devic_tui.emulator.devs_knowledge.iso_now", lambda: "2026-11-29T09:30:00.000Z")

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, DevicTuiApp)
        assert app.service is not None
        await settle(pilot)
        await app.service.add_knowledge_json(SERVER, AI.id, "products", {"items": ["tea", "cups"]})
        await app.service.add_knowledge_urls(SERVER, AI.id, ["https://example.com/faq"], "MONTHLY")
        screen = await open_knowledge(pilot)
        await wait_until(
            pilot, lambda: len(rows(screen)) == 2 and screen._poll is None and not screen.workers, within=8
        )
        app.screen.set_focus(None)
        await pilot.pause(0.1)

    assert snap_compare(make_app(), terminal_size=(120, 30), run_before=run_before)
