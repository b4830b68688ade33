"""One message in the transcript: a header line (who, when, usage, status) and its body.

An answer's body is one widget drawn a line at a time (`MarkdownBody`): the research in
shared/research/STREAMING.md shows every mounted widget costs on every frame, and a Textual Markdown
widget is ~80 widgets per 4 KB. The answer being written is the same widget reading the turn's
record of the answer (its `source`) until the answer ends. Text from servers is never read as
markup: user text is shown literally and answers only as Markdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from devic_tui.models import Usage
from devic_tui.records import USAGE_UNREPORTED, StoredMessage
from devic_tui.text_safety import one_line, visible
from devic_tui.widgets.markdown_stream import MarkdownBody

STATUS_LABELS = {
    "stopped": "stopped",
    "interrupted": "interrupted",
    "failed": "failed",
    "streaming": "answering…",
}


@dataclass
class MessageData:
    """What a MessageView shows; built from a stored message."""

    id: str
    role: str
    author: str
    content: str
    created_at: datetime | None = None
    status: str = "complete"
    error: str | None = None
    usage: Usage | None = None
    usage_unreported: bool = False
    """The server said nothing of what the answer cost."""
    attachments: list[str] = field(default_factory=list)
    branch: tuple[int, int] | None = None
    """(which, of how many) when the message has alternatives (edits, regenerated answers)."""


def message_data(
    message: StoredMessage, assistant_name: str, branch: tuple[int, int] | None = None
) -> MessageData:
    """What a MessageView shows of a stored message (`branch`: its place among its alternatives)."""
    return MessageData(
        branch=branch if branch is not None and branch[1] > 1 else None,
        id=message.id,
        role=message.role,
        author="You" if message.role == "user" else assistant_name,
        content=message.content,
        created_at=message.created_at,
        status=message.status,
        error=message.error,
        usage=message.usage,
        usage_unreported=message.metadata.get(USAGE_UNREPORTED) is True,
        attachments=[a.name for a in message.attachments],
    )


def header_content(data: MessageData) -> Content:
    parts: list[str | tuple[str, str]] = [
        (one_line(data.author), "bold $text-accent" if data.role == "assistant" else "bold $text-primary")
    ]
    if data.branch:
        parts.append((f"  ‹ {data.branch[0]}/{data.branch[1]} ›", "bold $text-secondary"))
    if data.created_at:
        parts.append((f"  {data.created_at.astimezone().strftime('%H:%M')}", "$text-muted"))
    if data.usage and data.usage.total is not None:
        parts.append((f"  {data.usage.total:,} tokens", "$text-muted"))
    elif data.usage_unreported:
        parts.append(("  usage not reported", "$text-muted"))
    label = STATUS_LABELS.get(data.status)
    if label:
        style = "$text-warning" if data.status != "failed" else "bold $text-error"
        parts.append((f"  [{label}]", style))
    return Content.assemble(*parts)


class MessageView(Vertical, can_focus=True):
    """A message; focusable so the person can move between messages and copy one. Given a
    `source`, it is the answer being written and streams from it until `end_stream`."""

    def __init__(self, data: MessageData, *, source: Callable[[], str] | None = None) -> None:
        super().__init__(classes=f"message -{data.role}")
        self.data = data
        self._body: MarkdownBody | Static = (
            Static(Text(visible(data.content)), classes="message-body")
            if data.role == "user"
            else MarkdownBody(data.content, source=source, classes="message-body")
        )

    def compose(self) -> ComposeResult:
        yield Static(header_content(self.data), classes="message-header")
        if self.data.attachments:
            names = "  ".join(f"📎 {one_line(name)}" for name in self.data.attachments)
            yield Static(Text(names), classes="message-attachments")
        yield self._body
        if self.data.error:
            yield Static(self._error_text(), classes="message-error")

    def _error_text(self) -> Text:
        if not self.data.error:
            return Text("")
        hint = "  (r or Ctrl+R asks again)" if self.data.status in ("interrupted", "failed") else ""
        return Text(visible(self.data.error) + hint)

    def refresh_view(self) -> None:
        """Show the header, status and error as `data` says now (the error line is made when
        there first is one: most messages never need it)."""
        self.query_one(".message-header", Static).update(header_content(self.data))
        errors = self.query(".message-error")
        if errors:
            error = errors.first(Static)
            error.update(self._error_text())
            error.display = bool(self.data.error)
        elif self.data.error:
            self.mount(Static(self._error_text(), classes="message-error"))
        self.set_class(self.data.status in ("stopped", "interrupted", "failed"), "-partial")

    def on_mount(self) -> None:
        self.set_class(self.data.status in ("stopped", "interrupted", "failed"), "-partial")
        if self.streaming:
            self.catch_up()

    @property
    def streaming(self) -> bool:
        return isinstance(self._body, MarkdownBody) and self._body.streaming

    @property
    def streamed_chars(self) -> int:
        """How much of the answer being written is on screen."""
        return self._body.received_chars if isinstance(self._body, MarkdownBody) else len(self.data.content)

    def catch_up(self, *, now: bool = False) -> None:
        """The answer grew: show the new text on the next frame (`now`: before it)."""
        if isinstance(self._body, MarkdownBody):
            self._body.poke(now=now)

    async def end_stream(self, data: MessageData) -> None:
        """Show the finished answer. When its text is what streamed, the blocks already laid out
        stay as they are (the same lines a whole render gives, at no cost)."""
        self.data = data
        if isinstance(self._body, MarkdownBody):
            if self._body.streaming:
                await self._body.finish(data.content)
            else:
                self._body.show(data.content)
        else:
            self._body.update(Text(visible(data.content)))
        self.refresh_view()
