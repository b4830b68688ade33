"""Hostile text from servers, files and saved history shows literally: ANSI escape sequences never reach
the terminal, Rich/Textual markup is never read (no style, no link, no action), and unusual Unicode
(joiners, wide CJK, right-to-left, combining marks, NUL) neither breaks the layout nor the transcript.

Every test drives the real app headless against the loopback emulator and reads what the terminal
would be sent (the compositor's strips), not the widgets' inputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment

from devic_tui.app import DevicTuiApp
from devic_tui.config import AssistantConfig, ServerConfig
from devic_tui.demo import demo_servers
from devic_tui.emulator import EmulatorServer
from devic_tui.models import Attachment
from devic_tui.records import Conversation, StoredMessage
from devic_tui.screens.main import MainScreen
from devic_tui.store.transcripts import TranscriptStore
from tests.hardening.conftest import screen_segments, screen_text
from tests.ui.conftest import current, pick, send, settle

# Each piece on its own paragraph, so a quoting answer keeps it on one line and it stays findable.
ANSI = [
    "colour \x1b[31mred\x1b[0m",
    "title \x1b]0;pwned-title\x07",
    "clear \x1b[2J\x1b[H",
    "clip \x1b]52;c;ZXZpbA==\x07",
    "bell \x07 and nul \x00 end",
]
MARKUP = ["[bold]B[/bold]", "[link=https://evil.example]L[/link]", "[@click=app.quit]Q[/]"]
UNICODE = [
    "family 👩\u200d👩\u200d👧 ok",
    "wide 漢字かな ok",
    "rtl שלום عربي ok",
    "combining e\u0301a\u0308 ok",
]
HOSTILE = "\n\n".join([*ANSI, *MARKUP, *UNICODE])
SHORT = "\x1b[31m[bold]B[/bold][@click=app.quit]Q[/]\x07\x00漢字"
"""For one-line places (titles, names): everything hostile, short enough not to be cut."""

FORBIDDEN = ("\x1b", "\x07", "\x00", "\x9b")


def assert_terminal_safe(app: DevicTuiApp) -> str:
    """No control character reaches the terminal and no link or click action was made; returns the
    screen's text."""
    lines = screen_segments(app)
    for line in lines:
        for segment in line:
            for bad in FORBIDDEN:
                assert bad not in segment.text, (bad, segment.text)
            style = segment.style
            if style is None:
                continue
            assert not style.link, f"a link was made: {style.link} on {segment.text!r}"
            assert "app.quit" not in repr(style.meta), f"an action was made: {style.meta} on {segment.text!r}"
    return screen_text(app)


def segments_with(app: DevicTuiApp, text: str) -> list[Segment]:
    return [s for line in screen_segments(app) for s in line if text in s.text]


