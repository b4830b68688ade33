"""The first screen, on screen before the config, the history or the demo's emulator are read: the
main screen's layout with a sidebar still loading and a composer that takes keys at once. What is
typed here becomes the draft of the first chat the main screen shows. Only Textual and the
composer are imported here, so this frame costs what a bare Textual app costs."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from devic_tui.widgets.composer import Composer

STARTING_HINT = "Starting: the message is kept, and Enter sends it once the chat is open"


class StartScreen(Screen[None]):
    def __init__(self, *, show_sidebar: bool = True) -> None:
        super().__init__()
        self.composer = Composer(classes="composer")
        self.send_when_open = False
        """Enter was pressed here: the first chat shown sends what was typed."""
        self._show_sidebar = show_sidebar

    def compose(self) -> ComposeResult:
        # The app's title as a plain line, not a Header: a Header watches the app's title, and the
        # main screen sets it while this screen is being taken down.
        yield Static(
            self.app.title + (f" — {self.app.sub_title}" if self.app.sub_title else ""),
            classes="start-header",
            markup=False,
        )
        with Horizontal(id="body"):
            sidebar = Static("Loading…", id="sidebar", classes="starting", markup=False)
            sidebar.display = self._show_sidebar
            yield sidebar
            with Container(id="chats"), Vertical(classes="starting-chat"):
                yield Static("", classes="transcript")
                yield self.composer
                yield Static("", classes="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.composer.focus()

    @on(Composer.Submitted)
    def _submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        if event.text.strip():
            self.send_when_open = True
            self.composer.border_subtitle = STARTING_HINT
