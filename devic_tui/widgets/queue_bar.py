"""The messages a person sends while an answer is still coming: each one `Outgoing` (its words and
files), queued in order and shown under the answer by the `QueueBar` until it is sent or taken back."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Static

from devic_tui.models import Attachment
from devic_tui.text_safety import one_line


@dataclass
class Outgoing:
    """A message on its way: its words and files, until its turn has recorded it."""

    text: str
    files: list[Attachment]
    after: str | None = None
    """The message it follows (a new branch when that is not the end of the branch on screen);
    None: the end of the branch on screen when it goes."""


class QueueBar(Static):
    """The messages queued behind the answer being written, shown under it."""

    DEFAULT_CSS = """
    QueueBar { height: auto; max-height: 5; display: none; padding: 0 1; color: $text-muted; }
    QueueBar.-queued { display: block; }
    """

    def show_queue(self, queue: list[Outgoing]) -> None:
        lines = [
            f"queued: {one_line(item.text)[:100] or '(files only)'}"
            + (f"  📎 {len(item.files)}" if item.files else "")
            for item in queue
        ]
        if lines:
            lines.append("sent when the answer ends · Esc takes them back to edit")
        self.update("\n".join(lines))
        self.set_class(bool(queue), "-queued")
