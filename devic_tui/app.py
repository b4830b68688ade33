"""The Textual application: the app-wide keys (theme, help, quit; the chat keys are the main
screen's), the user's keymap applied to every binding by its id, F1 and the command palette built
from the bindings as remapped, the theme, and the one place where a failed worker becomes a
message a person reads."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingsMap, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.theme import Theme

from devic_tui.config_peek import FirstFrame
from devic_tui.errors import DevicTuiError
from devic_tui.screens.help import HelpScreen
from devic_tui.screens.keys import SCREEN_BINDINGS
from devic_tui.screens.start import StartScreen
from devic_tui.text_safety import one_line, visible
from devic_tui.widgets.composer import Composer
from devic_tui.widgets.failures import HandsUpFailures, WorkFailed

if TYPE_CHECKING:
    from devic_tui.config import Settings
    from devic_tui.launch import Launch
    from devic_tui.service import ChatService

log = logging.getLogger("devic_tui.app")
GC_THRESHOLDS = (10_000, 10, 200)

APP_BINDINGS: list[Binding] = [
    Binding("ctrl+t", "change_theme", "Pick a theme", id="pick-theme", show=False),
    Binding("f1", "help", "Help", id="help"),
    Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
]


def keyed_bindings() -> list[Binding]:
    """Every binding of the main screen and its parts, in the order F1 lists them. (Read when asked:
    the message pane's module is not needed for the first frame.)"""
    from devic_tui.widgets.attachment_bar import AttachmentChip
    from devic_tui.widgets.transcript import TranscriptPane

    return [
        *SCREEN_BINDINGS,
        *(b for b in Composer.BINDINGS if isinstance(b, Binding)),
        *(b for b in TranscriptPane.BINDINGS if isinstance(b, Binding)),
        *(b for b in AttachmentChip.BINDINGS if isinstance(b, Binding)),
        *APP_BINDINGS,
    ]


def failure_text(error: BaseException) -> str:
    """What a person reads when a task failed: our errors say it themselves; a disk error says
    which file and why; anything else is named, and the log has the rest."""
    if isinstance(error, DevicTuiError):
        return str(error)
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror or error}{where}"
    return f"Something went wrong ({type(error).__name__}: {error}); the log has the details."


