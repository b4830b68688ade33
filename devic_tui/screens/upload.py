"""The file dialog: a path input with completion beside a directory tree, the size and type of the
file under the cursor, and a list of chosen files. Returns the chosen paths; the caller checks them
against what the server takes (size limit, readable, not empty) and says why it refuses one."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, DirectoryTree, Input, Label, ListItem, ListView, Static

from devic_tui.attachments import human_size


class PathSuggester(Suggester):
    """Completes the last part of a path from the entries of its folder."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)


def complete_path(value: str) -> str | None:
    if not value:
        return None
    path = Path(value).expanduser()
    folder, stem = (path, "") if value.endswith(os.sep) else (path.parent, path.name)
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.name.startswith(stem))
    except OSError:
        return None
    if not names:
        return None
    head = value[: len(value) - len(stem)] if stem else value
    completed = head + names[0]
    return completed + (os.sep if (folder / names[0]).is_dir() else "")


def describe(path: Path) -> str:
    try:
        if path.is_dir():
            return f"{path.name}/  folder"
        size = path.stat().st_size
    except OSError as error:
        return f"{path.name}: cannot be read ({error.strerror})"
    kind = mimetypes.guess_type(path.name)[0] or "unknown type"
    return f"{path.name}  {human_size(size)}  {kind}"


class UploadScreen(ModalScreen[list[Path] | None]):
    DEFAULT_CSS = """
    UploadScreen { align: center middle; }
    #upload-dialog { width: 100; max-width: 98%; height: 80%; border: round $accent; background: $surface; }
    #upload-note { color: $text-muted; padding: 0 1; }
    #upload-body { height: 1fr; }
    #upload-tree { width: 1fr; }
    #upload-side { width: 1fr; padding: 0 1; }
    #upload-info { height: 2; color: $text-secondary; }
    #upload-chosen { height: 1fr; border: round $panel; }
    #upload-buttons { height: 3; align-horizontal: right; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-upload"),
        Binding("ctrl+s", "attach", "Attach chosen", id="attach-chosen"),
        Binding("delete", "remove", "Remove chosen", id="remove-chosen", show=False),
    ]

    def __init__(self, start: Path, note: str, *, title: str = "Attach files", verb: str = "Attach") -> None:
        super().__init__()
        self.start = start
        self.note = note
        self.title_text = title
        self.verb = verb
        self.chosen: list[Path] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="upload-dialog") as dialog:
            dialog.border_title = self.title_text
            yield Static(self.note, id="upload-note", markup=False)
            with Horizontal(id="upload-body"):
                yield DirectoryTree(self.start, id="upload-tree")
                with Vertical(id="upload-side"):
                    yield Input(
                        value=str(self.start) + os.sep,
                        placeholder="path (→ completes, Enter adds)",
                        suggester=PathSuggester(),
                        id="upload-path",
                    )
                    yield Static("", id="upload-info", markup=False)
                    yield Label("Chosen (Delete removes):")
                    yield ListView(id="upload-chosen")
            with Horizontal(id="upload-buttons"):
                yield Button(self.verb, variant="primary", id="upload-attach")
                yield Button("Cancel", id="upload-cancel")

    def on_mount(self) -> None:
        self.query_one("#upload-path", Input).focus()

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.add(event.path)

    @on(DirectoryTree.NodeHighlighted)
    def _highlighted(self, event: DirectoryTree.NodeHighlighted[object]) -> None:
        data = event.node.data
        path = getattr(data, "path", None)
        if isinstance(path, Path):
            self.show_info(path)

    @on(Input.Changed, "#upload-path")
    def _typed(self, event: Input.Changed) -> None:
        self.show_info(Path(event.value).expanduser())

    @on(Input.Submitted, "#upload-path")
    def _submitted(self, event: Input.Submitted) -> None:
        path = Path(event.value).expanduser()
        if path.is_dir():
            self.query_one(DirectoryTree).path = path
            return
        self.add(path)

    @work(exclusive=True, group="info")
    async def show_info(self, path: Path) -> None:
        text = await asyncio.to_thread(describe, path) if path.name else ""
        self.query_one("#upload-info", Static).update(text)

    def add(self, path: Path) -> None:
        if path in self.chosen:
            return
        self.chosen.append(path)
        self.query_one("#upload-chosen", ListView).append(ListItem(Label(str(path), markup=False)))

    def action_remove(self) -> None:
        chosen = self.query_one("#upload-chosen", ListView)
        index = chosen.index
        if index is None or not self.chosen:
            return
        self.chosen.pop(index)
        chosen.remove_items([index])

    def action_attach(self) -> None:
        if not self.chosen:
            value = self.query_one("#upload-path", Input).value.strip()
            if value and not Path(value).expanduser().is_dir():
                self.chosen.append(Path(value).expanduser())
        self.dismiss(list(self.chosen) or None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#upload-attach")
    def _attach_pressed(self) -> None:
        self.action_attach()

    @on(Button.Pressed, "#upload-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
