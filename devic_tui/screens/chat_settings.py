"""The chat settings dialog: the system prompt, the sampling parameters, the context window and the
Devic metadata of the chat on screen, seeded from what the chat holds (the config's for the assistant
when it started). It says which of them the chat's API takes, and leaves the others unsendable
rather than pretend; an empty field means "not set" (the server's default). Returns the new
`ChatSettings`, or None when cancelled."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from devic_tui.models import ChatSettings

_NUMBERS: tuple[tuple[str, str, str], ...] = (
    ("temperature", "Temperature", "0 to 2"),
    ("top_p", "Top p", "above 0, up to 1"),
    ("max_tokens", "Max tokens", "tokens per answer"),
    ("context_window", "Context window", "the server's figure, else this"),
)
_SENT = ("system_prompt", "temperature", "top_p", "max_tokens", "metadata")


def what_is_taken(api: str, taken: frozenset[str]) -> str:
    """A sentence on which settings the chat's API takes (`api` names it for a person)."""
    if taken >= set(_SENT) - {"metadata"}:
        return f"The {api} API takes the system prompt and the parameters."
    if taken == {"metadata"}:
        return (
            f"The {api} API takes only metadata: the assistant's instructions and model are set on "
            "the server, so the other fields cannot be sent."
        )
    if not taken:
        return (
            f"The {api} API takes none of these: the assistant is set up on the server. "
            "Only the context window (for the meter) applies."
        )
    return f"The {api} API takes: {', '.join(sorted(taken))}."


class ChatSettingsScreen(ModalScreen[ChatSettings | None]):
    DEFAULT_CSS = """
    ChatSettingsScreen { align: center middle; }
    ChatSettingsScreen > Vertical {
        width: 84; max-width: 96%; height: auto; max-height: 92%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ChatSettingsScreen VerticalScroll { height: auto; max-height: 100%; }
    ChatSettingsScreen .taken { color: $text-muted; margin: 0 0 1 0; }
    ChatSettingsScreen Label { margin: 1 0 0 0; }
    ChatSettingsScreen #settings-system_prompt { height: 6; }
    ChatSettingsScreen #settings-metadata { height: 4; }
    ChatSettingsScreen .numbers { height: auto; }
    ChatSettingsScreen .number { width: 1fr; height: auto; margin: 0 1 0 0; }
    ChatSettingsScreen .number Input { width: 100%; }
    ChatSettingsScreen #settings-error { color: $text-error; height: auto; }
    ChatSettingsScreen .buttons { height: auto; align-horizontal: right; margin: 1 0 0 0; }
    ChatSettingsScreen Button { margin: 0 0 0 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-settings"),
        Binding("ctrl+s", "save", "Save", id="save-settings"),
    ]

    def __init__(
        self,
        settings: ChatSettings,
        *,
        where: str,
        api: str,
        taken: frozenset[str],
        configured: ChatSettings | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.where = where
        self.api = api
        self.taken = taken
        self.configured = configured

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Chat settings · {self.where}"
            with VerticalScroll():
                yield Static(what_is_taken(self.api, self.taken), classes="taken", markup=False)
                yield Label("System prompt (sent first in every request)")
                yield TextArea(
                    id="settings-system_prompt",
                    disabled="system_prompt" not in self.taken,
                    soft_wrap=True,
                )
                with Horizontal(classes="numbers"):
                    for name, label, hint in _NUMBERS:
                        with Vertical(classes="number"):
                            yield Label(label)
                            yield Input(
                                placeholder=hint,
                                id=f"settings-{name}",
                                disabled=name != "context_window" and name not in self.taken,
                            )
                yield Label("Metadata (a JSON object, sent with each message)")
                yield TextArea(
                    id="settings-metadata",
                    language=None,
                    disabled="metadata" not in self.taken,
                )
                yield Static("", id="settings-error", markup=False)
            with Horizontal(classes="buttons"):
                if self.configured is not None:
                    yield Button("From the config", id="settings-reset")
                yield Button("Save (ctrl+s)", variant="primary", id="settings-save")
                yield Button("Cancel (esc)", id="settings-cancel")

    def on_mount(self) -> None:
        self._fill(self.settings)
        for widget in self.query("TextArea, Input"):
            if not widget.disabled:
                widget.focus()
                break

    def _read(self) -> ChatSettings:
        values: dict[str, Any] = {}
        prompt = self.query_one("#settings-system_prompt", TextArea).text
        values["system_prompt"] = prompt if prompt.strip() else None
        for name, _, _ in _NUMBERS:
            raw = self.query_one(f"#settings-{name}", Input).value.strip()
            values[name] = raw or None
        metadata = self.query_one("#settings-metadata", TextArea).text.strip()
        if metadata:
            try:
                values["metadata"] = json.loads(metadata)
            except ValueError as error:
                raise ValueError(f"Metadata is not JSON: {error}") from None
            if not isinstance(values["metadata"], dict):
                raise ValueError('Metadata must be a JSON object, like {"userId": "u1"}.')
        return ChatSettings.model_validate(values)

    def _fill(self, settings: ChatSettings) -> None:
        self.query_one("#settings-system_prompt", TextArea).text = settings.system_prompt or ""
        for name, _, _ in _NUMBERS:
            value = getattr(settings, name)
            self.query_one(f"#settings-{name}", Input).value = "" if value is None else str(value)
        self.query_one("#settings-metadata", TextArea).text = (
            json.dumps(settings.metadata) if settings.metadata else ""
        )

    def action_save(self) -> None:
        error = self.query_one("#settings-error", Static)
        try:
            settings = self._read()
        except ValidationError as invalid:
            labels = {name: label for name, label, _ in _NUMBERS}
            problems = [
                f"{labels.get(str(item['loc'][0]), item['loc'][0])}: {item['msg']}"
                for item in invalid.errors(include_url=False, include_input=False)
            ]
            error.update("\n".join(problems))
            return
        except ValueError as invalid:
            error.update(str(invalid))
            return
        self.dismiss(settings)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#settings-save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#settings-cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#settings-reset")
    def _reset(self) -> None:
        if self.configured is not None:
            self._fill(self.configured)
            self.query_one("#settings-error", Static).update("The config's values: save to use them.")