async def test_echoed_hostile_text_shows_literally_and_is_stored_exactly(
    make_app: Callable[..., DevicTuiApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, HOSTILE)
        screen = await settle(pilot)
        await pilot.pause(0.2)
        views = current(screen).pane.views()
        assert [v.data.role for v in views] == ["user", "assistant"]
        assert views[1].data.status == "complete"
        text = assert_terminal_safe(app)
        for piece in MARKUP:
            # once in the user's message, once quoted in the answer
            assert text.count(piece) >= 2, (piece, text)
        assert "␛[31mred␛[0m" in text  # the escape is a visible symbol, the rest as sent
        assert "␛]52;c;ZXZpbA==␇" in text
        assert "漢字かな" in text
        assert "שלום" in text
        # markup made no style: "B" between the tags is not bold
        assert all(not (s.style and s.style.bold) for s in segments_with(app, "[bold]B[/bold]"))
        assert app.is_running
        assert app.return_code is None
        assert current(screen).conversation is not None
        stored = app.service.store.load(current(screen).conversation.id)
        assert stored.messages[0].content == HOSTILE  # the transcript keeps exactly what was sent
        assert "\x1b]52;c;ZXZpbA==\x07" in stored.messages[1].content
        assert "[@click=app.quit]Q[/]" in stored.messages[1].content


async def test_clicking_click_markup_runs_nothing(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "echo")
        await send(pilot, screen, "[@click=app.quit]QUIT-HERE[/]")
        await settle(pilot)
        rows = screen_text(app).splitlines()
        spots = [(row.index("QUIT-HERE"), y) for y, row in enumerate(rows) if "QUIT-HERE" in row]
        assert spots
        for x, y in spots:
            await pilot.click(offset=(x + 2, y))
            await pilot.pause(0.05)
        assert app.is_running
        assert app.return_code is None
        assert isinstance(app.screen, MainScreen)


def hostile_history(store: TranscriptStore) -> Conversation:
    base = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    conversation = Conversation(
        id="hostile01",
        title=SHORT,
        server="demo-agent",
        assistant_id="echo",
        assistant_name=SHORT,
        created_at=base,
        updated_at=base + timedelta(minutes=1),
    )
    conversation.messages = [
        StoredMessage(
            id="u1",
            role="user",
            content=HOSTILE,
            created_at=base,
            attachments=[Attachment(name=SHORT + ".txt", size=3, sha256="0" * 64, mime_type="text/plain")],
        ),
        StoredMessage(
            id="a1",
            role="assistant",
            content=HOSTILE,
            status="failed",
            error="server said: " + SHORT,
            created_at=base + timedelta(seconds=2),
        ),
    ]
    store.save(conversation)
    return conversation


def hostile_servers(emulator: EmulatorServer) -> list[ServerConfig]:
    servers = demo_servers(emulator.base_url)
    agent = next(s for s in servers if s.kind == "agent")
    # The hostile name is not the first assistant: the first one is opened as the new chat at start.
    named = [
        a if a.id != "markdown" else AssistantConfig(id="markdown", name="md " + SHORT)
        for a in agent.assistants
    ]
    return [agent.model_copy(update={"assistants": named})]


async def test_new_chat_hint_shows_the_assistant_name_literally(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    app = make_app(servers=hostile_servers(emulator))
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", "markdown")
        await pilot.pause(0.2)
        text = assert_terminal_safe(app)
        assert "New chat with md ␛[31m[bold]B[/bold]" in text


async def test_saved_history_titles_names_errors_and_file_names_show_literally(
    make_app: Callable[..., DevicTuiApp], emulator: EmulatorServer
) -> None:
    app = make_app(servers=hostile_servers(emulator))
    saved = hostile_history(app.service.store)
    async with app.run_test(size=(160, 60)) as pilot:
        screen = await settle(pilot)
        # the sidebar lists the chat (hostile title) and the assistant (hostile name)
        sidebar = assert_terminal_safe(app)
        assert sidebar.count("␛[31m[bold]B[/bold]") >= 2, sidebar
        screen.open_conversation(saved.id)
        for _ in range(40):
            await pilot.pause(0.05)
            if current(screen).conversation is not None and current(screen).conversation.id == saved.id:
                break
        await pilot.pause(0.3)
        text = assert_terminal_safe(app)
        assert screen.title == "␛[31m[bold]B[/bold][@click=app.quit]Q[/]␇␀漢字"
        rows = text.splitlines()
        assert "[bold]B[/bold]" in rows[0], rows[0]  # the header shows the title literally
        for where in ("server said: ␛[31m[bold]B", "📎 ␛[31m[bold]B[/bold]"):
            assert where in text, where
        # the message header shows the assistant's name literally, unstyled markup included
        assert all(
            not (s.style and s.style.bold and "B[/bold]" in s.text and "[bold]" not in s.text)
            for line in screen_segments(app)
            for s in line
        )
        assert app.is_running
        assert app.return_code is None
    loaded = TranscriptStore(app.service.store.directory).load(saved.id)
    assert loaded == saved


async def test_notifications_are_plain_text(make_app: Callable[..., DevicTuiApp]) -> None:
    app = make_app()
    async with app.run_test(size=(160, 60), notifications=True) as pilot:
        await settle(pilot)
        app.notify("N " + SHORT + " [link=https://evil.example]L[/link]", title="T " + SHORT, timeout=30)
        await pilot.pause(0.3)
        [notification] = [n for n in app._notifications if n.message.startswith("N ")]
        assert notification.markup is False
        for bad in FORBIDDEN:
            assert bad not in notification.message
            assert bad not in notification.title
        text = assert_terminal_safe(app)
        assert "[link=https://evil.example]L[/link]" in text
        assert "[@click=app.quit]Q[/]" in text
        assert app.is_running


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_store_round_trips_hostile_text_exactly(tmp_path: Path, fmt: Any) -> None:
    store = TranscriptStore(tmp_path / "transcripts", fmt)
    saved = hostile_history(store)
    extra = StoredMessage(
        id="u2", role="user", content=HOSTILE + "\r\n\x7f\x85\u2028\ud7ff", created_at=saved.created_at
    )
    saved.messages.append(extra)
    store.save_message(saved, extra, final=True)  # through the journal too
    store.close()
    again = TranscriptStore(tmp_path / "transcripts", fmt)
    assert again.load(saved.id) == saved
    [summary] = again.summaries()
    assert summary.title == SHORT
    again.close()


@pytest.mark.parametrize("assistant", ["unauthorized", "missing", "junk"])
async def test_a_refused_send_says_so_once_and_gives_the_draft_back(
    make_app: Callable[..., DevicTuiApp], assistant: str
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await settle(pilot)
        await pick(pilot, screen, "demo-agent", assistant)
        await send(pilot, screen, "my precious draft")
        screen = await settle(pilot)
        answer = current(screen).pane.views()[-1].data
        assert answer.status == "failed"
        assert answer.error
        errors = [n for n in app._notifications if n.severity == "error"]
        assert len(errors) == 1, errors
        assert current(screen).composer.text == "my precious draft"


async def test_the_screenshot_notice_is_styled_and_its_path_literal(
    make_app: Callable[..., DevicTuiApp], tmp_path: Path
) -> None:
    app = make_app()
    folder = tmp_path / "shots [bold]here"
    folder.mkdir()
    async with app.run_test(size=(160, 60), notifications=True) as pilot:
        await settle(pilot)
        app.deliver_screenshot(filename="shot.svg", path=str(folder))
        for _ in range(50):
            await pilot.pause(0.05)
            if any(n.title == "Screenshot" for n in app._notifications):
                break
        text = assert_terminal_safe(app)
        assert "Saved screenshot to" in text
        assert "[$text-success]" not in text
        assert "[bold]here" in text
        assert (folder / "shot.svg").exists()
