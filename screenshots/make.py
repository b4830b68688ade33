"""Make the README's screenshots: the real app, headless, against the built-in emulator, with a
fixed history. Writes SVG files here, and PNG copies where `rsvg-convert` is installed.

Run from the repository root: python screenshots/make.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from textual.pilot import Pilot

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from devic_tui import locations  # noqa: E402
from devic_tui.app import DevicTuiApp  # noqa: E402
from devic_tui.config import AssistantConfig, ModelPrice, ServerConfig, Settings  # noqa: E402
from devic_tui.demo import DEMO_OPTIONS, demo_servers  # noqa: E402
from devic_tui.emulator import EmulatorServer  # noqa: E402
from devic_tui.screens.main import MainScreen  # noqa: E402
from devic_tui.service import ChatService  # noqa: E402
from devic_tui.store.transcripts import TranscriptStore  # noqa: E402
from devic_tui.widgets.chat_view import ChatView  # noqa: E402
from tests.ui.history import save_all, tour_conversation  # noqa: E402

SIZE = (120, 36)
DEMO_ENTRY = ServerConfig(
    name="demo",
    kind="demo",
    assistants=[
        AssistantConfig(
            id="echo", system_prompt="Answer briefly, in French.", temperature=0.3, max_tokens=400
        )
    ],
)
"""The config's demo entry the shots run with: `echo` set up as the README's example sets it."""
PRICES = {"markdown": ModelPrice(input=2.5, output=10.0)}


async def new_chat(pilot: Pilot[None], screen: MainScreen, server: str, assistant_id: str) -> ChatView:
    """A new chat with the demo server's assistant, once it is on screen."""
    assistant = screen.model.assistant(server, assistant_id)
    assert assistant is not None, f"the demo server {server} lists no {assistant_id!r} assistant"
    before = screen.current
    screen.start_new_chat(server, assistant)
    while screen.current is before or screen.current is None:
        await pilot.pause(0.05)
    return screen.current


async def shoot(app: DevicTuiApp, name: str, keys: tuple[str, ...] = (), theme: str = "") -> None:
    async with app.run_test(size=SIZE) as pilot:
        while not isinstance(app.screen, MainScreen) or not app.screen.servers_loaded:
            await pilot.pause(0.05)
        screen = app.screen
        if theme:
            app.theme = theme
            await pilot.pause(0.5)
        if name == "streaming":
            chat = await new_chat(pilot, screen, "demo-agent", "long")
            chat.composer.load_text("Write me something long, with code")
            await pilot.press("enter")
            while not chat.pane.views() or chat.pane.views()[-1].streamed_chars < 2500:
                await pilot.pause(0.05)
        elif name == "settings":
            await new_chat(pilot, screen, "demo-openai", "echo")
            await pilot.pause(0.3)
        elif name in ("details", "knowledge"):
            await new_chat(pilot, screen, "demo-devs", "markdown")
            if name == "knowledge":  # something to show, one source still indexing
                service, where = app.service, ("demo-devs", "markdown")
                await service.add_knowledge_json(*where, "glossary", {"TUI": "text UI"})
                await service.add_knowledge_urls(*where, ["https://example.com/faq"], "WEEKLY")
                await pilot.pause(4.5)
                await service.add_knowledge_urls(*where, ["https://example.com/handbook"])
            await pilot.pause(0.3)
        else:
            screen.open_conversation("tour0001")
            await pilot.pause(0.5)
        if name == "upload":
            from devic_tui.screens.upload import UploadScreen

            # A relative folder: the screenshot must not show where the checkout lives.
            os.chdir(HERE.parent)
            app.push_screen(UploadScreen(Path("themes"), "demo-devs takes uploads up to 5.0 MB."))
            await pilot.pause(0.5)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.6)
        if name != "branches":  # the branch map shows where its cursor is
            app.screen.set_focus(None)
        await pilot.pause(0.1)
        svg = HERE / f"{name}.svg"
        svg.write_text(app.export_screenshot(title="devic-tui"), encoding="utf-8")
        print(f"wrote {svg.relative_to(HERE.parent)}")
        if shutil.which("rsvg-convert"):
            png = svg.with_suffix(".png")
            await asyncio.to_thread(subprocess.run, ["rsvg-convert", "-o", str(png), str(svg)], check=True)
            print(f"wrote {png.relative_to(HERE.parent)}")


async def main() -> None:
    shots: dict[str, tuple[tuple[str, ...], str]] = {
        "main": ((), ""),
        "streaming": ((), ""),
        "upload": ((), ""),
        "search": (("ctrl+f", *"table"), ""),
        "help": (("f1",), ""),
        "branches": (("alt+m",), ""),
        "settings": (("f6",), ""),
        "usage": (("f7",), ""),
        "details": (("f5",), ""),
        "knowledge": (("f5", "k"), ""),
        "theme-light": ((), "devic-paper"),
        "theme-dark": ((), "devic-midnight"),
    }
    with EmulatorServer(DEMO_OPTIONS) as emulator, tempfile.TemporaryDirectory() as data:
        for name, (keys, theme) in shots.items():
            # The app's remembered state (open chat, drafts) with this shot's history, not in the
            # person's data dir: no shot reopens what another left.
            os.environ[locations.DATA_DIR_ENV] = str(Path(data) / name)
            settings = Settings(servers=demo_servers(emulator.base_url, entry=DEMO_ENTRY), prices=PRICES)
            store = TranscriptStore(Path(data) / name, settings.transcript_format)
            save_all(store, tour_conversation())
            app = DevicTuiApp(settings, service=ChatService(settings, store=store))
            await shoot(app, name, keys, theme)


if __name__ == "__main__":
    asyncio.run(main())
