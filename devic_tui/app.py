"""The Textual application: bindings (each with a stable id, remappable from the config's `keymap`),
the command palette entries, the theme, and the main screen on top of the service layer."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from devic_tui.config import Settings
from devic_tui.screens.help import HelpScreen
from devic_tui.screens.main import MainScreen
from devic_tui.service import ChatService
from devic_tui.themes import load_theme_files, save_theme_choice

BINDINGS = [
    Binding("ctrl+n", "screen.new_chat", "New chat", id="new-chat"),
    Binding("escape", "screen.stop", "Stop", id="stop", show=False),
    Binding("ctrl+b", "screen.toggle_sidebar", "Sidebar", id="toggle-sidebar"),
    Binding("f2", "screen.focus_sidebar", "Chats", id="focus-sidebar"),
    Binding("f3", "screen.focus_pane", "Messages", id="focus-pane"),
    Binding("f4", "screen.focus_composer", "Compose", id="focus-composer", show=False),
    Binding("ctrl+y", "screen.copy_last", "Copy", id="copy"),
    Binding("ctrl+o", "screen.attach_files", "Attach", id="attach"),
    Binding("ctrl+t", "change_theme", "Theme", id="pick-theme", show=False),
    Binding("f1", "help", "Help", id="help"),
    Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
]


class DevicTuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "devic-tui"
    BINDINGS = BINDINGS

    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path | None = None,
        demo: bool = False,
        service: ChatService | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.config_path = config_path
        self.demo = demo
        self.service = service or ChatService(settings)
        if settings.keymap:
            self.set_keymap(settings.keymap)

    def on_mount(self) -> None:
        themes, notices = load_theme_files()
        for theme in themes:
            self.register_theme(theme)
        for notice in notices:
            self.notify(notice, title="Theme", severity="warning", timeout=8)
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        elif self.settings.theme:
            self.notify(f"Theme '{self.settings.theme}' is unknown; using {self.theme}.", severity="warning")
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.demo:
            self.sub_title = "demo"
        self.push_screen(MainScreen(self.service))

    def _theme_changed(self, theme: Theme) -> None:
        if self.config_path is None or (self.demo and not self.config_path.exists()):
            return
        try:
            save_theme_choice(self.config_path, theme.name)
        except OSError as error:
            self.notify(f"Could not save the theme to {self.config_path}: {error.strerror}", severity="warning")

    async def on_unmount(self) -> None:
        await self.service.aclose()

    def action_help(self) -> None:
        rows: list[tuple[str, str, str]] = []
        for binding in self._all_bindings():
            key = self.get_key_display(binding)
            rows.append((key, binding.description or binding.action, binding.id or ""))
        self.push_screen(HelpScreen(rows))

    def _all_bindings(self) -> list[Binding]:
        seen: list[Binding] = []
        for _, binding in self.screen.active_bindings.items():
            seen.append(binding.binding)
        return seen

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            yield SystemCommand(
                "New chat", "Start a new chat with the same assistant", screen.action_new_chat
            )
            yield SystemCommand("Stop answer", "Stop the answer being written", screen.action_stop)
            yield SystemCommand("Toggle sidebar", "Show or hide the sidebar", screen.action_toggle_sidebar)
            yield SystemCommand(
                "Copy answer", "Copy the focused message or the last answer", screen.action_copy_last
            )
        yield SystemCommand("Help", "Show every key", self.action_help)
