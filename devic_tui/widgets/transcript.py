"""The message pane: a scrolling column of MessageViews that follows new text unless the person has
scrolled up to read (Textual's anchor), with keyboard movement between messages.

A long conversation is not mounted whole: every mounted widget costs on every frame
(shared/research/STREAMING.md), so the pane keeps all messages as data and mounts a window of them,
growing it upward when the person reaches the top, and jumping it to either end with Home/End.
The answer being written (at most one per pane) streams from its source whichever window shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from devic_tui.text_safety import visible
from devic_tui.widgets.message_view import MessageData, MessageView

MessageAction = Literal["edit", "regenerate", "previous", "next", "fork"]

WINDOW = 16
"""How many messages are mounted at first, and how many more each step back in time adds."""


class TranscriptPane(VerticalScroll):
    BINDINGS = [
        Binding("up,k", "previous_message", "Previous message", show=False, id="previous-message"),
        Binding("down,j", "next_message", "Next message", show=False, id="next-message"),
        Binding("home,g", "jump_top", "First message", show=False, id="first-message"),
        Binding("end,G", "jump_bottom", "Last message", show=False, id="last-message"),
        # Short descriptions for the footer; F1 lists the tooltips.
        Binding(
            "e",
            "on_message('edit')",
            "Edit",
            tooltip="Edit this message of yours: send it changed as a new branch",
            id="edit-message",
        ),
        Binding(
            "r",
            "on_message('regenerate')",
            "Answer again",
            tooltip="Answer again: a new answer beside this one, which stays",
            id="regenerate",
        ),
        Binding(
            "left_square_bracket",
            "on_message('previous')",
            "Previous alt.",
            tooltip="The previous alternative of this message (the chat follows its branch)",
            id="previous-alternative",
        ),
        Binding(
            "right_square_bracket",
            "on_message('next')",
            "Next alt.",
            tooltip="The next alternative of this message (the chat follows its branch)",
            id="next-alternative",
        ),
        Binding(
            "f",
            "on_message('fork')",
            "Fork",
            tooltip="Fork: a new chat holding the conversation up to this message",
            id="fork-here",
        ),
    ]

    @dataclass
    class Act(Message):
        """A key asked for something to be done with the message in focus."""

        pane: TranscriptPane
        action: MessageAction
        message_id: str

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.messages: list[MessageData] = []
        self._first = 0
        """Index in `messages` of the first mounted message."""
        self._growing = False
        self._live: tuple[str, Callable[[], str]] | None = None
        """The answer being written: its message id, and where its text is read from."""
        self._live_view: MessageView | None = None

    def on_mount(self) -> None:
        self.anchor()

    def focused_message(self) -> MessageView | None:
        focused = self.screen.focused
        return focused if isinstance(focused, MessageView) and focused.parent is self else None

    def action_on_message(self, action: MessageAction) -> None:
        view = self.focused_message()
        if view is not None:
            self.post_message(self.Act(self, action, view.data.id))

    async def show(
        self,
        messages: list[MessageData],
        *,
        empty_hint: str = "",
        focus_id: str | None = None,
        live: tuple[str, Callable[[], str]] | None = None,
    ) -> None:
        """Replace the pane's content with these messages, showing the newest (or `focus_id`);
        `live` names the answer being written among them, and where its text is read from."""
        self.messages = list(messages)
        self._live_view = None
        if live is not None:
            self._live = live
        if not messages:
            await self.remove_children()
            self._first = 0
            # Hints quote assistant names and descriptions from servers: show them literally.
            await self.mount(Static(visible(empty_hint), classes="empty-hint", markup=False))
            return
        index = next((i for i, m in enumerate(messages) if m.id == focus_id), None)
        if index is None:
            await self._mount_window(max(0, len(messages) - WINDOW), len(messages))
            self.anchor()
            return
        start = max(0, index - WINDOW // 2)
        await self._mount_window(start, min(len(messages), start + WINDOW))
        self.release_anchor()
        target = self.view_for(messages[index].id)
        if target is not None:
            target.focus(scroll_visible=False)
            self.call_after_refresh(target.scroll_visible, animate=False, top=True)

    async def _mount_window(self, start: int, end: int) -> None:
        self._first = start
        with self.app.batch_update():
            await self.remove_children()
            await self.mount_all([self._view(data) for data in self.messages[start:end]])

    def _view(self, data: MessageData) -> MessageView:
        live = self._live
        if live is None or live[0] != data.id:
            return MessageView(data)
        self._live_view = MessageView(data, source=live[1])
        return self._live_view

    async def add(self, data: MessageData, *, source: Callable[[], str] | None = None) -> MessageView:
        """Append a new message at the bottom (the window first returns there if it had moved);
        with a `source`, it is the answer being written, streamed from there."""
        for hint in self.query(".empty-hint"):
            await hint.remove()
        views = self.views()
        if views and views[-1].data.id != self.messages[-1].id:
            await self._mount_window(max(0, len(self.messages) - WINDOW), len(self.messages))
        self.messages.append(data)
        if source is not None:
            self._live = (data.id, source)
        view = self._view(data)
        await self.mount(view)
        return view

    def follow(self) -> None:
        """Go to the newest message and keep following what arrives (the person just sent one)."""
        self.scroll_end(animate=False)
        self.anchor()

    def live_view(self) -> MessageView | None:
        """The view of the answer being written, when it is mounted (asked on every chunk: kept,
        not looked up among the mounted views)."""
        view = self._live_view
        return view if view is not None and view.parent is self else None

    async def end_live(self, data: MessageData) -> None:
        """The answer being written is finished: `data` is what it ended as."""
        view = self.live_view()
        self._live = None
        self._live_view = None
        for index, message in enumerate(self.messages):
            if message.id == data.id:
                self.messages[index] = data
        if view is not None:
            await view.end_stream(data)

    def views(self) -> list[MessageView]:
        return list(self.query(MessageView))

    def view_for(self, message_id: str) -> MessageView | None:
        return next((v for v in self.views() if v.data.id == message_id), None)

    @property
    def mounted_range(self) -> tuple[int, int]:
        return self._first, self._first + len(self.views())

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 and old > 0 and self._first > 0 and not self._growing:
            self.run_worker(self.show_earlier(), group="pane-grow", exclusive=True)

    async def show_earlier(self) -> None:
        """Mount the previous WINDOW messages above the first one, keeping the view where it was."""
        if self._first == 0:
            return
        self._growing = True
        try:
            start = max(0, self._first - WINDOW)
            first_view = self.views()[0] if self.views() else None
            new_views = [self._view(data) for data in self.messages[start : self._first]]
            await self.mount_all(new_views, before=first_view)
            self._first = start
            if first_view is not None:
                self.call_after_refresh(first_view.scroll_visible, animate=False, top=True)
        finally:
            self._growing = False

    async def action_jump_top(self) -> None:
        if self._first > 0:
            await self._mount_window(0, min(len(self.messages), WINDOW))
        self.release_anchor()
        self.scroll_home(animate=False)
        views = self.views()
        if views:
            views[0].focus(scroll_visible=False)

    async def action_jump_bottom(self) -> None:
        _start, end = self.mounted_range
        if end < len(self.messages):
            await self._mount_window(max(0, len(self.messages) - WINDOW), len(self.messages))
        self.scroll_end(animate=False)
        self.anchor()
        views = self.views()
        if views:
            views[-1].focus(scroll_visible=False)

    def _move(self, step: int) -> None:
        views = self.views()
        if not views:
            return
        focused = self.screen.focused
        index = views.index(focused) if isinstance(focused, MessageView) else len(views)
        if index + step < 0 and self._first > 0:
            self.run_worker(self.show_earlier(), group="pane-grow", exclusive=True)
            return
        target = views[max(0, min(len(views) - 1, index + step))]
        target.focus()
        target.scroll_visible(animate=False)

    def action_previous_message(self) -> None:
        self._move(-1)

    def action_next_message(self) -> None:
        self._move(1)
