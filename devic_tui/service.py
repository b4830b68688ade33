"""The service layer: the one door the UI and the command line go through (no Textual). It holds the
providers of the configured servers and the history store, and offers what a person does with a
chat: list servers and chats, open, start a turn with files (checked, then uploaded or inlined),
rename, tag, archive, delete, duplicate, reset, export and search. Every method that touches the
disk or the network is async and keeps blocking work off the event loop.

Remote conversation ids (Devic chatUid, agent conversationId, Devs chatId) are
kept on the conversation so it continues after a restart exactly where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from devic_tui import knowledge, locations
from devic_tui.attachments import INLINE_MAX_BYTES, check_file, read_for_inline
from devic_tui.branches import BranchPlan, ConversationTree, branch_plan, show
from devic_tui.config import ConfigError, ServerConfig, Settings
from devic_tui.context_meter import ContextWindow
from devic_tui.files import write_private
from devic_tui.knowledge_models import (
    AssistantDetails,
    AssistantDraft,
    DataSource,
    KnowledgeFile,
    RefreshPeriod,
)
from devic_tui.models import AssistantInfo, Attachment, ChatSettings, RemoteChat
from devic_tui.providers.base import Provider, UnsupportedError, configured_assistants
from devic_tui.providers.errors import (
    AuthError,
    ConnectionFailedError,
    MissingTokenError,
    ProviderError,
    ProviderTimeoutError,
)
from devic_tui.providers.registry import create_provider
from devic_tui.records import (
    COPY_OF,
    EMPTY_SERVER_CHAT,
    ROOT,
    Conversation,
    ConversationSummary,
    StoredMessage,
    new_id,
    now,
)
from devic_tui.redact import redact
from devic_tui.server_hints import HintsFile
from devic_tui.store.transcripts import TranscriptStore
from devic_tui.turn import ToolAnswerer, Turn
from devic_tui.usage_ledger import UsageLedger, build_ledger, fetch_from

if TYPE_CHECKING:
    from devic_tui.knowledge import IndexingUpdate
    from devic_tui.providers.http import ProgressCallback
    from devic_tui.providers.remote_limits import RemoteLimit
    from devic_tui.records import SearchHit
    from devic_tui.search_query import SearchQuery
    from devic_tui.store.export import MarkdownBranches

ExportFormat = Literal["md", "json", "toml"]
EXPORT_SUFFIXES: dict[str, ExportFormat] = {".md": "md", ".json": "json", ".toml": "toml"}

UploadProgress = Callable[[Attachment, int, int], None]
"""Told (file, bytes sent, bytes in all) as each file goes out; first with 0 sent, before it starts."""

log = logging.getLogger("devic_tui.service")

LIMIT_WARNING = 0.2
"""A server's limit is shown once less than this part of it is left."""

SIDEBAR_CHATS = 500
"""Local chats listed per server in the sidebar and the chat finder (newest first); search and
`devic-tui chats` reach every one."""


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
    notice: str | None = None
    """What to tell once about a server that is usable all the same: its assistant listing failed
    and the assistants in the config stand in."""
    kept_remote: set[str] = field(default_factory=set)
    """Server chats listed here that a local conversation holds on one of its branches (listed as
    that conversation)."""


ProviderFactory = Callable[[ServerConfig], Provider]


def copied_metadata(message: StoredMessage) -> dict[str, Any]:
    """A copied message's metadata: marked as a copy (`COPY_OF`), so the usage ledger counts the
    tokens it cost once, in the original, and the context meter does not take the original
    context's figures for the copy's."""
    return {**message.metadata, COPY_OF: message.metadata.get(COPY_OF, message.id)}


_SERVER_UNUSABLE = (AuthError, MissingTokenError, ConnectionFailedError, ProviderTimeoutError)
"""Listing failures that say the whole server cannot be used, not only that it cannot list."""


