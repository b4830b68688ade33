"""The message pane: a scrolling column of MessageViews that follows new text unless the person has
scrolled up to read (Textual's anchor), and keyboard movement between messages."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from devic_tui.widgets.message_view import MessageData, MessageView


class TranscriptPane(VerticalScroll):
    BINDINGS = [
        ("up,k", "previous_message", "Previous"),
        ("down,j", "next_message", "Next"),
    ]

    def on_mount(self) -> None:
        self.anchor()

    async def show(self, messages: list[MessageData], *, empty_hint: str = "") -> None:
        """Replace the pane's content with these messages."""
        await self.remove_children()
        if not messages:
            await self.mount(Static(empty_hint, classes="empty-hint"))
            return
        await self.mount_all([MessageView(data) for data in messages])
        self.anchor()

    async def add(self, data: MessageData) -> MessageView:
        for hint in self.query(".empty-hint"):
            await hint.remove()
        view = MessageView(data)
        await self.mount(view)
        return view

    def views(self) -> list[MessageView]:
        return list(self.query(MessageView))

    def _move(self, step: int) -> None:
        views = self.views()
        if not views:
            return
        focused = self.screen.focused
        index = views.index(focused) if isinstance(focused, MessageView) else len(views)
        target = views[max(0, min(len(views) - 1, index + step))]
        target.focus()
        target.scroll_visible(animate=False)

    def action_previous_message(self) -> None:
        self._move(-1)

    def action_next_message(self) -> None:
        self._move(1)
