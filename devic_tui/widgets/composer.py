"""The composer: a multi-line TextArea where Enter sends and Ctrl+J or Alt+Enter insert a newline
(Shift+Enter cannot be told apart from Enter in most terminals). Both are bindings with ids, so a
keymap can move them; sending is a priority binding, so the TextArea never turns it into a newline
first."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from devic_tui.widgets.typing_clock import TYPING

IDLE_HINT = "Enter send · Ctrl+J newline"


class Composer(TextArea):
    BINDINGS = [
        Binding("enter", "send", "Send the message", id="send", show=False, priority=True),
        Binding("ctrl+j,alt+enter", "newline", "New line in the message", show=False, id="newline"),
    ]

    @dataclass
    class Submitted(Message):
        """The person asked to send what they wrote."""

        composer: Composer
        text: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id,
            classes=classes,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=True,
        )
        self.border_title = "Message"
        self.border_subtitle = IDLE_HINT
        self._queued = 0

    async def _on_key(self, event: events.Key) -> None:
        TYPING.typed()
        await super()._on_key(event)

    def action_send(self) -> None:
        # A priority binding runs as soon as the app reads the key, while keys typed just before
        # it may still wait in this widget's queue: send once they are in.
        self.call_later(self._send)

    def _send(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        self.insert("\n")

    def set_text(self, text: str) -> None:
        """Replace what is written, with the cursor at the end (ready to go on typing)."""
        self.load_text(text)
        self.move_cursor(self.document.end)

    def give_back(self, text: str) -> None:
        """Words that were not sent come back: before what is being written now, if anything."""
        if not text.strip():
            return
        current = self.text
        self.set_text(f"{text}\n\n{current}" if current.strip() else text)

    def set_busy(self, busy: bool, queued: int = 0) -> None:
        """Look busy while an answer streams, yet stay editable: Enter then queues."""
        self._queued = queued
        self.set_class(busy, "-busy")
        self._subtitle()

    def set_editing(self, editing: bool) -> None:
        """The composer holds one of the person's earlier messages: sending makes a new branch."""
        self.set_class(editing, "-editing")
        self.border_title = (
            "Editing a message: Enter sends it as a new branch · Esc cancels" if editing else "Message"
        )

    @property
    def editing(self) -> bool:
        return self.has_class("-editing")

    def set_offline(self, offline: bool) -> None:
        """The chat's server cannot be reached: reading only, the draft is kept for later."""
        self.set_class(offline, "-offline")
        self._subtitle()

    def _subtitle(self) -> None:
        if self.has_class("-busy"):
            queued = f" · {self._queued} queued" if self._queued else ""
            self.border_subtitle = f"answering…{queued} · Enter queues · Esc stops"
        elif self.has_class("-offline"):
            self.border_subtitle = "server unreachable: read-only, retrying"
        else:
            self.border_subtitle = IDLE_HINT