class ChatService:
    def __init__(
        self,
        settings: Settings,
        *,
        store: TranscriptStore | None = None,
        provider_factory: ProviderFactory | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or TranscriptStore(locations.transcripts_dir(), settings.transcript_format)
        self._provider_factory = provider_factory or functools.partial(create_provider, hints=HintsFile())
        self._providers: dict[str, Provider] = {}
        self._told_read_only = False
        self._told_listing: set[tuple[str, str]] = set()
        self._server_windows: dict[tuple[str, str], int | None] = {}

    def provider(self, server_name: str) -> Provider:
        """The server's provider (created on first use); raises ProviderError for a refused URL."""
        if server_name not in self._providers:
            self._providers[server_name] = self._provider_factory(self.settings.server(server_name))
        return self._providers[server_name]

    def tightest_limit(self, server_name: str) -> RemoteLimit | None:
        """The limit the server last reported with the smallest part left (its reset not passed),
        or None; asks no server, and makes no provider for a server not used yet."""
        provider = self._providers.get(server_name)
        return provider.http.limits.tightest() if provider is not None else None

    async def refresh_limits(self, server_name: str) -> None:
        """Ask the server for the limits it reports only on request (the Devs usage endpoint);
        never raises: a server that cannot be reached just shows no limit."""
        try:
            provider = self.provider(server_name)
        except ProviderError:
            return
        await provider.refresh_limits()

    def limit_warning(self, server_name: str) -> str | None:
        """The server's tightest limit in words while less than `LIMIT_WARNING` of it is left."""
        from devic_tui.providers.remote_limits import describe_limit

        limit = self.tightest_limit(server_name)
        if limit is None or limit.fraction_left >= LIMIT_WARNING:
            return None
        return describe_limit(limit)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()
        await asyncio.to_thread(self.store.close)

    async def claim_history(self) -> None:
        """Make the history folder and take its lock at once rather than at the first save, so an
        app started second on the same history is told (`history_notices`) from the start. A
        folder that cannot be made is left for the first save to report."""
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self.store.claim)

    async def assistants(self, server_name: str) -> tuple[list[AssistantInfo], str | None]:
        """The server's assistants, and a notice when its listing failed (a server without one,
        or refusing it) and the assistants in the config stand in. A failure that leaves nothing to
        offer, or says the server cannot be used at all (token refused, unreachable), is raised."""
        provider = self.provider(server_name)
        try:
            return await provider.list_assistants(), None
        except ProviderError as error:
            configured = provider.configured_assistants()
            if not configured or isinstance(error, _SERVER_UNUSABLE):
                raise
            return configured, f"listing the assistants failed ({error}); using the ones in the config"

    async def context_window(
        self, server_name: str, assistant_id: str, configured: int | None
    ) -> ContextWindow:
        """How many tokens the assistant's context holds, for the context meter: the server's own
        figure where it gives one, else `configured` (the config's `context_window`), else unknown.
        The server is asked once per (server, assistant) in a session. Never raises."""
        key = (server_name, assistant_id)
        if key not in self._server_windows:
            try:
                found = await self.provider(server_name).context_window(assistant_id)
            except (ProviderError, ConfigError) as error:
                log.debug("no context window from server %r for %r: %s", server_name, assistant_id, error)
                found = None
            self._server_windows[key] = found
        from_server = self._server_windows[key]
        if from_server is not None:
            return ContextWindow(tokens=from_server, source="server")
        if configured is not None and configured > 0:
            return ContextWindow(tokens=configured, source="config")
        return ContextWindow(source="unknown")

    async def listing(self, server: ServerConfig) -> ServerListing:
        listing = ServerListing(server=server)
        try:
            provider = self.provider(server.name)
            listing.assistants, notice = await self.assistants(server.name)
            if notice is not None and (server.name, notice) not in self._told_listing:
                self._told_listing.add((server.name, notice))  # listed again and again: told once
                listing.notice = notice
        except ProviderError as error:
            listing.error = str(error)
            listing.reachable = not isinstance(error, ConnectionFailedError | ProviderTimeoutError)
        else:
            if provider.capabilities.lists_chats:
                listing.remote_chats = await self._remote_chats(provider, listing.assistants)
                listed = {chat.id for chats in listing.remote_chats.values() for chat in chats}
                if listed:
                    listing.kept_remote = await asyncio.to_thread(
                        self.store.branch_chats, server.name, listed
                    )
        local = await self.local_listing(server)
        listing.local_chats = local.local_chats
        if not listing.assistants:
            listing.assistants = local.assistants
        return listing

    @staticmethod
    async def _remote_chats(
        provider: Provider, assistants: list[AssistantInfo]
    ) -> dict[str, list[RemoteChat]]:
        """The server's chats of each assistant: in one call where the API has one, else one per
        assistant, where one refusing (gone, not shared with this token) does not hide the others."""
        try:
            every = await provider.list_all_chats()
        except ProviderError as error:
            log.info("server %s: listing every chat failed: %s", provider.name, error)
            every = None
        if every is not None:
            return {a.id: every.get(a.id, []) for a in assistants}
        found = await asyncio.gather(*(provider.list_chats(a.id) for a in assistants), return_exceptions=True)
        return {a.id: chats for a, chats in zip(assistants, found, strict=True) if isinstance(chats, list)}

    async def local_listing(self, server: ServerConfig) -> ServerListing:
        """What is known of a server without asking it: its configured assistants, and its chats
        in local history (with their assistants), so the sidebar can show them at once."""
        listing = ServerListing(server=server)
        listing.local_chats = await asyncio.to_thread(
            self.store.summaries, server=server.name, limit=SIDEBAR_CHATS
        )
        listing.assistants = self._known_assistants(server, listing.local_chats)
        return listing

    @staticmethod
    def _known_assistants(server: ServerConfig, chats: list[ConversationSummary]) -> list[AssistantInfo]:
        """When the server cannot list them: the configured assistants and those of local chats,
        so past conversations stay reachable offline."""
        known = {a.id: a for a in configured_assistants(server)}
        for chat in chats:
            if chat.assistant_id not in known:
                name = chat.assistant_name or chat.assistant_id
                known[chat.assistant_id] = AssistantInfo(id=chat.assistant_id, name=name)
        return list(known.values())

    def new_conversation(
        self, server: str, assistant: AssistantInfo, *, conversation_id: str | None = None
    ) -> Conversation:
        """A conversation not yet in history (it is saved with its first message)."""
        stamp = now()
        return Conversation(
            id=conversation_id or new_id(),
            title="",
            server=server,
            assistant_id=assistant.id,
            assistant_name=assistant.name,
            created_at=stamp,
            updated_at=stamp,
            settings=self.configured_settings(server, assistant.id),
        )

    def configured_settings(self, server_name: str, assistant_id: str) -> ChatSettings | None:
        """What the config sets for a new chat with the assistant (None for a server no longer
        configured: its first send takes them)."""
        try:
            return self.settings.server(server_name).chat_settings(assistant_id)
        except ConfigError:
            return None

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
        """A copy of the conversation, on the server too where the API can duplicate. A server that
        makes the copy empty (the Devs 2024 server) has it named as the copy's empty chat: the next
        message goes there, carrying the conversation so far."""
        copy = conversation.model_copy(deep=True)
        copy.id = new_id()
        copy.title = f"{conversation.title or 'untitled'} (copy)"
        copy.created_at = copy.updated_at = now()
        provider = self.provider(conversation.server)
        copied_chat: str | None = None
        if conversation.remote_id and provider.capabilities.duplicate:
            remote = await provider.duplicate(conversation.remote_id)
            if remote.message_count == 0 and copy.messages:
                copy.remote_id = None
                copy.metadata[EMPTY_SERVER_CHAT] = remote.id
            else:
                copy.remote_id = copied_chat = remote.id
        elif provider.capabilities.server_history:
            copy.remote_id = None  # the server would not know the copy: it continues as a new chat
        for message in copy.messages:
            # The server copied one chat (the branch used last); the other branches start new ones.
            kept = copied_chat is not None and message.remote_chat_id in (conversation.remote_id, None)
            message.remote_chat_id = copied_chat if kept else None
            message.metadata = copied_metadata(message)
        await asyncio.to_thread(self.store.save, copy)
        return copy

    async def reset(self, conversation: Conversation) -> Conversation | None:
        """Empty the chat on the server (where the API can) and locally; the old messages go to a
        copy in history first, so nothing said is lost. Returns that copy (None for an empty chat)."""
        provider = self.provider(conversation.server)
        if conversation.remote_id and provider.capabilities.reset:
            emptied = await provider.reset(conversation.remote_id)
            conversation.remote_id = emptied.id  # a server may answer a new chat: it goes on there
        kept: Conversation | None = None
        if conversation.messages:
            kept = conversation.model_copy(deep=True)
            kept.id = new_id()
            kept.remote_id = None
            for message in kept.messages:
                message.remote_chat_id = None
            kept.title = f"{conversation.title or 'untitled'} (before reset)"
            await asyncio.to_thread(self.store.save, kept)
        conversation.messages.clear()
        conversation.shown_id = None
        conversation.updated_at = now()
        await asyncio.to_thread(self.store.save, conversation)
        return kept

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
        *,
        plan: BranchPlan | None = None,
    ) -> tuple[Attachment, BranchPlan]:
        """Upload a checked file where the API takes uploads (into the server chat of the branch
        the message goes to); otherwise check it can be inlined. Returns the file and the plan,
        which names the chat an upload had to create."""
        plan = plan or branch_plan(conversation)
        provider = self.provider(conversation.server)
        if provider.capabilities.upload:
            assert attachment.path is not None
            content = await asyncio.to_thread(Path(attachment.path).read_bytes)
            try:
                result = await provider.upload(
                    conversation.assistant_id, plan.remote_chat_id, attachment, content, on_progress
                )
            except UnsupportedError as lacking:  # the server has no file route after all
                provider.tell(f"{lacking}: text files go into the message instead.")
            else:
                if result.conversation_id and plan.remote_chat_id is None:
                    plan = plan.in_chat(result.conversation_id)
                    conversation.remote_id = result.conversation_id
                return attachment.model_copy(update={"remote": result.file}), plan
        await asyncio.to_thread(read_for_inline, attachment)
        return attachment.model_copy(update={"inlined": True}), plan

    async def start_turn(
        self,
        conversation: Conversation,
        text: str,
        files: list[Attachment],
        *,
        on_upload: UploadProgress | None = None,
        answer_tool_call: ToolAnswerer | None = None,
        after: str | None = None,
    ) -> Turn:
        """A turn ready to run, its files uploaded (or checked for inlining) first; a file that
        cannot go raises ProviderError and nothing is sent. Files already uploaded (a message sent
        again) go as they are. The message follows `after` (a message id; ROOT for a new first
        message), as a new branch where that is not the end of one; default: the branch on screen."""
        plan = branch_plan(conversation, after)
        ready: list[Attachment] = []
        for attachment in files:
            if attachment.remote is not None and plan.new_chat and await self._still_there(attachment):
                # A file uploaded to another chat (an edited message's): into the new chat with it.
                attachment = attachment.model_copy(update={"remote": None})
            if attachment.remote is not None or attachment.inlined:
                ready.append(attachment)
                continue
            if on_upload is not None:
                on_upload(attachment, 0, attachment.size)
            progress = (lambda sent, total, a=attachment: on_upload(a, sent, total)) if on_upload else None
            attached, plan = await self.attach(conversation, attachment, progress, plan=plan)
            ready.append(attached)
        provider = self.provider(conversation.server)
        return Turn(
            provider, self.store, conversation, text, ready, answer_tool_call=answer_tool_call, plan=plan
        )

    @staticmethod
    async def _still_there(attachment: Attachment) -> bool:
        return attachment.path is not None and await asyncio.to_thread(Path(attachment.path).is_file)

    def regenerate(
        self, conversation: Conversation, message_id: str, *, answer_tool_call: ToolAnswerer | None = None
    ) -> Turn:
        """A turn that answers a message again: a sibling of the answer `message_id` (or a new answer
        to the user message `message_id`); the earlier answers stay."""
        tree = ConversationTree(conversation)
        message = tree.by_id.get(message_id)
        if message is None:
            raise KeyError(message_id)
        if message.role != "user":
            parent = tree.parent[message_id]
            message = tree.by_id.get(parent) if parent else None
            if message is None or message.role != "user":
                raise ValueError("only an answer to a message of yours can be answered again")
        provider = self.provider(conversation.server)
        return Turn(
            provider,
            self.store,
            conversation,
            message.content,
            [],
            answer_tool_call=answer_tool_call,
            regenerate=message,
        )

    async def show_branch(self, conversation: Conversation, message_id: str) -> str | None:
        """Put the branch through `message_id` on screen and remember it; returns its last message."""
        leaf = show(conversation, message_id)
        if leaf is not None:
            await asyncio.to_thread(self.store.set_shown, conversation.id, leaf)
        return leaf

    async def fork(self, conversation: Conversation, message_id: str) -> Conversation:
        """A new conversation holding the path up to `message_id` (on every API: its next message
        starts a server chat of its own, carrying that path)."""
        tree = ConversationTree(conversation)
        if message_id not in tree.by_id:
            raise KeyError(message_id)
        return await self._copy_of(conversation, tree.path_to(message_id), "fork")

    async def fork_from(self, conversation: Conversation, message_id: str) -> Conversation:
        """A new conversation holding the branch on screen from `message_id` on, the earlier
        messages left behind: a chat grown past its context window goes on with its recent part."""
        path = ConversationTree(conversation).shown_path()
        start = next((index for index, message in enumerate(path) if message.id == message_id), None)
        if start is None:
            raise KeyError(message_id)
        return await self._copy_of(conversation, path[start:], "recent part")

    async def _copy_of(
        self, conversation: Conversation, path: list[StoredMessage], what: str
    ) -> Conversation:
        """A new conversation of the messages of `path` (one branch, oldest first), saved."""
        stamp = now()
        copy = conversation.model_copy(
            update={
                "id": new_id(),
                "title": f"{conversation.title or 'untitled'} ({what})",
                "remote_id": None,
                "created_at": stamp,
                "updated_at": stamp,
                "shown_id": None,
                "metadata": {**conversation.metadata, "forked_from": conversation.id},
                "messages": [],
            }
        )
        parent = ROOT
        for message in path:
            copied = message.model_copy(
                deep=True,
                update={"parent_id": parent, "remote_chat_id": None, "metadata": copied_metadata(message)},
            )
            copy.messages.append(copied)
            parent = copied.id
        await asyncio.to_thread(self.store.save, copy)
        return copy

    # --- history -------------------------------------------------------------------------------

    def answer_settings_taken(self, server_name: str) -> frozenset[str]:
        """The chat settings the server's API takes (the others are kept but not sent)."""
        try:
            return self.provider(server_name).capabilities.answer_settings
        except (ProviderError, ConfigError):
            return frozenset()

    async def set_chat_settings(self, conversation: Conversation, settings: ChatSettings) -> None:
        """Change how the chat asks for answers from its next message on (kept in its transcript;
        a chat not yet saved keeps them until its first message saves it)."""
        conversation.settings = settings
        if conversation.messages:
            await asyncio.to_thread(self.store.set_settings, conversation.id, settings)

    async def rename(self, conversation: Conversation, title: str) -> None:
        await asyncio.to_thread(self.store.rename, conversation.id, title)
        conversation.title = title

    async def set_tags(self, conversation: Conversation, tags: list[str]) -> None:
        await asyncio.to_thread(self.store.set_tags, conversation.id, tags)
        conversation.tags = list(tags)

    async def archive(self, conversation: Conversation) -> None:
        """Hide the chat from the usual lists (the sidebar's archived section and `chats
        --archived` list it); its files stay where they are."""
        await asyncio.to_thread(self.store.archive, conversation.id, True)
        conversation.archived = True

    async def unarchive(self, conversation: Conversation) -> None:
        await asyncio.to_thread(self.store.archive, conversation.id, False)
        conversation.archived = False

    async def chats(
        self,
        *,
        server: str | None = None,
        assistant_id: str | None = None,
        tag: str | None = None,
        archived: bool | None = False,
        limit: int | None = None,
    ) -> list[ConversationSummary]:
        """Saved conversations, newest first: those not archived (`archived=False`), only the
        archived ones (True) or both (None); `tag` keeps those with that tag, whatever its case."""
        return await asyncio.to_thread(
            self.store.summaries,
            server=server,
            assistant_id=assistant_id,
            tag=tag,
            include_archived=archived is None,
            only_archived=archived is True,
            limit=limit,
        )

    async def archived_chats(self) -> list[ConversationSummary]:
        """The archived chats of the enabled servers, newest first (at most SIDEBAR_CHATS)."""
        servers = [server.name for server in self.settings.enabled_servers()]
        if not servers:
            return []
        return await asyncio.to_thread(
            self.store.summaries, servers=servers, only_archived=True, limit=SIDEBAR_CHATS
        )

    async def delete(self, conversation_id: str) -> None:
        """To the trash folder (restorable); the server's copy, if any, is kept."""
        await asyncio.to_thread(self.store.delete, conversation_id)

    @staticmethod
    def export_text(
        conversation: Conversation, fmt: ExportFormat, *, branches: MarkdownBranches = "list"
    ) -> str:
        """The chat as Markdown (for people; `branches`: what it holds besides the branch on screen,
        see `to_markdown`), or JSON or TOML (lossless, every branch, for import); no token in it."""
        from devic_tui.store.export import to_json, to_markdown, to_toml  # rarely used: not at start-up

        if fmt == "md":
            text = to_markdown(conversation, branches=branches)
        else:
            text = {"json": to_json, "toml": to_toml}[fmt](conversation)
        text = redact(text)
        return text if text.endswith("\n") else text + "\n"

    async def export(self, conversation: Conversation, path: Path, fmt: ExportFormat | None = None) -> Path:
        """Write the chat to `path` (readable by its owner alone), as `fmt`, or by the name's
        suffix: .json JSON, .toml TOML, else Markdown. Returns the path written."""
        target = await asyncio.to_thread(path.expanduser)
        chosen = fmt or EXPORT_SUFFIXES.get(target.suffix.lower(), "md")
        text = self.export_text(conversation, chosen)
        await asyncio.to_thread(write_private, target, text.encode("utf-8"))
        return target

    async def search(self, query: SearchQuery, *, limit: int = 100) -> list[SearchHit]:
        """Messages matching a parsed search (its words and filters), best first."""
        return await asyncio.to_thread(
            self.store.search,
            query.text,
            server=query.server,
            assistant_id=query.assistant,
            since=query.since,
            until=query.until,
            tag=query.tag,
            limit=limit,
        )

    async def usage(self, *, since: date | None = None, server: str | None = None) -> UsageLedger:
        """The answers' token usage per local day, server and assistant (from `since`, of
        `server`), with today's, this week's and this month's totals, priced by the config's
        `prices` (`usage_ledger`); read from the index, off the event loop."""

        def ledger() -> UsageLedger:
            today = date.today()
            groups = self.store.usage_groups(since=fetch_from(since, today), server=server)
            return build_ledger(groups, self.settings.prices, today=today, since=since, server=server)

        return await asyncio.to_thread(ledger)

    def history_notices(self) -> list[str]:
        """What the history store has to say (quarantined files, a rebuilt index, read-only), once."""
        notices = list(self.store.notices)
        self.store.notices.clear()
        reason = self.store.read_only_reason
        if reason and not self._told_read_only:
            self._told_read_only = True
            notices.insert(0, reason)
        return notices

    # ---------------------------------------- an assistant's details and knowledge (knowledge.py)

    async def assistant_details(self, server: str, assistant_id: str) -> AssistantDetails:
        return await self.provider(server).assistant_details(assistant_id)

    async def data_sources(self, server: str, ai_id: str) -> list[DataSource]:
        return await self.provider(server).data_sources(ai_id)

    async def check_knowledge_file(self, server: str, path: Path) -> KnowledgeFile:
        """The file described, or FileRejectedError (too large, a type the server does not index)
        before anything is read or sent."""
        return await knowledge.check_file(self.provider(server), path)

    async def add_knowledge_file(
        self, server: str, ai_id: str, path: Path, on_progress: ProgressCallback | None = None
    ) -> str:
        """Check and upload a file as the AI's knowledge; returns the new data source's id."""
        return await knowledge.add_file(self.provider(server), ai_id, path, on_progress)

    async def add_knowledge_urls(
        self, server: str, ai_id: str, urls: list[str], refresh_period: RefreshPeriod = "NEVER"
    ) -> list[str]:
        return await self.provider(server).add_url_sources(ai_id, urls, refresh_period)

    async def add_knowledge_json(self, server: str, ai_id: str, name: str, data: dict[str, Any]) -> str:
        return await self.provider(server).add_json_source(ai_id, name, data)

    async def refresh_knowledge(self, server: str, source_id: str) -> None:
        await self.provider(server).refresh_source(source_id)

    async def remove_knowledge(self, server: str, source_id: str) -> None:
        await self.provider(server).remove_source(source_id)

    async def wait_for_indexing(
        self,
        server: str,
        ai_id: str,
        source_ids: list[str],
        on_update: IndexingUpdate | None = None,
        *,
        interval: float = knowledge.POLL_SECONDS,
    ) -> list[DataSource]:
        """Poll until none of the sources is still indexing; returns them as last read."""
        return await knowledge.wait_for_indexing(
            self.provider(server), ai_id, source_ids, on_update, interval=interval
        )

    async def create_assistant(self, server: str, draft: AssistantDraft) -> AssistantDetails:
        return await self.provider(server).create_assistant(draft)

    async def update_assistant(self, server: str, ai_id: str, draft: AssistantDraft) -> AssistantDetails:
        """Send the whole draft as the AI's new definition (start it from `edit_draft`)."""
        return await self.provider(server).update_assistant(ai_id, draft)

    def edit_draft(self, server: str, details: AssistantDetails) -> AssistantDraft:
        """The assistant's current definition as a draft to change (UnsupportedError where the
        server's API cannot edit assistants)."""
        return self.provider(server).edit_draft(details)
