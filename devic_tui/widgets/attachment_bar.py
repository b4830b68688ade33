"""The attachment chips above the composer: one per checked file, each removable (focus it and press
Delete or Enter, or click it), with an upload progress bar while files go out."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, ProgressBar

from devic_tui.attachments import human_size
from devic_tui.models import Attachment


class AttachmentChip(Button):
    BINDINGS = [
        Binding("delete,backspace", "press", "Remove the attachment", show=False, id="remove-attachment")
    ]

    def __init__(self, attachment: Attachment) -> None:
        super().__init__(f"📎 {attachment.name} · {human_size(attachment.size)} ✕", compact=True)
        self.attachment = attachment
        self.tooltip = "Enter or Delete removes it"


class AttachmentBar(Horizontal):
    DEFAULT_CSS = """
    AttachmentBar { height: auto; max-height: 3; display: none; padding: 0 1; }
    AttachmentBar.-has-files { display: block; }
    AttachmentBar AttachmentChip { margin-right: 1; }
    AttachmentBar ProgressBar { width: 30; display: none; }
    AttachmentBar ProgressBar.-active { display: block; }
    """

    @dataclass
    class Changed(Message):
        attachments: list[Attachment]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.attachments: list[Attachment] = []

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=100, show_eta=False, id="upload-progress")

    async def add(self, attachment: Attachment) -> None:
        if any(a.sha256 == attachment.sha256 and a.name == attachment.name for a in self.attachments):
            return
        self.attachments.append(attachment)
        await self.mount(AttachmentChip(attachment), before=self.query_one(ProgressBar))
        self._changed()

    async def clear_all(self) -> None:
        self.attachments.clear()
        await self.query(AttachmentChip).remove()
        self._changed()

    async def take_all(self) -> list[Attachment]:
        """Empty the bar, returning what it held (the files go with a message being sent)."""
        taken = list(self.attachments)
        await self.clear_all()
        return taken

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if isinstance(event.button, AttachmentChip):
            event.stop()
            self.attachments.remove(event.button.attachment)
            await event.button.remove()
            self._changed()

    def _changed(self) -> None:
        self.set_class(bool(self.attachments), "-has-files")
        self.post_message(self.Changed(list(self.attachments)))

    def show_progress(self, sent: int, total: int) -> None:
        bar = self.query_one(ProgressBar)
        bar.add_class("-active")
        bar.update(total=max(total, 1), progress=sent)

    def hide_progress(self) -> None:
        self.query_one(ProgressBar).remove_class("-active")
