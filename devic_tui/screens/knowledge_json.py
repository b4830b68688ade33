"""The dialog that asks for JSON data to add as an AI's knowledge: a name and a JSON object typed in
a text area, checked to be an object before it is returned. Returns (name, object), or None when
cancelled."""

from __future__ import annotations

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

JsonSource = tuple[str, dict[str, Any]]


def read_json_object(text: str) -> dict[str, Any]:
    """The object typed, or ValueError saying, for a person, why it is not one."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ValueError(f"This is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError('Knowledge takes a JSON object, like {"faq": [...]}, not a list or a value.')
    return data


class JsonSourceScreen(ModalScreen[JsonSource | None]):
    DEFAULT_CSS = """
    JsonSourceScreen { align: center middle; }
    JsonSourceScreen > Vertical {
        width: 80; max-width: 96%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    JsonSourceScreen Label { margin: 1 0 0 0; }
    JsonSourceScreen #json-data { height: 10; }
    JsonSourceScreen #json-error { color: $text-error; height: auto; }
    JsonSourceScreen .buttons { height: auto; align-horizontal: right; margin: 1 0 0 0; }
    JsonSourceScreen Button { margin: 0 0 0 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-json"),
        Binding("ctrl+s", "save", "Add", id="add-json"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Add JSON data"
            yield Label("Name")
            yield Input(placeholder="what the data is, e.g. products", id="json-name")
            yield Label("A JSON object")
            yield TextArea(id="json-data", language=None)
            yield Static("", id="json-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Add (ctrl+s)", variant="primary", id="json-add")
                yield Button("Cancel (esc)", id="json-cancel")

    def on_mount(self) -> None:
        self.query_one("#json-name", Input).focus()

    def action_save(self) -> None:
        error = self.query_one("#json-error", Static)
        name = self.query_one("#json-name", Input).value.strip()
        if not name:
            error.update("Give the data a name.")
            return
        try:
            data = read_json_object(self.query_one("#json-data", TextArea).text)
        except ValueError as invalid:
            error.update(str(invalid))
            return
        self.dismiss((name, data))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#json-add")
    def _add(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#json-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
