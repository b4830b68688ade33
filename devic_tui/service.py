"""The service layer under the UI and the command line (no Textual): the providers of the configured
servers, the history store, and a turn runner that sends a message and records it as it happens.

A turn saves the user's message before it is sent and the answer as it streams (at most every
`SAVE_INTERVAL` seconds, and at the end), so a crash loses at most the last second of an answer and
never a sent message. Remote conversation ids (Devic chatUid, agent conversationId, Devs chatId) are
kept on the conversation so it continues after a restart exactly where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from devic_tui import locations
from devic_tui.attachments import INLINE_MAX_BYTES, check_file, inline_files, read_for_inline
from devic_tui.config import ServerConfig, Settings
from devic_tui.models import AssistantInfo, Attachment, HistoryMessage, RemoteChat
from devic_tui.providers.base import Provider, SendRequest, ToolOutput
from devic_tui.providers.errors import (
    AnswerTooLongError,
    ConnectionFailedError,
    ProviderError,
    ProviderTimeoutError,
    StreamInterruptedError,
)
from devic_tui.providers.events import (
    Done,
    MessageBoundary,
    Notice,
    Progress,
    SendEvent,
    StreamError,
    TextDelta,
    ToolCallRequest,
    UsageReport,
)
from devic_tui.providers.registry import create_provider
from devic_tui.store.records import Conversation, ConversationSummary, StoredMessage
from devic_tui.store.transcripts import TranscriptError, TranscriptStore

if TYPE_CHECKING:
    from devic_tui.providers.http import ProgressCallback

log = logging.getLogger("devic_tui.service")
SAVE_INTERVAL = 1.0
SIDEBAR_CHATS = 500
"""Local chats listed per server in the sidebar and the chat finder (newest first); search and
`devic-tui chats` reach every one."""
_INTERRUPTED = (StreamInterruptedError, ProviderTimeoutError, AnswerTooLongError)


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class ServerListing:
    """What the sidebar shows of one server."""

    server: ServerConfig
    assistants: list[AssistantInfo] = field(default_factory=list)
    local_chats: list[ConversationSummary] = field(default_factory=list)
    remote_chats: dict[str, list[RemoteChat]] = field(default_factory=dict)
    error: str | None = None
    reachable: bool = True
    """False when the server could not be reached at all (its chats are then read offline)."""


ProviderFactory = Callable[[ServerConfig], Provider]


class ChatService:
    def __init__(
        self,
        settings: Settings,
        *,
        store: TranscriptStore | None = None,
        provider_factory: ProviderFactory = create_provider,
    ) -> None:
        self.settings = settings
        self.store = store or TranscriptStore(locations.transcripts_dir(), settings.transcript_format)
        self._provider_factory = provider_factory
        self._providers: dict[str, Provider] = {}

    def provider(self, server_name: str) -> Provider:
        """The server's provider (created on first use); raises ProviderError for a refused URL."""
        if server_name not in self._providers:
            self._providers[server_name] = self._provider_factory(self.settings.server(server_name))
        return self._providers[server_name]

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
        await asyncio.to_thread(self.store.close)

    async def listing(self, server: ServerConfig) -> ServerListing:
        listing = ServerListing(server=server)
        try:
            provider = self.provider(server.name)
            listing.assistants = await provider.list_assistants()
        except ProviderError as error:
            listing.error = str(error)
            listing.reachable = not isinstance(error, ConnectionFailedError | ProviderTimeoutError)
        else:
            if provider.capabilities.lists_chats:
                found = await asyncio.gather(
                    *(provider.list_chats(a.id) for a in listing.assistants), return_exceptions=True
                )
                for assistant, chats in zip(listing.assistants, found, strict=True):
                    # One assistant refusing (gone, not shared with this token) must not hide the others.
                    if isinstance(chats, list):
                        listing.remote_chats[assistant.id] = chats
        listing.local_chats = await asyncio.to_thread(
            self.store.summaries, server=server.name, limit=SIDEBAR_CHATS
        )
        if not listing.assistants:
            listing.assistants = self._known_assistants(server, listing.local_chats)
        return listing

    @staticmethod
    def _known_assistants(server: ServerConfig, chats: list[ConversationSummary]) -> list[AssistantInfo]:
        """When the server cannot list them: the configured assistants and those of local chats,
        so past conversations stay reachable offline."""
        known = {
            a.id: AssistantInfo(id=a.id, name=a.display_name, description=a.description)
            for a in server.assistants
        }
        for chat in chats:
            known.setdefault(
                chat.assistant_id,
                AssistantInfo(id=chat.assistant_id, name=chat.assistant_name or chat.assistant_id),
            )
        return list(known.values())

    def new_conversation(self, server: str, assistant: AssistantInfo) -> Conversation:
        stamp = now()
        return Conversation(
            id=new_id(),
            title="",
            server=server,
            assistant_id=assistant.id,
            assistant_name=assistant.name,
            created_at=stamp,
            updated_at=stamp,
        )

    async def open(self, conversation_id: str) -> Conversation:
        return await asyncio.to_thread(self.store.load, conversation_id)

    async def import_remote_chat(self, server: str, assistant: AssistantInfo, remote_id: str) -> Conversation:
        """Copy a chat kept on the server into local history (or return the local copy it already has)."""
        existing = await asyncio.to_thread(self.store.by_remote_id, server, remote_id)
        if existing is not None:
            return await self.open(existing.id)
        detail = await self.provider(server).get_chat(assistant.id, remote_id)
        conversation = self.new_conversation(server, assistant)
        conversation.remote_id = remote_id
        conversation.title = detail.chat.title or f"{assistant.name} chat"
        conversation.created_at = detail.chat.created_at or conversation.created_at
        conversation.updated_at = detail.chat.updated_at or conversation.created_at
        conversation.metadata["imported_from_server"] = True
        for remote in detail.messages:
            if remote.role not in ("user", "assistant"):
                continue
            conversation.messages.append(
                StoredMessage(
                    id=new_id(),
                    role=remote.role,
                    content=remote.content,
                    status="complete",
                    created_at=remote.created_at or conversation.created_at,
                    remote_ids=[remote.id] if remote.id else [],
                    metadata=dict(remote.extra),
                )
            )
        await asyncio.to_thread(self.store.save, conversation)
        return conversation

    async def duplicate(self, conversation: Conversation) -> Conversation:
        """A copy of the conversation, on the server too where the API can duplicate."""
        copy = conversation.model_copy(deep=True)
        copy.id = new_id()
        copy.title = f"{conversation.title or 'untitled'} (copy)"
        copy.created_at = copy.updated_at = now()
        provider = self.provider(conversation.server)
        if conversation.remote_id and provider.capabilities.duplicate:
            remote = await provider.duplicate(conversation.remote_id)
            copy.remote_id = remote.id
        elif provider.capabilities.server_history:
            copy.remote_id = None  # the server would not know the copy: it continues as a new chat
        await asyncio.to_thread(self.store.save, copy)
        return copy

    async def reset(self, conversation: Conversation) -> None:
        """Empty the chat on the server (where the API can) and locally; the old messages go to a
        copy in history first, so nothing said is lost."""
        provider = self.provider(conversation.server)
        if conversation.remote_id and provider.capabilities.reset:
            await provider.reset(conversation.remote_id)
        if conversation.messages:
            kept = conversation.model_copy(deep=True)
            kept.id = new_id()
            kept.remote_id = None
            kept.title = f"{conversation.title or 'untitled'} (before reset)"
            await asyncio.to_thread(self.store.save, kept)
        conversation.messages.clear()
        conversation.updated_at = now()
        await asyncio.to_thread(self.store.save, conversation)

    async def check_files(self, server: str, paths: list[Path]) -> list[Attachment]:
        """Describe files to attach, refusing (FileRejectedError) what this server cannot take."""
        provider = self.provider(server)
        limit = provider.capabilities.max_upload_bytes if provider.capabilities.upload else None
        if not provider.capabilities.upload:
            limit = INLINE_MAX_BYTES
        found = []
        for path in paths:
            found.append(await asyncio.to_thread(check_file, path, max_bytes=limit))
        return found

    async def attach(
        self,
        conversation: Conversation,
        attachment: Attachment,
        on_progress: ProgressCallback | None = None,
    ) -> Attachment:
        """Upload a checked file where the API takes uploads; otherwise check it can be inlined."""
        provider = self.provider(conversation.server)
        if not provider.capabilities.upload:
            await asyncio.to_thread(read_for_inline, attachment)
            return attachment.model_copy(update={"inlined": True})
        assert attachment.path is not None
        content = await asyncio.to_thread(Path(attachment.path).read_bytes)
        result = await provider.upload(
            conversation.assistant_id, conversation.remote_id, attachment, content, on_progress
        )
        if result.conversation_id and not conversation.remote_id:
            conversation.remote_id = result.conversation_id
        return attachment.model_copy(update={"remote": result.file})

    def send(
        self, conversation: Conversation, text: str, attachments: list[Attachment] | None = None
    ) -> Turn:
        """A turn ready to run; attachments come from `attach` (uploaded or to be inlined)."""
        return Turn(self, conversation, text, attachments or [])


