"""An assistant's details, the knowledge it draws on (its data sources), and the draft a person fills
in to create or edit one: typed data shared by the providers, the service and the command line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RefreshPeriod = Literal["NEVER", "DAILY", "WEEKLY", "MONTHLY"]
REFRESH_PERIODS: tuple[RefreshPeriod, ...] = ("NEVER", "DAILY", "WEEKLY", "MONTHLY")

STILL_INDEXING = frozenset({"INITIALIZED", "INDEXING", "REFRESHING"})
"""The index statuses of a source whose indexing has not ended (well or badly) yet."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class AssistantDetails(Frozen):
    """What a server says about one assistant, as much as its API tells."""

    id: str
    name: str
    description: str = ""
    model: str | None = None
    provider: str | None = None
    """The model's vendor (Devic's `provider`, an OpenAI-compatible model's `owned_by`)."""
    visibility: str | None = None
    introduction: str | None = None
    """The greeting shown at the top of a new chat (Devs)."""
    instructions: str | None = None
    context_window: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    """The other fields, as the server sent them."""


class DataSource(Frozen):
    """One source of an assistant's knowledge (an uploaded file, web pages, posted JSON …)."""

    id: str
    name: str
    type: str = ""
    index_status: str = ""
    index_percentage: float | None = None
    refresh_period: str | None = None
    last_indexed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def indexing(self) -> bool:
        """Its indexing has not ended yet (it has neither completed nor failed)."""
        return self.index_status.upper() in STILL_INDEXING


class KnowledgeFile(Frozen):
    """A local file checked to be one the server indexes, not read yet."""

    path: Path
    name: str
    size: int
    mime_type: str


class AssistantDraft(Frozen):
    """What creating or editing an assistant sends. None means "not set": not sent on create;
    an edit sends the whole object, so a caller editing starts from the current details."""

    name: str
    description: str
    instructions: str
    src: str = ""
    """The picture's URL (required by the Devs platform; empty is accepted)."""
    introduction: str | None = None
    model_id: str | None = None
    visibility: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, gt=0)
    max_tokens: int | None = Field(default=None, gt=0)
    generate_citations: bool | None = None
    chat_logs_visible: bool | None = None
    intermediate_steps_visible: bool | None = None
