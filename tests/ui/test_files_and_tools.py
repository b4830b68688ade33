"""Pilot tests of attachments and tool calls: the upload dialog into the attachment chips, an
upload to a server that takes files, inlining for one that does not, a refused file keeping the
draft, and the tool-call form answering a Devs assistant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devic_tui.app import DevicTuiApp
from devic_tui.screens.tool_form import ToolFormScreen
from devic_tui.screens.upload import UploadScreen
from tests.ui.conftest import current, modal, pick, send, settle, wait_until

FILES = Path(__file__).parent / "files"


async def test_dialog_attaches_and_devs_uploads_the_file(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs", "echo")
        screen.remember_folder(FILES)
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        dialog = app.screen
        assert isinstance(dialog, UploadScreen)
        dialog.add(FILES / "hello.py")
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert [a.name for a in current(screen).attachment_bar.attachments] == ["hello.py"]
        await send(pilot, screen, "what is in the file?")
        screen = await settle(pilot)
        answer = current(screen).pane.views()[-1].data
        assert "hello.py" in answer.content
        assert current(screen).attachment_bar.attachments == []
        assert current(screen).conversation is not None
        stored = app.service.store.load(current(screen).conversation.id)
        sent = stored.messages[0].attachments[0]
        assert sent.remote is not None
        assert sent.remote.id
        assert sent.sha256
        assert sent.size == (FILES / "hello.py").stat().st_size


async def test_agent_inlines_text_files(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await current(screen).add_files([FILES / "notes.md"])
        await pilot.pause(0.3)
        await send(pilot, screen, "summarise")
        screen = await settle(pilot)
        assert "Some notes to attach." in current(screen).pane.views()[-1].data.content


async def test_refused_files_keep_the_draft(make_app: Callable[..., DevicTuiApp], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        current(screen).composer.load_text("my draft")
        await current(screen).add_files([empty, tmp_path, tmp_path / "nope.txt"])
        await wait_until(pilot, lambda: len(app._notifications) >= 3, within=2.0)
        assert current(screen).attachment_bar.attachments == []
        assert current(screen).composer.text == "my draft"
        messages = [n.message for n in app._notifications]
        assert any("empty" in m for m in messages)
        assert any("folder" in m or "directory" in m for m in messages)


async def test_tool_form_answers_the_assistant(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs", "tools")
        await send(pilot, screen, "book a table")
        form = await modal(pilot, ToolFormScreen)
        form.query("Input").first().focus()
        await pilot.press(*"Oslo")
        form.query_one("Select").value = "metric"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        screen = await settle(pilot)
        answer = current(screen).pane.views()[-1].data
        assert "Oslo" in answer.content
        assert "metric" in answer.content
        assert answer.status == "complete"


async def test_the_file_dialog_opens_where_it_last_attached_from(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        screen.remember_folder(FILES)
        await pilot.pause(0.3)
    again = make_app()
    async with again.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        assert screen.last_folder == FILES
        await pilot.press("ctrl+o")
        await pilot.pause(0.2)
        dialog = again.screen
        assert isinstance(dialog, UploadScreen)
        assert dialog.start == FILES


async def test_devic_function_call_shows_its_question_and_goes_on(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devic", "tools")
        await send(pilot, screen, "book a table")
        form = await modal(pilot, ToolFormScreen, within=10.0)
        shown = " ".join(str(s.render()) for s in form.query(".tool-arguments"))
        assert shown.strip()  # the function's arguments are shown as the question
        form.query("Input").first().focus()
        await pilot.press(*"four people", "ctrl+s")
        screen = await settle(pilot, within=15)
        answer = current(screen).pane.views()[-1].data
        assert "four people" in answer.content
        assert answer.status == "complete"


async def test_cancelling_the_form_sends_nothing_and_says_so(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-devs", "tools")
        await send(pilot, screen, "book a table")
        await wait_until(pilot, lambda: isinstance(app.screen, ToolFormScreen), within=5.0)
        await pilot.press("escape")
        screen = await settle(pilot)
        answer = current(screen).pane.views()[-1].data
        assert answer.error is not None
        assert "cancelled" in answer.error
