"""The composer: a multi-line TextArea where Enter sends and Ctrl+J or Alt+Enter insert a newline
(Shift+Enter cannot be told apart from Enter in most terminals)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea


class Composer(TextArea):
    BINDINGS = [
        Binding("ctrl+j", "newline", "Newline", id="composer.newline"),
        Binding("alt+enter", "newline", "Newline", show=False, id="composer.newline-alt"),
    ]

    @dataclass
    class Submitted(Message):
        """The person pressed Enter to send what they wrote."""

        composer: Composer
        text: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, tab_behavior="focus", show_line_numbers=False, compact=True)
        self.border_title = "Message"
        self.border_subtitle = "Enter send · Ctrl+J newline"

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")

    def set_busy(self, busy: bool) -> None:
        """Look disabled while an answer streams, yet stay editable for the next message."""
        self.set_class(busy, "-busy")
        self._subtitle()

    def set_offline(self, offline: bool) -> None:
        """The chat's server cannot be reached: reading only, the draft is kept for later."""
        self.set_class(offline, "-offline")
        self._subtitle()

    def _subtitle(self) -> None:
        if self.has_class("-busy"):
            self.border_subtitle = "answering… Esc stops"
        elif self.has_class("-offline"):
            self.border_subtitle = "server unreachable: read-only, retrying"
        else:
            self.border_subtitle = "Enter send · Ctrl+J newline"
