"""What the app remembers between runs that is neither config nor history: the folder the file
dialog last attached from, the chat that was open, and each chat's unsent draft (text and
attachments). A small JSON file in the data dir, readable by its owner alone; unreadable state is
ignored, never fatal."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from devic_tui import locations
from devic_tui.files import write_private
from devic_tui.models import Attachment

DRAFTS_KEPT = 200
"""Drafts remembered at most (the newest); a draft older than that is let go."""


class Draft(BaseModel):
    """A message being written in one chat, and enough to reopen the chat if it is not in history yet."""

    text: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    server: str
    assistant_id: str
    assistant_name: str = ""
    saved_at: datetime

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.attachments


class UiState(BaseModel):
    last_folder: str | None = None
    """Where the file dialog opens."""
    open_chat: str | None = None
    """The conversation on screen when the app last closed."""
    drafts: dict[str, Draft] = Field(default_factory=dict)
    """Unsent drafts by conversation id."""

    def keep_draft(self, conversation_id: str, draft: Draft | None) -> None:
        if draft is None or draft.empty:
            self.drafts.pop(conversation_id, None)
            return
        self.drafts[conversation_id] = draft
        if len(self.drafts) > DRAFTS_KEPT:
            newest = sorted(self.drafts.items(), key=lambda item: item[1].saved_at, reverse=True)
            self.drafts = dict(newest[:DRAFTS_KEPT])


def state_file() -> Path:
    return locations.data_dir() / "ui-state.json"


def load_state() -> UiState:
    try:
        return UiState.model_validate_json(state_file().read_bytes())
    except (OSError, ValidationError, ValueError):
        return UiState()


def save_state(state: UiState) -> None:
    """Write atomically; a state that cannot be written is simply not remembered."""
    try:
        write_private(state_file(), state.model_dump_json().encode("utf-8"))
    except OSError:
        return
