"""What the sidebar shows, without Textual: each server's assistants and chats as the service lists
them and as they change, the archived chats (in a section of their own at the bottom, shown or
folded), the marks that follow each conversation (open, answer coming, waiting for a form, unread,
unsent draft), and the flat, ordered rows the sidebar widget draws (filtered, newest first, capped
per assistant). Several conversations may stream at once, so the marks are kept here by
conversation id and survive the server list being read again.

Pure Python: the widget in `widgets/sidebar.py` only turns `rows()` into a tree."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from devic_tui import records
from devic_tui.models import AssistantInfo, RemoteChat
from devic_tui.records import ConversationSummary
from devic_tui.text_safety import one_line

if TYPE_CHECKING:
    from devic_tui.service import ServerListing


@dataclass(frozen=True)
class ChatEntry:
    server: str
    assistant_id: str
    title: str
    updated_at: datetime | None
    conversation_id: str | None = None
    """The local conversation id; None for a chat known only to the server."""
    remote_id: str | None = None
    tags: tuple[str, ...] = ()
    archived: bool = False
    assistant_name: str = field(default="", compare=False)
    """As history last saw it: shown where the server lists no such assistant."""


@dataclass
class ServerEntry:
    name: str
    kind: str
    assistants: list[AssistantInfo] = field(default_factory=list)
    chats: dict[str, list[ChatEntry]] = field(default_factory=dict)
    """Each assistant's chats by assistant id, in no particular order (rows sort them)."""
    error: str | None = None


@dataclass(frozen=True)
class AssistantRef:
    server: str
    assistant: AssistantInfo


@dataclass(frozen=True)
class ArchivedSection:
    """The head of the archived chats' section."""


RowData = ServerEntry | AssistantRef | ChatEntry | ArchivedSection
RowKind = Literal["server", "error", "assistant", "chat", "more", "archived", "hint"]

CHATS_SHOWN = 30
"""Chats listed under each assistant, newest first; the chat finder and search reach the rest."""
MORE_LABEL = "… older chats: Ctrl+L or Ctrl+F find them"
ARCHIVED_LABEL = "Archived"
ARCHIVED_MORE_LABEL = "… older ones: devic-tui chats --archived"
NO_ARCHIVED_LABEL = "No archived chats"
TAGS_SHOWN = 3
"""Tags shown after a chat's title; "+N" says how many more it has."""
TAG_CHARS = 20
NEW_CHAT_LABEL = "New chat"
UNTITLED_LABEL = "(untitled)"
ERROR_CHARS = 80
"""How much of a server's error its row shows; the status line and notifications carry the rest."""

MARK_LIVE = "…"
MARK_ASKING = "?"
MARK_UNREAD = "•"
MARK_DRAFT = "✎"

_OLDEST = datetime.min.replace(tzinfo=UTC)


