"""Small modal dialogs the chat actions share: a yes/no confirmation for destructive actions, a
choice among a few ways on, and a one-line text prompt (rename, tags). All are keyboard-first:
y/n/Esc, a key per choice, Enter/Esc."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

_DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 70; max-width: 95%; height: auto;
    border: round $accent; background: $surface; padding: 1 2;
}}
{name} .dialog-text {{ height: auto; margin: 0 0 1 0; }}
{name} .dialog-buttons {{ height: auto; align-horizontal: right; }}
{name} Button {{ margin: 0 0 0 1; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Asks before a destructive action; returns True only for an explicit yes."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, title: str, text: str, *, yes: str = "Yes") -> None:
        super().__init__()
        self.dialog_title = title
        self.text = text
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static(self.text, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="confirm-yes")
                yield Button("No (n)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text; returns it (stripped), or None when cancelled."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="PromptScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-prompt")]

    def __init__(self, title: str, text: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.dialog_title = title
        self.text = text
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static(self.text, classes="dialog-text", markup=False)
            yield Input(
                value=self.value, placeholder=self.placeholder, select_on_focus=True, id="prompt-input"
            )

    def on_mount(self) -> None:
        # Auto focus is skipped while the terminal window is unfocused, and a focus given back when
        # the window regains it does not select; so focus and select here: typing replaces the old
        # value, End or an arrow key keeps it.
        field = self.query_one("#prompt-input", Input)
        field.focus()
        field.select_all()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """Asks to pick one of a few ways on: each a button with its own key; Esc is None (the last
    choice is meant to be the safe one and has the focus)."""

    DEFAULT_CSS = _DIALOG_CSS.format(name="ChoiceScreen")
    BINDINGS = [Binding("escape", "choose(None)", "Cancel", id="cancel-choice")]

    def __init__(self, title: str, text: str, choices: list[tuple[str, str, str]]) -> None:
        """`choices`: (value, label, key) each."""
        super().__init__()
        self.dialog_title = title
        self.text = text
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.dialog_title
            yield Static(self.text, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                for value, label, key in self.choices:
                    yield Button(f"{label} ({'Esc' if key == 'escape' else key})", id=f"choice-{value}")

    def on_mount(self) -> None:
        self.query(Button).last().focus()

    def on_key(self, event: events.Key) -> None:
        for value, _, key in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return

    def action_choose(self, value: str | None) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-") or None)