class Turn:
    """One exchange: the user's message and the answer, recorded as they happen."""

    def __init__(
        self, service: ChatService, conversation: Conversation, text: str, attachments: list[Attachment]
    ) -> None:
        self.service = service
        self.conversation = conversation
        self.user = StoredMessage(
            id=new_id(),
            role="user",
            content=text,
            status="complete",
            created_at=now(),
            attachments=attachments,
        )
        self.answer = StoredMessage(
            id=new_id(), role="assistant", content="", status="streaming", created_at=now()
        )
        self._last_save = 0.0
        self.save_failure: str | None = None
        """Why the last save failed, while saving fails."""
        self._notices: list[Notice] = []
        self.pending_tool_call: ToolCallRequest | None = None

    @property
    def store(self) -> TranscriptStore:
        return self.service.store

    def _history(self) -> list[HistoryMessage]:
        return [
            HistoryMessage(role=m.role, content=m.content)
            for m in self.conversation.messages
            if m.role in ("user", "assistant")
            and m.content
            and m.status not in ("failed", "interrupted")
            and m.id not in (self.user.id, self.answer.id)
        ]

    async def _save(self, message: StoredMessage, *, final: bool = False) -> None:
        """Record a message; a disk that is full or refuses writes is reported once (as a Notice
        from the event stream) and the conversation lives on in memory, exportable elsewhere."""
        self._last_save = time.monotonic()
        self.conversation.updated_at = now()
        try:
            await asyncio.to_thread(self.store.save_message, self.conversation, message, final=final)
        except (OSError, TranscriptError) as error:
            if self.save_failure is None:
                reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
                self.save_failure = (
                    f"Could not save this chat to {self.store.directory}: {reason}. It is kept in memory "
                    "while the app runs: export it elsewhere (Alt+E) before you quit."
                )
                self._notices.append(Notice(text=self.save_failure))
        else:
            if self.save_failure is not None and final:
                self._notices.append(Notice(text="Saving works again: this chat is on disk."))
                self.save_failure = None

    def _drain_notices(self) -> list[Notice]:
        notices, self._notices = self._notices, []
        return notices

    async def events(self) -> AsyncIterator[SendEvent]:
        """Send and yield the provider's events; the answer is recorded whatever happens."""
        conversation = self.conversation
        history = self._history()
        if not conversation.title:
            conversation.title = (
                self.user.content.strip().splitlines()[0][:60] if self.user.content.strip() else "untitled"
            )
        conversation.messages.append(self.user)
        await self._save(self.user, final=True)
        for notice in self._drain_notices():
            yield notice
        conversation.messages.append(self.answer)
        provider = self.service.provider(conversation.server)
        try:
            text = await self._text_to_send()
        except ProviderError as error:
            await self._apply(StreamError(error=error))
            yield StreamError(error=error)
            await self._save(self.answer, final=True)
            return
        request = SendRequest(
            assistant_id=conversation.assistant_id,
            text=text,
            conversation_id=conversation.remote_id,
            history=history,
            attachments=[a for a in self.user.attachments if not a.inlined],
        )
        async for event in self._record(provider, provider.send(request)):
            yield event

    async def answer_tool_call(self, outputs: list[ToolOutput]) -> AsyncIterator[SendEvent]:
        """Send the person's answers to the pending tool call; the answer goes on in this turn."""
        pending = self.pending_tool_call
        assert pending is not None
        assert self.conversation.remote_id
        self.pending_tool_call = None
        self.answer.status = "streaming"
        provider = self.service.provider(self.conversation.server)
        stream = provider.submit_tool_outputs(
            self.conversation.assistant_id, self.conversation.remote_id, pending.system_message_id, outputs
        )
        async for event in self._record(provider, stream):
            yield event

    async def decline_tool_call(self) -> None:
        """The person cancelled the form: nothing is sent, and the answer says so."""
        self.pending_tool_call = None
        self.answer.error = "The assistant asked for input; the form was cancelled and nothing was sent."
        await self._save(self.answer, final=True)

    async def _record(self, provider: Provider, stream: AsyncIterator[SendEvent]) -> AsyncIterator[SendEvent]:
        """Apply and pass on each event, saving as it goes; a stop or crash keeps the text so far."""
        try:
            async for event in stream:
                await self._apply(event)
                yield event
                if time.monotonic() - self._last_save >= SAVE_INTERVAL:
                    await self._save(self.answer)
                    for notice in self._drain_notices():
                        yield notice
        except (asyncio.CancelledError, GeneratorExit):
            self.answer.status = "stopped"
            self.answer.done_at = now()
            await asyncio.shield(self._finish_stopped(provider))
            raise
        finally:
            # Close the provider's stream now (its HTTP response with it), not whenever it is collected.
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        if self.answer.status == "streaming":
            self.answer.status = "complete"
        self.answer.done_at = self.answer.done_at or now()
        await self._save(self.answer, final=True)
        log.info(
            "answer from %s/%s: %s, %d characters%s",
            self.conversation.server,
            self.conversation.assistant_id,
            self.answer.status,
            len(self.answer.content),
            f" ({self.answer.error})" if self.answer.error else "",
        )
        for notice in self._drain_notices():
            yield notice

    async def _text_to_send(self) -> str:
        """The message, with inlined files appended as fenced blocks for APIs without uploads."""
        inlined = [a for a in self.user.attachments if a.inlined]
        if not inlined:
            return self.user.content
        texts = [await asyncio.to_thread(read_for_inline, a) for a in inlined]
        return inline_files(self.user.content, list(zip(inlined, texts, strict=True)))

    async def _finish_stopped(self, provider: Provider) -> None:
        await self._save(self.answer, final=True)
        if provider.capabilities.stop and self.conversation.remote_id:
            with contextlib.suppress(ProviderError):
                await provider.stop(self.conversation.assistant_id, self.conversation.remote_id)

    async def _apply(self, event: SendEvent) -> None:
        answer = self.answer
        if isinstance(event, TextDelta):
            if answer.first_byte_at is None:
                answer.first_byte_at = now()
            answer.content += event.text
        elif isinstance(event, MessageBoundary):
            if answer.content and not answer.content.endswith("\n\n"):
                answer.content += "\n\n"
            if event.message_id:
                answer.remote_ids.append(event.message_id)
        elif isinstance(event, UsageReport):
            answer.usage = event.usage
        elif isinstance(event, ToolCallRequest | Progress):
            if event.conversation_id:
                self.conversation.remote_id = event.conversation_id
            if isinstance(event, ToolCallRequest):
                self.pending_tool_call = event
                answer.status = "complete"
        elif isinstance(event, Done):
            if event.final_text is not None:
                answer.content = event.final_text
            if event.conversation_id:
                self.conversation.remote_id = event.conversation_id
            answer.remote_ids.extend(i for i in event.message_ids if i not in answer.remote_ids)
            answer.metadata.update(event.metadata)
            answer.status = "complete"
            answer.done_at = event.finished_at or now()
        elif isinstance(event, StreamError):
            answer.status = "interrupted" if isinstance(event.error, _INTERRUPTED) else "failed"
            answer.error = str(event.error)
            answer.done_at = now()
            if event.conversation_id:
                self.conversation.remote_id = event.conversation_id
