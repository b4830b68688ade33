"""The provider interface: what every API adapter offers, and the capabilities it declares so the
UI offers only what works. Every method is async; `send` yields the typed events of `events.py`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from devic_tui.config import ServerConfig
from devic_tui.knowledge_models import AssistantDetails, AssistantDraft, DataSource, RefreshPeriod
from devic_tui.models import (
    AssistantInfo,
    Attachment,
    ChatSettings,
    HistoryMessage,
    RemoteChat,
    RemoteChatDetail,
    RemoteFile,
)
from devic_tui.providers.errors import NotFoundError, ProviderError
from devic_tui.providers.events import SendEvent, StreamError

if TYPE_CHECKING:  # httpx loads with the first provider, not at start-up
    from devic_tui.providers.http import HttpClient, ProgressCallback


def configured_assistants(server: ServerConfig) -> list[AssistantInfo]:
    """The assistants a server's config lists (for APIs that cannot list their own)."""
    return [AssistantInfo(id=a.id, name=a.display_name, description=a.description) for a in server.assistants]


class Capabilities(BaseModel):
    model_config = ConfigDict(frozen=True)

    streams: bool = False
    """Text arrives in pieces as it is written (otherwise whole messages)."""
    lists_assistants: bool = False
    lists_chats: bool = False
    server_history: bool = False
    """The server keeps conversations and can read them back."""
    upload: bool = False
    """Files are uploaded; without it text files are inlined into the message."""
    max_upload_bytes: int | None = None
    duplicate: bool = False
    reset: bool = False
    delete: bool = False
    tool_calls: bool = False
    stop: bool = False
    """The API has a call that stops an answer on the server."""
    usage: bool = False
    answer_settings: frozenset[str] = frozenset()
    """The chat settings (`ChatSettings` field names) the API takes; the others are not sent."""
    details: bool = True
    """An assistant can be described (every API can, at least from its listing)."""
    knowledge: bool = False
    """An assistant's data sources can be listed, added, refreshed and removed."""
    manage_assistants: bool = False
    """Assistants can be created and edited."""


class SendRequest(BaseModel):
    """One message to send."""

    model_config = ConfigDict(frozen=True)

    assistant_id: str
    text: str
    conversation_id: str | None = None
    history: list[HistoryMessage] = Field(default_factory=list)
    """Earlier turns of the branch, oldest first (the new message not included): sent by APIs that
    keep no history, and by the others when `carry_history` is set."""
    carry_history: bool = False
    """The message starts a new server chat for a branch that already has earlier messages: the
    chat must be given them (as messages where the API takes them, else as a context block)."""
    attachments: list[Attachment] = Field(default_factory=list)
    """Files already uploaded with `Provider.upload`."""
    settings: ChatSettings | None = None
    """The chat's system prompt, parameters and metadata, each sent where the API takes it; None
    means the config's for the assistant (`Provider.settings_for`)."""


