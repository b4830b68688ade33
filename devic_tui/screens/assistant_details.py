"""The assistant's details panel (F5): its name, description, model and its vendor, visibility, context
window, and for a Devs AI its greeting and instructions, as the server describes it; with the ways on
to its knowledge and to editing it (or making a new AI) where the server allows them. It draws what
the service read and returns the way chosen; the caller opens the next screen."""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from devic_tui.knowledge_models import AssistantDetails
from devic_tui.text_safety import one_line, visible

DetailsChoice = Literal["knowledge", "edit", "new"]

_OPTION_NAMES = {"temperature": "temperature", "topP": "top_p", "topK": "top_k", "maxTokens": "max_tokens"}


def detail_rows(details: AssistantDetails, server: str) -> list[tuple[str, str]]:
    """(label, value) of each detail the server gave, in the panel's order."""
    rows = [("Name", details.name), ("Id", details.id), ("Server", server)]
    if details.model:
        rows.append(("Model", details.model + (f" ({details.provider})" if details.provider else "")))
    elif details.provider:
        rows.append(("Vendor", details.provider))
    if details.visibility:
        rows.append(("Visibility", details.visibility.lower()))
    if details.context_window:
        rows.append(("Context", f"{details.context_window:,} tokens"))
    options = []
    for key, name in _OPTION_NAMES.items():
        value = details.options.get(key)
        if isinstance(value, list) and value:
            value = value[0]
        if value is not None:
            options.append(f"{name} {value}")
    if options:
        rows.append(("Options", ", ".join(options)))
    return [(label, one_line(value)) for label, value in rows]


class AssistantDetailsScreen(ModalScreen[DetailsChoice | None]):
    DEFAULT_CSS = """
    AssistantDetailsScreen { align: center middle; }
    AssistantDetailsScreen > Vertical {
        width: 96; max-width: 96%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    AssistantDetailsScreen VerticalScroll { height: auto; max-height: 30; }
    AssistantDetailsScreen .details-section { color: $text-muted; margin: 1 0 0 0; }
    AssistantDetailsScreen .details-text { margin: 0 0 0 2; }
    AssistantDetailsScreen Horizontal { height: auto; margin: 1 0 0 0; }
    AssistantDetailsScreen Button { margin: 0 1 0 0; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="close-details"),
        Binding("k", "choose('knowledge')", "Knowledge", id="details-knowledge"),
        Binding("e", "choose('edit')", "Edit", id="details-edit"),
        Binding("n", "choose('new')", "New AI", id="details-new"),
    ]

    def __init__(
        self, details: AssistantDetails, server: str, *, knowledge: bool = False, manage: bool = False
    ) -> None:
        super().__init__()
        self.details = details
        self.server = server
        self.knowledge = knowledge
        self.manage = manage

    def compose(self) -> ComposeResult:
        details = self.details
        rows = detail_rows(details, self.server)
        width = max(len(label) for label, _ in rows)
        table = Text()
        for index, (label, value) in enumerate(rows):
            table.append(("\n" if index else "") + f"{label:<{width}}  ", style="bold")
            table.append(value)
        with Vertical() as box:
            box.border_title = f"Assistant: {one_line(details.name)}"
            with VerticalScroll():
                yield Static(table, id="details-table")
                for title, text, name in (
                    ("Description", details.description, "description"),
                    ("Greeting (shown when a new chat opens)", details.introduction, "introduction"),
                    ("Instructions", details.instructions, "instructions"),
                ):
                    if text:
                        yield Static(title, classes="details-section")
                        yield Static(Text(visible(text)), classes="details-text", id=f"details-{name}")
            with Horizontal():
                if self.knowledge:
                    yield Button("Knowledge (k)", id="knowledge", variant="primary")
                if self.manage:
                    yield Button("Edit (e)", id="edit")
                    yield Button("New AI (n)", id="new")
                yield Button("Close (Esc)", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "close":
            self.dismiss(None)
        else:
            self.action_choose(event.button.id or "")

    def action_choose(self, choice: str) -> None:
        allowed = {"knowledge": self.knowledge, "edit": self.manage, "new": self.manage}
        if allowed.get(choice):
            self.dismiss(choice)  # type: ignore[arg-type]
