"""What the app remembers between runs that is neither config nor history: for now the folder the
file dialog last attached from. A small JSON file in the data dir; unreadable state is ignored."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

from devic_tui import locations


class UiState(BaseModel):
    last_folder: str | None = None
    """Where the file dialog opens."""


def state_file() -> Path:
    return locations.data_dir() / "ui-state.json"


def load_state() -> UiState:
    try:
        return UiState.model_validate_json(state_file().read_bytes())
    except (OSError, ValidationError, ValueError):
        return UiState()


def save_state(state: UiState) -> None:
    """Write atomically; a state that cannot be written is simply not remembered."""
    path = state_file()
    temporary = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(state.model_dump_json(), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        return