def age(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago `when` was, shortly: 42s, 5m, 3h, 12d, then the date."""
    if when is None:
        return ""
    seconds = ((now or records.now()) - when).total_seconds()
    for limit, unit in ((60, "s"), (3600, "m"), (86400, "h"), (86400 * 30, "d")):
        if seconds < limit:
            divisor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
            return f"{max(0, int(seconds // divisor))}{unit}"
    return when.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class SidebarRow:
    """One line of the sidebar. `label` and `detail` are already safe to show (no control
    characters, one line); `detail` is the dim suffix drawn right after the label."""

    kind: RowKind
    depth: int
    """0 for a server or the archived section, 1 for an assistant, a server's error or an
    archived chat, 2 for a chat or the "more" line."""
    label: str
    detail: str = ""
    tags: str = ""
    """A chat's tags as shown after its title (`#work #ideas`), already safe; empty for none."""
    mark: str = ""
    """A chat's one-character mark (see `SidebarModel.mark`); empty for other rows."""
    is_open: bool = False
    expand: bool = False
    """An assistant row with chat rows under it (drawn as an expanded node, not a leaf)."""
    data: RowData | None = None


def _newest_first(chats: Iterable[ChatEntry]) -> list[ChatEntry]:
    return sorted(chats, key=lambda c: c.updated_at or _OLDEST, reverse=True)


def _local_entry(summary: ConversationSummary) -> ChatEntry:
    # What ChatEntry(...) makes, a third of the time: a frozen dataclass's __init__ sets each field
    # through object.__setattr__, and a listing makes an entry for each of hundreds of chats.
    entry = object.__new__(ChatEntry)
    entry.__dict__.update(
        server=summary.server,
        assistant_id=summary.assistant_id,
        title=summary.title,
        updated_at=summary.updated_at,
        conversation_id=summary.id,
        remote_id=summary.remote_id,
        tags=tuple(summary.tags),
        archived=summary.archived,
        assistant_name=summary.assistant_name,
    )
    return entry


def _remote_entry(server: str, assistant_id: str, chat: RemoteChat) -> ChatEntry:
    return ChatEntry(
        server=server,
        assistant_id=assistant_id,
        title=chat.title or chat.id,
        updated_at=chat.updated_at or chat.created_at,
        remote_id=chat.id,
    )


def _newer(listed: ChatEntry, known: ChatEntry | None) -> ChatEntry:
    """The listing may have been read before the latest `chat_changed`: keep whichever is newer."""
    if known is None or known.updated_at is None or listed.updated_at is None:
        return listed
    return known if known.updated_at > listed.updated_at else listed


def tags_text(tags: Iterable[str]) -> str:
    """Tags as the sidebar shows them: `#work #ideas +2`, each made safe and cut short."""
    every = [one_line(tag) for tag in tags]
    shown = [f"#{tag[: TAG_CHARS - 1]}…" if len(tag) > TAG_CHARS else f"#{tag}" for tag in every[:TAGS_SHOWN]]
    if len(every) > TAGS_SHOWN:
        shown.append(f"+{len(every) - TAGS_SHOWN}")
    return " ".join(shown)


def _matches(chat: ChatEntry, title: str, query: str) -> bool:
    """Whether a filter (already lower case) matches the chat's title or one of its tags
    (`work` and `#work` both find the tag)."""
    return query in title.lower() or any(query in f"#{tag}".lower() for tag in chat.tags)


def _set_flag(flags: set[str], conversation_id: str, on: bool) -> None:
    if on:
        flags.add(conversation_id)
    else:
        flags.discard(conversation_id)


class SidebarModel:
    """The servers the sidebar lists (in the order first listed) and every chat's marks."""

    def __init__(self) -> None:
        self._servers: dict[str, ServerEntry] = {}
        self._open: str | None = None
        self._live: set[str] = set()
        self._asking: set[str] = set()
        self._unread: set[str] = set()
        self._drafts: set[str] = set()
        self._unsaved: set[str] = set()
        """Conversations not yet in history (no message): listed only while in use."""
        self._archived: list[ChatEntry] = []
        self._show_archived = False

    # Servers and chats

    def set_listing(self, listing: ServerListing) -> None:
        """Replace the server's entry (or add it at the end). Local chats come first, then the
        server's own chats not already kept locally. A chat the listing lacks but that is in use
        (open or marked: an answer coming, a draft…) is kept: the listing may have been read
        before it was saved, and it must not vanish while its answer streams."""
        name = listing.server.name
        local = self._local_chats(listing.local_chats, self._chats_of(name))
        known_remote = {c.remote_id for c in local if c.remote_id} | listing.kept_remote
        remote = [
            _remote_entry(name, assistant_id, chat)
            for assistant_id, chats in listing.remote_chats.items()
            for chat in chats
            if chat.id not in known_remote
        ]
        entry = ServerEntry(name, listing.server.kind, list(listing.assistants), {}, listing.error)
        for chat in (*local, *remote):
            entry.chats.setdefault(chat.assistant_id, []).append(chat)
        self._servers[name] = entry

    def _local_chats(self, listed: list[ConversationSummary], known: list[ChatEntry]) -> list[ChatEntry]:
        """The listed local chats (each the newer of listed and known), then the known ones the
        listing lacks that are in use; an unsaved chat not in use is dropped here."""
        previous = {c.conversation_id: c for c in known if c.conversation_id}
        archived = {c.conversation_id for c in self._archived}
        local: list[ChatEntry] = []
        for summary in listed:
            if summary.id in archived:
                continue  # archived since the listing was read
            self._unsaved.discard(summary.id)  # listed, so it is in history
            local.append(_newer(_local_entry(summary), previous.pop(summary.id, None)))
        for cid, chat in previous.items():
            if self._in_use(cid):
                local.append(chat)
            else:
                self._unsaved.discard(cid)
        return local

    def chat_changed(self, summary: ConversationSummary) -> None:
        """Add or replace a conversation's entry (a new chat, a new title, a new message). One
        with no message is not in history yet: it is listed as "New chat" only while in use.
        A chat of a server not listed yet is left to that server's listing. An archived chat goes
        to the archived section (and a chat no longer archived leaves it)."""
        self._remove(lambda c: c.conversation_id == summary.id)
        if summary.archived:
            self._archived.append(_local_entry(summary))
            return
        entry = self._servers.get(summary.server)
        if entry is None:
            return
        if summary.remote_id:
            self._remove(lambda c: c.remote_id == summary.remote_id, servers=[entry])
        entry.chats.setdefault(summary.assistant_id, []).append(_local_entry(summary))
        _set_flag(self._unsaved, summary.id, summary.message_count == 0)

    def set_archived(self, summaries: list[ConversationSummary]) -> None:
        """The archived chats as the service lists them, replacing those known."""
        self._archived = [_local_entry(summary) for summary in summaries if summary.archived]

    @property
    def archived_shown(self) -> bool:
        """Whether the archived section is unfolded."""
        return self._show_archived

    def show_archived(self, shown: bool) -> None:
        self._show_archived = shown

    def archived_chats(self) -> list[ChatEntry]:
        return _newest_first(self._archived)

    def forget(self, conversation_id: str) -> None:
        """Remove a conversation (deleted) and all its marks."""
        self._remove(lambda c: c.conversation_id == conversation_id)
        for flags in (self._live, self._asking, self._unread, self._drafts, self._unsaved):
            flags.discard(conversation_id)
        if self._open == conversation_id:
            self._open = None

    def _remove(
        self, doomed: Callable[[ChatEntry], bool], servers: Iterable[ServerEntry] | None = None
    ) -> None:
        """Remove matching chats from the servers' lists (from every server's and the archived
        section when `servers` is None)."""
        for entry in self._servers.values() if servers is None else servers:
            for chats in entry.chats.values():
                chats[:] = [c for c in chats if not doomed(c)]
        if servers is None:
            self._archived = [c for c in self._archived if not doomed(c)]

    def _chats_of(self, server: str) -> list[ChatEntry]:
        entry = self._servers.get(server)
        return [c for chats in entry.chats.values() for c in chats] if entry else []

    # Lookup

    def servers(self) -> list[ServerEntry]:
        return list(self._servers.values())

    def entry(self, server: str) -> ServerEntry | None:
        return self._servers.get(server)

    def assistant(self, server: str, assistant_id: str) -> AssistantInfo | None:
        entry = self._servers.get(server)
        if entry is None:
            return None
        return next((a for a in entry.assistants if a.id == assistant_id), None)

    def default_assistant(self) -> tuple[str, AssistantInfo] | None:
        """The first assistant of the first server (in listing order) that has any."""
        for entry in self._servers.values():
            if entry.assistants:
                return entry.name, entry.assistants[0]
        return None

    def find_chat(self, conversation_id: str) -> ChatEntry | None:
        for entry in self._servers.values():
            for chats in entry.chats.values():
                for chat in chats:
                    if chat.conversation_id == conversation_id:
                        return chat
        return next((c for c in self._archived if c.conversation_id == conversation_id), None)

    def all_chats(self) -> list[ChatEntry]:
        """Every chat the sidebar could list (the server's own included; archived ones not),
        newest first."""
        return _newest_first(c for name in self._servers for c in self._chats_of(name) if self._listed(c))

    def is_unsaved(self, conversation_id: str) -> bool:
        """Whether the conversation is a new chat with no message, not in history yet."""
        return conversation_id in self._unsaved

    # Marks

    @property
    def open_id(self) -> str | None:
        """The conversation on screen."""
        return self._open

    def set_open(self, conversation_id: str | None) -> None:
        """The chat now on screen; opening it is looking at it, so it is no longer unread."""
        self._open = conversation_id
        if conversation_id is not None:
            self._unread.discard(conversation_id)

    def set_live(self, conversation_id: str, live: bool) -> None:
        """An answer is coming in this chat (or no longer)."""
        _set_flag(self._live, conversation_id, live)

    def set_asking(self, conversation_id: str, asking: bool) -> None:
        """The assistant waits for a form to be filled in this chat (or no longer)."""
        _set_flag(self._asking, conversation_id, asking)

    def mark_unread(self, conversation_id: str) -> None:
        """A finished answer nobody has looked at; the chat on screen is being looked at, so it
        is never unread."""
        if conversation_id != self._open:
            self._unread.add(conversation_id)

    def mark_seen(self, conversation_id: str) -> None:
        self._unread.discard(conversation_id)

    def set_draft(self, conversation_id: str, draft: bool) -> None:
        """The chat holds an unsent draft (or no longer)."""
        _set_flag(self._drafts, conversation_id, draft)

    def live_count(self, excluding: str | None = None) -> int:
        """Answers coming in chats other than `excluding` (say, the one on screen)."""
        return len(self._live - {excluding}) if excluding is not None else len(self._live)

    def mark(self, conversation_id: str) -> str:
        """The one character shown before a chat's title, the most pressing first: a form
        waiting for the person, an answer coming, an unread answer, an unsent draft; else empty."""
        for flags, mark in (
            (self._asking, MARK_ASKING),
            (self._live, MARK_LIVE),
            (self._unread, MARK_UNREAD),
            (self._drafts, MARK_DRAFT),
        ):
            if conversation_id in flags:
                return mark
        return ""

    def _in_use(self, conversation_id: str) -> bool:
        """Open or marked: a chat the person is busy with, kept listed whatever the listing says."""
        return conversation_id == self._open or bool(self.mark(conversation_id))

    def _listed(self, chat: ChatEntry) -> bool:
        """An unsaved new chat is listed only while in use; every other chat always is."""
        cid = chat.conversation_id
        return cid is None or cid not in self._unsaved or self._in_use(cid)

    # Rows

    def rows(self, query: str = "", *, now: datetime | None = None) -> list[SidebarRow]:
        """What the sidebar shows, top to bottom. `query` filters (case-insensitive): an assistant
        whose name matches keeps all its chats, otherwise only chats whose title or a tag matches
        stay, and a server left with nothing is dropped. The archived section comes last, while
        there is an archived chat (or it is unfolded). `now` is for the ages (tests pin it)."""
        needle = query.strip().lower()
        when = now or records.now()
        rows = [row for server in self._servers.values() for row in self._server_rows(server, needle, when)]
        return rows + self._archived_rows(needle, when)

    def _archived_rows(self, query: str, now: datetime) -> list[SidebarRow]:
        unfolded = self._show_archived
        if not query and not unfolded:  # folded: only the count
            return [self._archived_head(len(self._archived), unfolded)] if self._archived else []
        chats = [c for c in self.archived_chats() if _matches(c, self._title(c), query)]
        if not chats and (query or not unfolded):
            return []
        head = self._archived_head(len(chats), unfolded)
        if not unfolded:
            return [head]
        if not chats:
            return [head, SidebarRow("hint", 1, NO_ARCHIVED_LABEL)]
        rows = [head]
        for chat in chats[:CHATS_SHOWN]:
            assistant = self.assistant(chat.server, chat.assistant_id)
            name = assistant.name if assistant else chat.assistant_name or chat.assistant_id
            where = one_line(f"{name} · {chat.server}")
            rows.append(self._chat_row(chat, now, depth=1, where=where))
        if len(chats) > CHATS_SHOWN:
            rows.append(SidebarRow("more", 1, ARCHIVED_MORE_LABEL))
        return rows

    @staticmethod
    def _archived_head(count: int, unfolded: bool) -> SidebarRow:
        return SidebarRow(
            "archived", 0, ARCHIVED_LABEL, f" ({count})", expand=unfolded, data=ArchivedSection()
        )

    def _server_rows(self, server: ServerEntry, query: str, now: datetime) -> list[SidebarRow]:
        below: list[SidebarRow] = []
        if server.error:
            below.append(SidebarRow("error", 1, one_line(server.error)[:ERROR_CHARS]))
        for assistant in self._assistants_shown(server):
            below.extend(self._assistant_rows(server, assistant, query, now))
        if query and not below:
            return []
        head = SidebarRow("server", 0, one_line(server.name), f"  {one_line(server.kind)}", data=server)
        return [head, *below]

    @staticmethod
    def _assistants_shown(server: ServerEntry) -> list[AssistantInfo]:
        """The server's assistants, then any that only its chats name (an assistant the server no
        longer lists, or one asked for by name), so no chat is left without a place."""
        listed = {assistant.id for assistant in server.assistants}
        extra = [
            AssistantInfo(id=assistant_id, name=assistant_id)
            for assistant_id, chats in server.chats.items()
            if assistant_id not in listed and chats
        ]
        return [*server.assistants, *extra]

    def _assistant_rows(
        self, server: ServerEntry, assistant: AssistantInfo, query: str, now: datetime
    ) -> list[SidebarRow]:
        chats = _newest_first(c for c in server.chats.get(assistant.id, []) if self._listed(c))
        name_matches = not query or query in assistant.name.lower()
        shown = [c for c in chats if name_matches or _matches(c, self._title(c), query)]
        if query and not name_matches and not shown:
            return []
        ref = AssistantRef(server.name, assistant)
        rows = [SidebarRow("assistant", 1, one_line(assistant.name), expand=bool(shown), data=ref)]
        rows.extend(self._chat_row(chat, now) for chat in shown[:CHATS_SHOWN])
        if len(shown) > CHATS_SHOWN:
            rows.append(SidebarRow("more", 2, MORE_LABEL))
        return rows

    def _chat_row(self, chat: ChatEntry, now: datetime, *, depth: int = 2, where: str = "") -> SidebarRow:
        cid = chat.conversation_id
        cloud = "" if cid else " ☁"
        place = f"  {where}" if where else ""
        return SidebarRow(
            "chat",
            depth,
            one_line(self._title(chat)),
            f"{cloud}{place}  {age(chat.updated_at, now)}",
            tags=tags_text(chat.tags),
            mark=self.mark(cid) if cid else "",
            is_open=cid is not None and cid == self._open,
            data=chat,
        )

    def _title(self, chat: ChatEntry) -> str:
        if chat.conversation_id in self._unsaved:
            return NEW_CHAT_LABEL
        return chat.title or UNTITLED_LABEL