class DevicTuiApp(HandsUpFailures, App[None]):
    """The app. Given settings and a service (tests, the benches), it opens the main screen at once.
    Started from the command line (`DevicTuiApp.starting`), it first draws `StartScreen`, then reads
    the config and starts what it names in a thread, and swaps in the main screen when that is done."""

    CSS_PATH = "app.tcss"
    TITLE = "devic-tui"
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        config_path: Path | None = None,
        demo: bool = False,
        service: ChatService | None = None,
        first_frame: FirstFrame | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.config_path = config_path
        self.demo = demo
        self.service = service
        self.launch: Launch | None = None
        self.startup_error: BaseException | None = None
        """Why the app could not start (a config that cannot be used…): `run` has returned, the
        caller tells it."""
        self._froze = False
        self.keymap: dict[str, str] = {}
        self._first_frame = first_frame or FirstFrame()
        self._start_screen: StartScreen | None = None
        if demo:
            self.sub_title = "demo"
        if settings is not None and service is None:
            from devic_tui.service import ChatService

            self.service = ChatService(settings)

    @classmethod
    def starting(cls, config_path: Path, *, demo: bool = False) -> DevicTuiApp:
        """The app as the command line starts it: the first frame before anything is read."""
        from devic_tui.config_peek import peek

        return cls(config_path=config_path, demo=demo, first_frame=peek(config_path))

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

    @on(events.DeliveryComplete)
    def say_where_the_screenshot_went(self, event: events.DeliveryComplete) -> None:
        """Textual's own notice styles the path with markup, which our `notify` shows literally: say
        it here instead, styled, with the path kept as text."""
        if event.name != "screenshot" or event.path is None:
            return
        event.prevent_default()
        path = repr(str(event.path)).replace("[", "\\[")
        super().notify(f"Saved screenshot to [$text-success]{visible(path)}", title="Screenshot")

    def on_mount(self) -> None:
        # Rendering a streamed answer makes many short-lived objects. With CPython's default
        # thresholds that means full collections several times a second on a long answer, each
        # stalling the screen up to 200 ms; these keep young collections cheap and rare and made
        # no full collection during an 81 KB stream (bench/stream_mixed.py; README of bench/).
        # The third (50 -> 200) leaves a 1 MB answer streaming for a minute without one (each
        # ~130 ms), for ~10 MB more at peak (bench/stream_scale.py).
        gc.set_threshold(*GC_THRESHOLDS)
        if self.settings is not None and self.service is not None:
            from devic_tui.themes import load_theme_files

            themes, theme_notices = load_theme_files()
            self._apply_settings(self.settings, themes, [("Theme", n) for n in theme_notices])
            self.push_screen(self._main_screen(self.service))
            self._freeze_startup_objects()
            return
        if self._first_frame.theme in self.available_themes:
            self.theme = self._first_frame.theme
        self._start_screen = StartScreen(show_sidebar=self._first_frame.show_sidebar)
        self.push_screen(self._start_screen)
        self._start_screen.call_after_refresh(self._start)

    @work(group="start", exit_on_error=False)
    async def _start(self) -> None:
        """Read the config, start the demo's emulator and open the history in a thread (the first
        frame is already on screen and takes keys), then show the main screen."""
        assert self.config_path is not None
        config_path, demo = self.config_path, self.demo

        def prepare() -> tuple[Launch, list[Theme], list[str]]:
            from devic_tui.launch import prepare
            from devic_tui.themes import load_theme_files

            launch = prepare(config_path, demo=demo)
            import devic_tui.screens.main  # noqa: F401  (imported here, off the event loop)

            return launch, *load_theme_files()

        try:
            launch, themes, theme_notices = await asyncio.to_thread(prepare)
        except Exception as error:
            self.startup_error = error
            self.exit(return_code=2)
            return
        self.launch, self.settings, self.service = launch, launch.settings, launch.service
        notices = [("Config", warning) for warning in launch.warnings]
        self._apply_settings(self.settings, themes, [*notices, *(("Theme", n) for n in theme_notices)])
        start = self._start_screen
        assert start is not None
        while self.screen is not start:  # F1 or the palette, opened while starting
            await self.pop_screen()
        main = self._main_screen(self.service, carried=start.composer.text, send=start.send_when_open)
        await self.switch_screen(main)
        self._freeze_startup_objects()

    def _freeze_startup_objects(self) -> None:
        """What starting made (modules, classes, the config, the service) lives as long as the app:
        moved out of the collector's reach, a full collection walks only what came after. Without
        it, a full collection during a long answer stalled the screen ~200 ms (bench/stream_scale.py)."""
        gc.freeze()
        self._froze = True

    def _main_screen(self, service: ChatService, *, carried: str = "", send: bool = False) -> Screen[None]:
        from devic_tui.screens.main import MainScreen

        return MainScreen(service, carried=carried, send_carried=send)

    def _apply_settings(
        self, settings: Settings, themes: list[Theme], notices: list[tuple[str, str]]
    ) -> None:
        """The theme, theme files and keymap the config names, and what there is to say about them."""
        for theme in themes:
            self.register_theme(theme)
        for title, notice in notices:
            self.notify(notice, title=title, severity="warning", timeout=8)
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        elif settings.theme:
            self.notify(f"Theme '{settings.theme}' is unknown; using {self.theme}.", severity="warning")
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.keymap = settings.keymap_by_id()
        if self.keymap:
            self.set_keymap(self.keymap)
        known = {binding.id for binding in keyed_bindings()}
        for unknown in sorted(set(self.keymap) - known):
            self.notify(
                f"The keymap names '{unknown}', which is no key's id (F1 lists them).", severity="warning"
            )

    @on(WorkFailed)
    def _work_failed(self, event: WorkFailed) -> None:
        """The one place a task that failed is told: a notice, and the app goes on."""
        log.error("task %s failed", event.work, exc_info=event.error)
        self.notify(failure_text(event.error), title="That did not work", severity="error", timeout=10)

    def _theme_changed(self, theme: Theme) -> None:
        if self.config_path is None or (self.demo and not self.config_path.exists()):
            return
        from devic_tui.themes import save_theme_choice

        try:
            save_theme_choice(self.config_path, theme.name)
        except OSError as error:
            self.notify(
                f"Could not save the theme to {self.config_path}: {error.strerror}", severity="warning"
            )

    async def on_unmount(self) -> None:
        if self._froze:
            gc.unfreeze()  # collectable again once the app is gone (tests run many apps)
            self._froze = False
        if self.service is not None:
            await self.service.aclose()
        if self.launch is not None:
            await asyncio.to_thread(self.launch.stop)

    def applied_keys(self) -> list[tuple[str, str, str]]:
        """Every key of ours as the keymap leaves it: (keys as shown, what it does, binding id)."""
        keyed = keyed_bindings()
        bindings = BindingsMap(keyed)
        bindings.apply_keymap(self.keymap)
        keys_of: dict[str, list[str]] = {}
        for key, found in bindings.key_to_bindings.items():
            for binding in found:
                if binding.id:
                    keys_of.setdefault(binding.id, []).append(key)
        rows: list[tuple[str, str, str]] = []
        for binding in keyed:
            assert binding.id
            keys = keys_of.get(binding.id, [])
            shown = " / ".join(self.get_key_display(dataclasses.replace(binding, key=key)) for key in keys)
            rows.append(
                (shown or "(none)", binding.tooltip or binding.description or binding.action, binding.id)
            )
        return rows

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.applied_keys()))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        from devic_tui.screens.main import MainScreen

        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            shown = {binding_id: keys for keys, _, binding_id in self.applied_keys()}
            for binding in SCREEN_BINDINGS:
                action = getattr(screen, "action_" + binding.action)
                yield SystemCommand(
                    binding.description, f"{shown.get(binding.id or '', '')} · {binding.id}", action
                )
        yield SystemCommand("Help", "Show every key (F1)", self.action_help)