class ToolOutput(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool_call_id: str
    output: str
    status: str = "success"


class UploadResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: RemoteFile
    conversation_id: str | None = None
    """Set when the upload had to create the conversation first (Devs files belong to a chat)."""


MISSING_ROUTE = (404, 405)
"""What a server answers for a route it does not have."""


class UnsupportedError(ProviderError):
    """The API has no such operation."""


class Provider(ABC):
    """One server's API. Subclasses set `kind` and `capabilities` and implement what they declare."""

    kind: ClassVar[str]
    capabilities: Capabilities
    """What this server can do; a subclass sets a class default and may refine it per server
    in `__init__` (Devic attaches files only in one request shape, say)."""

    def __init__(self, server: ServerConfig, http: HttpClient) -> None:
        self.server = server
        self.http = http
        self._notices: list[str] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(server={self.server.name!r})"

    @property
    def name(self) -> str:
        return self.server.name

    def _unsupported(self, what: str) -> UnsupportedError:
        return UnsupportedError(f"server '{self.name}' ({self.kind}) cannot {what}", server=self.name)

    @contextmanager
    def route_of(self, capability: str, what: str) -> Iterator[None]:
        """Around the calls of one action: a server without its route (it answers 404 or 405) has
        `capability` turned off, so the action is no longer offered, and the UnsupportedError
        raised instead says so, once."""
        try:
            yield
        except ProviderError as error:
            if error.status not in MISSING_ROUTE:
                raise
            self.capabilities = self.capabilities.model_copy(update={capability: False})
            raise UnsupportedError(
                f"server '{self.name}' cannot {what} (it answered {error.status} for that route); "
                "the action is off for this server",
                server=self.name,
                status=error.status,
            ) from None

    def tell(self, notice: str) -> None:
        """Something to tell the person with the next turn's events (`take_notices`)."""
        self._notices.append(notice)

    def take_notices(self) -> list[str]:
        notices, self._notices = self._notices, []
        return notices

    def configured_assistants(self) -> list[AssistantInfo]:
        return configured_assistants(self.server)

    def settings_for(self, request: SendRequest) -> ChatSettings:
        """What the request asks of the answer: the chat's settings, else the config's."""
        return request.settings or self.server.chat_settings(request.assistant_id)

    async def list_assistants(self) -> list[AssistantInfo]:
        """The API's list where it has one, else the config's."""
        return self.configured_assistants()

    @abstractmethod
    def send(self, request: SendRequest) -> AsyncIterator[SendEvent]:
        """Send a message; yield events, ending with Done or StreamError. Never raises a
        ProviderError (it arrives as StreamError); cancellation propagates."""

    async def list_chats(self, assistant_id: str) -> list[RemoteChat]:
        raise self._unsupported("list chats")

    async def list_all_chats(self) -> dict[str, list[RemoteChat]] | None:
        """Every chat the server keeps for this user, by assistant, in one call; None where the API
        has no such call (then `list_chats` is asked per assistant)."""
        return None

    async def get_chat(self, assistant_id: str, chat_id: str) -> RemoteChatDetail:
        raise self._unsupported("read a stored chat")

    async def stop(self, assistant_id: str, conversation_id: str) -> None:
        raise self._unsupported("stop an answer on the server")

    async def upload(
        self,
        assistant_id: str,
        conversation_id: str | None,
        attachment: Attachment,
        content: bytes,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        raise self._unsupported("upload files")

    async def list_files(self, conversation_id: str) -> list[RemoteFile]:
        raise self._unsupported("list chat files")

    async def duplicate(self, conversation_id: str) -> RemoteChat:
        raise self._unsupported("duplicate a chat")

    async def reset(self, conversation_id: str) -> RemoteChat:
        raise self._unsupported("reset a chat")

    async def delete_chat(self, conversation_id: str) -> None:
        raise self._unsupported("delete a chat")

    def submit_tool_outputs(
        self,
        assistant_id: str,
        conversation_id: str,
        system_message_id: str | None,
        outputs: list[ToolOutput],
    ) -> AsyncIterator[SendEvent]:
        """Answer a ToolCallRequest; the answer goes on as the events of a send."""
        raise self._unsupported("answer tool calls")

    async def usage(self) -> dict[str, Any]:
        raise self._unsupported("report usage")

    async def refresh_limits(self) -> None:
        """Ask the server for the limits it reports only when asked (not on every answer), into
        `http.limits`. Never raises a ProviderError: a limit shown must not fail a chat."""
        return None

    async def context_window(self, assistant_id: str) -> int | None:
        """How many tokens the assistant's context holds, as the server says it; None when the API
        does not say (or the question failed). Never raises a ProviderError: a meter must not
        fail a chat."""
        return None

    # ------------------------------------------------------------------ details and knowledge

    async def assistant_details(self, assistant_id: str) -> AssistantDetails:
        """What the server says of one assistant; by default its entry in the listing."""
        for info in await self.list_assistants():
            if info.id == assistant_id:
                return details_from_listing(info)
        raise NotFoundError(f"server '{self.name}' lists no assistant '{assistant_id}'", server=self.name)

    def check_knowledge_file(self, name: str, size: int, mime_type: str) -> str:
        """Raise FileRejectedError when the server would not index such a file; else return the
        MIME type to upload it as."""
        raise self._unsupported("take knowledge files")

    async def data_sources(self, ai_id: str) -> list[DataSource]:
        raise self._unsupported("list an assistant's knowledge")

    async def add_file_source(
        self,
        ai_id: str,
        name: str,
        content: bytes,
        mime_type: str,
        on_progress: ProgressCallback | None = None,
    ) -> str:
        """Upload a file as knowledge; returns the new data source's id."""
        raise self._unsupported("add knowledge files")

    async def add_url_sources(self, ai_id: str, urls: list[str], refresh_period: RefreshPeriod) -> list[str]:
        """Add web pages as knowledge; returns the new data sources' ids."""
        raise self._unsupported("add web pages as knowledge")

    async def add_json_source(self, ai_id: str, name: str, data: dict[str, Any]) -> str:
        raise self._unsupported("add JSON data as knowledge")

    async def refresh_source(self, source_id: str) -> None:
        raise self._unsupported("refresh knowledge")

    async def remove_source(self, source_id: str) -> None:
        raise self._unsupported("remove knowledge")

    async def create_assistant(self, draft: AssistantDraft) -> AssistantDetails:
        raise self._unsupported("create assistants")

    async def update_assistant(self, ai_id: str, draft: AssistantDraft) -> AssistantDetails:
        raise self._unsupported("edit assistants")

    def edit_draft(self, details: AssistantDetails) -> AssistantDraft:
        """A draft holding the assistant's current values, to change and send back with
        `update_assistant` (this API's option names read back into the draft's fields)."""
        raise self._unsupported("edit assistants")

    async def aclose(self) -> None:
        await self.http.aclose()


_LISTING_MODEL_KEYS = ("model", "modelId", "model_id")
_LISTING_PROVIDER_KEYS = ("provider", "owned_by", "vendor")


def details_from_listing(info: AssistantInfo) -> AssistantDetails:
    """An assistant's details from what its listing entry carries (model and vendor in `extra`)."""
    extra = dict(info.extra)
    model = next((str(extra.pop(k)) for k in _LISTING_MODEL_KEYS if isinstance(extra.get(k), str)), None)
    vendor = next((str(extra.pop(k)) for k in _LISTING_PROVIDER_KEYS if isinstance(extra.get(k), str)), None)
    return AssistantDetails(
        id=info.id, name=info.name, description=info.description, model=model, provider=vendor, extra=extra
    )


async def guarded(events: AsyncIterator[SendEvent]) -> AsyncIterator[SendEvent]:
    """Turn a ProviderError raised inside a send into its final StreamError event."""
    try:
        async for event in events:
            yield event
    except ProviderError as error:
        yield StreamError(error=error)
