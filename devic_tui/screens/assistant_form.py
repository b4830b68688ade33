"""The form that creates a Devs AI or edits one: its name, description, instructions, greeting,
model, visibility, sampling options and three switches, checked (required fields, numbers in range)
before anything is sent. An edit sends the whole object, starting from the AI's current values.
What the server refuses (a read-only key, a bad value) shows in the form, the typing kept. Returns
the AI as the server now describes it, or None when cancelled."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static, TextArea

from devic_tui.errors import DevicTuiError
from devic_tui.knowledge_models import AssistantDetails, AssistantDraft
from devic_tui.service import ChatService
from devic_tui.text_safety import one_line, visible

VISIBILITIES = ("PRIVATE", "GROUP", "ORGANIZATION", "ANYONE_WITH_LINK")
"""What the Devs platform takes as an AI's visibility."""
_LINES = (("name", "Name"), ("description", "Description"), ("model_id", "Model id (empty: the default)"))
_TEXTS = (("instructions", "Instructions"), ("introduction", "Introduction (the greeting of a new chat)"))
_NUMBERS = (
    ("temperature", "Temperature", "0 to 2"),
    ("top_p", "Top p", "above 0, up to 1"),
    ("top_k", "Top k", "above 0"),
    ("max_tokens", "Max tokens", "above 0"),
)
_SWITCHES = (
    ("generate_citations", "Generate citations"),
    ("chat_logs_visible", "Chat logs visible"),
    ("intermediate_steps_visible", "Intermediate steps visible"),
)
_REQUIRED = ("name", "description", "instructions")
_LABELS = {name: label for name, label, *_ in (*_LINES, *_TEXTS, *_NUMBERS, *_SWITCHES)} | {
    "visibility": "Visibility"
}
EMPTY_DRAFT = AssistantDraft(name="", description="", instructions="")


def problems_of(invalid: ValidationError) -> str:
    """A line per wrong field, named as the form names it."""
    lines = []
    for item in invalid.errors(include_url=False, include_input=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        lines.append(f"{_LABELS.get(field, field).split(' (')[0]}: {item['msg']}")
    return "\n".join(lines)


class AssistantFormScreen(ModalScreen[AssistantDetails | None]):
    DEFAULT_CSS = """
    AssistantFormScreen { align: center middle; }
    AssistantFormScreen > Vertical {
        width: 90; max-width: 96%; height: 92%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    AssistantFormScreen VerticalScroll { height: 1fr; }
    AssistantFormScreen Label { margin: 1 0 0 0; }
    AssistantFormScreen TextArea { height: 5; }
    AssistantFormScreen .row { height: auto; }
    AssistantFormScreen .cell { width: 1fr; height: auto; margin: 0 1 0 0; }
    AssistantFormScreen .cell Input { width: 100%; }
    AssistantFormScreen #assistant-error { color: $text-error; height: auto; }
    AssistantFormScreen .buttons { height: auto; align-horizontal: right; }
    AssistantFormScreen Button { margin: 0 0 0 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-assistant"),
        Binding("ctrl+s", "save", "Save", id="save-assistant"),
    ]

    def __init__(self, service: ChatService, server: str, details: AssistantDetails | None) -> None:
        super().__init__()
        self.service = service
        self.server = server
        self.details = details
        self.seed = EMPTY_DRAFT if details is None else service.edit_draft(server, details)

    def compose(self) -> ComposeResult:
        seed = self.seed
        title = "New AI" if self.details is None else f"Edit {one_line(self.details.name)}"
        with Vertical() as box:
            box.border_title = f"{title} · {one_line(self.server)}"
            with VerticalScroll():
                for name, label in _LINES:
                    yield Label(label + (" *" if name in _REQUIRED else ""))
                    yield Input(value=getattr(seed, name) or "", id=f"assistant-{name}")
                for name, label in _TEXTS:
                    yield Label(label + (" *" if name in _REQUIRED else ""))
                    yield TextArea(getattr(seed, name) or "", id=f"assistant-{name}", soft_wrap=True)
                yield Label("Visibility")
                choices = list(
                    dict.fromkeys((*VISIBILITIES, *([seed.visibility] if seed.visibility else [])))
                )
                yield Select(
                    [(one_line(value), value) for value in choices],
                    value=seed.visibility or Select.NULL,
                    prompt="(the server's default)",
                    id="assistant-visibility",
                )
                with Horizontal(classes="row"):
                    for name, label, hint in _NUMBERS:
                        with Vertical(classes="cell"):
                            yield Label(label)
                            value = getattr(seed, name)
                            yield Input(
                                "" if value is None else str(value), placeholder=hint, id=f"assistant-{name}"
                            )
                with Horizontal(classes="row"):
                    for name, label in _SWITCHES:
                        yield Checkbox(label, bool(getattr(seed, name)), id=f"assistant-{name}")
            yield Static("", id="assistant-error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="assistant-save")
                yield Button("Cancel (esc)", id="assistant-cancel")

    def on_mount(self) -> None:
        self.query_one("#assistant-name", Input).focus()

    def read(self) -> AssistantDraft:
        """The draft as typed, over the seed (so an edit keeps what the form does not show);
        ValueError or ValidationError when something is missing or out of range."""
        values: dict[str, Any] = {}
        for name, _ in _LINES:
            values[name] = self.query_one(f"#assistant-{name}", Input).value.strip()
        for name, _ in _TEXTS:
            values[name] = self.query_one(f"#assistant-{name}", TextArea).text.strip()
        missing = [_LABELS[name] for name in _REQUIRED if not values[name]]
        if missing:
            raise ValueError(f"Fill in: {', '.join(missing)}.")
        values["model_id"] = values["model_id"] or None
        values["introduction"] = values["introduction"] or None
        visibility = self.query_one("#assistant-visibility", Select).value
        values["visibility"] = visibility if isinstance(visibility, str) else None
        for name, _, _ in _NUMBERS:
            values[name] = self.query_one(f"#assistant-{name}", Input).value.strip() or None
        for name, _ in _SWITCHES:
            checked = self.query_one(f"#assistant-{name}", Checkbox).value
            # An unchecked box the AI never set stays unset, not sent as an explicit false.
            values[name] = True if checked else (None if getattr(self.seed, name) is None else False)
        return AssistantDraft.model_validate({**self.seed.model_dump(), **values})

    def action_save(self) -> None:
        error = self.query_one("#assistant-error", Static)
        try:
            draft = self.read()
        except ValidationError as invalid:
            error.update(problems_of(invalid))
            return
        except ValueError as invalid:
            error.update(str(invalid))
            return
        error.update("Saving…")
        self.send(draft)

    @work(group="assistant-save", exclusive=True, exit_on_error=False)
    async def send(self, draft: AssistantDraft) -> None:
        try:
            if self.details is None:
                saved = await self.service.create_assistant(self.server, draft)
            else:
                saved = await self.service.update_assistant(self.server, self.details.id, draft)
        except DevicTuiError as refused:
            self.query_one("#assistant-error", Static).update(f"Not saved: {visible(str(refused))}")
            return
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#assistant-save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#assistant-cancel")
    def _cancel(self) -> None:
        self.action_cancel()
