"""The Textual application: bindings (each with a stable id, remappable from the config's `keymap`),
the command palette entries, the theme, and the main screen on top of the service layer."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from devic_tui.config import Settings
from devic_tui.screens.help import HelpScreen
from devic_tui.screens.main import MainScreen
from devic_tui.service import ChatService
from devic_tui.text_safety import one_line, visible
from devic_tui.themes import load_theme_files, save_theme_choice
from devic_tui.widgets.composer import Composer
from devic_tui.widgets.transcript import TranscriptPane

GC_THRESHOLDS = (10_000, 10, 50)

BINDINGS = [
    Binding("ctrl+n", "screen.new_chat", "New chat", id="new-chat"),
    Binding("ctrl+l", "screen.switch_chat", "Switch chat", id="switch-chat"),
    Binding("ctrl+f", "screen.search", "Search", id="search"),
    Binding("ctrl+o", "screen.attach_files", "Attach", id="attach"),
    Binding("escape", "screen.stop", "Stop", id="stop", show=False),
    Binding("ctrl+r", "screen.retry", "Retry", id="retry", show=False),
    Binding("ctrl+g", "screen.edit_last", "Edit last message", id="edit-last", show=False),
    Binding("f8", "screen.copy_last", "Copy", id="copy"),
    Binding("f9", "screen.copy_code", "Copy code block", id="copy-code", show=False),
    Binding("alt+r", "screen.rename_chat", "Rename chat", id="rename-chat", show=False),
    Binding("alt+t", "screen.tag_chat", "Tag chat", id="tag-chat", show=False),
    Binding("alt+a", "screen.archive_chat", "Archive chat", id="archive-chat", show=False),
    Binding("alt+d", "screen.delete_chat", "Delete chat", id="delete-chat", show=False),
    Binding("alt+u", "screen.duplicate_chat", "Duplicate chat", id="duplicate-chat", show=False),
    Binding("alt+x", "screen.reset_chat", "Reset chat", id="reset-chat", show=False),
    Binding("alt+e", "screen.export_chat", "Export chat", id="export-chat", show=False),
    Binding("ctrl+b", "screen.toggle_sidebar", "Show or hide the sidebar", id="toggle-sidebar", show=False),
    Binding("f2", "screen.focus_sidebar", "Focus the chat list", id="focus-sidebar", show=False),
    Binding("f3", "screen.focus_pane", "Focus the messages", id="focus-pane", show=False),
    Binding("f4", "screen.focus_composer", "Focus the composer", id="focus-composer", show=False),
    Binding("ctrl+t", "change_theme", "Theme", id="pick-theme", show=False),
    Binding("f1", "help", "Help", id="help"),
    Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
]


class DevicTuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "devic-tui"
    BINDINGS: ClassVar[list[BindingType]] = list(BINDINGS)

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
            # Environment variables cannot hold "-": DEVIC_TUI_KEYMAP__NEW_CHAT means new-chat.
            self.set_keymap({name.replace("_", "-"): keys for name, keys in settings.keymap.items()})

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification is plain text: most quote servers, files or errors, and markup in
        them (`[bold]`, `[@click=…]`) must show as the characters sent, never act."""
        super().notify(
            visible(message), title=one_line(title), severity=severity, timeout=timeout, markup=False
        )

    def on_mount(self) -> None:
        # Rendering a streamed answer makes many short-lived objects. With CPython's default
        # thresholds that means full collections several times a second on a long answer, each
        # stalling the screen up to 200 ms; these keep young collections cheap and rare and made
        # no full collection during an 81 KB stream (bench/stream_mixed.py; README of bench/).
        gc.set_threshold(*GC_THRESHOLDS)
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
            self.notify(
                f"Could not save the theme to {self.config_path}: {error.strerror}", severity="warning"
            )

    async def on_unmount(self) -> None:
        await self.service.aclose()

    def action_help(self) -> None:
        """Every key of ours, as remapped by the config's keymap, with its binding id."""
        keymap = self.settings.keymap
        rows: list[tuple[str, str, str]] = []
        for binding in (*BINDINGS, *Composer.BINDINGS, *TranscriptPane.BINDINGS):
            if not isinstance(binding, Binding) or not binding.id:
                continue
            keys = keymap.get(binding.id, binding.key).split(",")
            shown = " / ".join(self.get_key_display(dataclasses.replace(binding, key=key)) for key in keys)
            rows.append((shown, binding.description or binding.action, binding.id))
        self.push_screen(HelpScreen(rows))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            for binding in BINDINGS:
                if binding.action.startswith("screen.") and binding.id:
                    action = getattr(screen, "action_" + binding.action.removeprefix("screen."))
                    key = self.get_key_display(binding)
                    yield SystemCommand(binding.description, f"{key} · {binding.id}", action)
        yield SystemCommand("Help", "Show every key (F1)", self.action_help)
