"""One message in the transcript: a header line (who, when, usage, status) and its body.

A finished message is one cheap widget (a Static holding Rich's Markdown renderable): the research in
shared/research/STREAMING.md shows every mounted widget costs on every frame, and a Textual Markdown
widget is ~80 widgets per 4 KB. The answer being written streams into a `StreamingMarkdown` (one
widget per finished block); when it ends it becomes the cheap single-widget form. Text from servers
is never read as markup: user text is shown literally and answers only as Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from devic_tui.models import Usage
from devic_tui.text_safety import one_line, visible
from devic_tui.widgets.markdown_stream import CachedMarkdown, StreamingMarkdown

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
    attachments: list[str] = field(default_factory=list)


def header_content(data: MessageData) -> Content:
    parts: list[str | tuple[str, str]] = [
        (one_line(data.author), "bold $text-accent" if data.role == "assistant" else "bold $text-primary")
    ]
    if data.created_at:
        parts.append((f"  {data.created_at.astimezone().strftime('%H:%M')}", "$text-muted"))
    if data.usage and data.usage.total is not None:
        parts.append((f"  {data.usage.total:,} tokens", "$text-muted"))
    label = STATUS_LABELS.get(data.status)
    if label:
        style = "$text-warning" if data.status != "failed" else "bold $text-error"
        parts.append((f"  [{label}]", style))
    return Content.assemble(*parts)


def body_renderable(data: MessageData) -> Text | CachedMarkdown:
    if data.role == "user":
        return Text(visible(data.content))
    return CachedMarkdown(data.content)


class MessageView(Vertical, can_focus=True):
    """A message; focusable so the person can move between messages and copy one."""

    def __init__(self, data: MessageData) -> None:
        super().__init__(classes=f"message -{data.role}")
        self.data = data
        self._stream: StreamingMarkdown | None = None
        self._streamed: list[str] = []
        self.streamed_chars = 0

    def compose(self) -> ComposeResult:
        yield Static(header_content(self.data), classes="message-header")
        if self.data.attachments:
            names = "  ".join(f"📎 {one_line(name)}" for name in self.data.attachments)
            yield Static(Text(names), classes="message-attachments")
        yield Static(body_renderable(self.data), classes="message-body")
        if self.data.error:
            yield Static(self._error_text(), classes="message-error")

    def _error_text(self) -> Text:
        if not self.data.error:
            return Text("")
        hint = "  (Ctrl+R sends your message again)" if self.data.status in ("interrupted", "failed") else ""
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

    async def begin_stream(self) -> None:
        """Swap the body for a streaming Markdown widget."""
        body = self.query_one(".message-body", Static)
        self._stream = StreamingMarkdown(classes="message-body-stream")
        await self.mount(self._stream, before=body)
        body.display = False
        if self.data.content:
            self.write(self.data.content)

    def write(self, fragment: str) -> None:
        """More of the answer; `data` gets the whole text when the stream ends (`end_stream`)."""
        self._streamed.append(fragment)
        self.streamed_chars += len(fragment)
        if self._stream is not None:
            self._stream.append(fragment)

    @property
    def streamed_text(self) -> str:
        return "".join(self._streamed)

    async def end_stream(self) -> None:
        """Show the final text as one widget. When it is what streamed, the blocks already
        rendered are reused as they are (the same lines a whole render gives, at no cost)."""
        body = self.query_one(".message-body", Static)
        if self._stream is not None:
            document = await self._stream.finish()
            same = self.streamed_text == self.data.content
            body.update(document if same else body_renderable(self.data))
            body.display = True
            await self._stream.remove()
            self._stream = None
        else:
            body.update(body_renderable(self.data))
            body.display = True
        self._streamed = []
        self.refresh_view()
