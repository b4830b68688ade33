"""The tool-call form: when an assistant asks for input through a tool call (Devs' `tool.call`, Devic's
pending tool calls), one field per requested input; submitting returns the answers, cancelling
returns None (and nothing is sent).

Keyboard-first: it opens on the first field, Enter moves to the next field and submits from the last
one (a choice in a last Select or Checkbox moves to Submit instead), Ctrl+S submits, Esc cancels."""

from __future__ import annotations

import json

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from devic_tui.providers.base import ToolOutput
from devic_tui.providers.events import ToolCall, ToolCallRequest, ToolField
from devic_tui.text_safety import one_line, visible


def fields_of(call: ToolCall) -> list[ToolField]:
    """The fields to ask for: those the server listed, else one answer (a function call's
    arguments are shown above it, as the question being asked)."""
    if call.fields:
        return call.fields
    return [ToolField(name="answer", label="Your answer", required=True)]


def arguments_text(call: ToolCall) -> str:
    """A function call's arguments as `name: value` lines (or as sent, when not a JSON object)."""
    if not call.arguments or call.fields:
        return ""
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return call.arguments
    if not isinstance(arguments, dict):
        return call.arguments
    return "\n".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value)}" for key, value in arguments.items()
    )


class ToolFormScreen(ModalScreen[list[ToolOutput] | None]):
    DEFAULT_CSS = """
    ToolFormScreen { align: center middle; }
    #tool-form { width: 80; max-width: 96%; height: auto; max-height: 90%; border: round $accent;
                 background: $surface; padding: 0 1; }
    #tool-form Label { margin-top: 1; }
    #tool-error { color: $text-error; height: auto; }
    .tool-title { text-style: bold; margin-top: 1; }
    .tool-arguments { color: $text-secondary; padding: 0 2; }
    #tool-buttons { height: 3; align-horizontal: right; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cancel-form"),
        Binding("ctrl+s", "submit", "Submit", id="submit-form"),
    ]
    # Not the default "*": that would focus the scrolling form itself, not its first field.
    AUTO_FOCUS = ".tool-field"

    def __init__(self, request: ToolCallRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="tool-form") as form:
            form.border_title = "The assistant asks for input"
            for index, call in enumerate(self.request.calls):
                yield Static(visible(call.description or call.name), markup=False, classes="tool-title")
                if arguments := arguments_text(call):
                    yield Static(visible(arguments), markup=False, classes="tool-arguments")
                for number, field in enumerate(fields_of(call)):
                    label = (field.label or field.name) + (" *" if field.required else "")
                    yield Label(one_line(label), markup=False)
                    yield self._input_for(_field_id(index, number), field)
            yield Static("", id="tool-error", markup=False)
            with Horizontal(id="tool-buttons"):
                yield Button("Submit", variant="primary", id="tool-submit")
                yield Button("Cancel", id="tool-cancel")

    def _input_for(self, widget_id: str, field: ToolField) -> Widget:
        """The widget for one field; its `name` is the field's name as the server gave it."""
        if field.type == "boolean":
            # Labels and choices come from the server: literal text, never markup.
            label = Content(one_line(field.label or field.name))
            return Checkbox(label, id=widget_id, name=field.name, classes="tool-field")
        if field.type == "choice" and field.choices:
            options = [(Text(one_line(choice)), choice) for choice in field.choices]
            return Select(options, id=widget_id, name=field.name, classes="tool-field")
        restrict = r"-?[0-9]*\.?[0-9]*" if field.type == "number" else None
        return Input(id=widget_id, name=field.name, restrict=restrict, classes="tool-field")

    def _fields(self) -> list[Widget]:
        """The answer widgets, in the order they are shown."""
        return list(self.query(".tool-field").results(Widget))

    def on_mount(self) -> None:
        # AUTO_FOCUS does nothing while the terminal window is not focused (an answer may end with
        # a tool call while the person looks elsewhere), so focus the first field here as well.
        if fields := self._fields():
            fields[0].focus()

    @on(Input.Submitted)
    def _next_or_submit(self, event: Input.Submitted) -> None:
        event.stop()
        fields = self._fields()
        if event.input not in fields:
            return
        position = fields.index(event.input)
        if position == len(fields) - 1:
            self.action_submit()
        else:
            fields[position + 1].focus()

    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _chosen(self, event: Select.Changed | Checkbox.Changed) -> None:
        fields = self._fields()
        # Only a choice the person made (the field has focus), not a value set from code.
        if fields and event.control is fields[-1] and event.control.has_focus_within:
            self.query_one("#tool-submit", Button).focus()

    def _value(self, widget_id: str) -> str:
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Checkbox):
            return "true" if widget.value else "false"
        if isinstance(widget, Select):
            return "" if widget.is_blank() else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value.strip()

    def action_submit(self) -> None:
        outputs: list[ToolOutput] = []
        for index, call in enumerate(self.request.calls):
            values: dict[str, str] = {}
            for number, field in enumerate(fields_of(call)):
                value = self._value(_field_id(index, number))
                if field.required and not value:
                    self.query_one("#tool-error", Static).update(f"'{field.label or field.name}' is required")
                    return
                values[field.name] = value
            output = next(iter(values.values())) if len(values) == 1 else json.dumps(values)
            outputs.append(ToolOutput(tool_call_id=call.id, output=output))
        self.dismiss(outputs)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "tool-submit":
            self.action_submit()
        else:
            self.action_cancel()


def _field_id(call_index: int, field_index: int) -> str:
    """A widget id made of positions: a server's field names need not be valid ids, nor unique."""
    return f"tool-{call_index}-{field_index}"
