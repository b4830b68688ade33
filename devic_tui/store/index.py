"""The search index: one SQLite file (standard library, FTS5) holding a row per conversation for the
sidebar and every message's text for full-text search. It is a cache; the transcript files are the
truth, and the store rebuilds it from them when it is missing, corrupt or stale.

Each conversation row keeps the size and modification time of its files, so a cheap directory scan
at open finds what changed behind the index. The FTS table stores each message's text and its
conversation's title (so a title matches too); its rowid is the `messages` row's. Not thread-safe by
itself: the store serialises every call under its own lock.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from devic_tui.files import make_private_dir, make_private_file
from devic_tui.records import Conversation, ConversationSummary, SearchHit, StoredMessage

INDEX_VERSION = 3
_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORDLIKE = re.compile(r"\w")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, server TEXT NOT NULL, assistant_id TEXT NOT NULL,
    assistant_name TEXT NOT NULL, remote_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    updated_ts REAL NOT NULL, message_count INTEGER NOT NULL, tags TEXT NOT NULL, archived INTEGER NOT NULL,
    snap_mtime INTEGER, snap_size INTEGER, journal_mtime INTEGER, journal_size INTEGER);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated_ts);
CREATE INDEX IF NOT EXISTS conversations_remote ON conversations(server, remote_id);
CREATE TABLE IF NOT EXISTS messages(
    rowid INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, id TEXT NOT NULL, role TEXT NOT NULL,
    created_at TEXT NOT NULL, created_ts REAL NOT NULL, remote_chat_id TEXT, UNIQUE(conversation_id, id));
CREATE INDEX IF NOT EXISTS messages_time ON messages(created_ts);
CREATE INDEX IF NOT EXISTS messages_remote ON messages(remote_chat_id) WHERE remote_chat_id IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    content, title, tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3');
"""

FileState = tuple[int, int] | None
"""A file's (mtime_ns, size), or None when it does not exist."""


@dataclass(frozen=True)
class Stamp:
    """What the index last saw of a conversation's snapshot and journal."""

    snapshot: FileState = None
    journal: FileState = None


def fts_query(text: str) -> str:
    """The person's words as a safe FTS5 expression: every term quoted (so punctuation never breaks
    the query), `"a phrase"` kept together, a trailing `*` kept as a prefix match, `OR` passed on."""
    parts: list[str] = []
    for found in _TERM.finditer(text):
        phrase, word = found.group(1), found.group(2)
        if word == "OR" and parts and parts[-1] != "OR":
            parts.append("OR")
            continue
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        raw = raw.rstrip("*") if prefix else raw
        if not _WORDLIKE.search(raw):
            continue
        parts.append('"' + raw.replace('"', '""') + '"' + ("*" if prefix else ""))
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


def split_highlights(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet without its match markers, and the spans the markers enclosed."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece == _OPEN:
            start = length
        elif piece == _CLOSE:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            out.append(piece)
            length += len(piece)
    return "".join(out), spans


def _clean(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "") if (_OPEN in text or _CLOSE in text) else text


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _casefold(value: object) -> str | None:
    # SQLite's own lower() folds ASCII only; tags are matched as people type them.
    return value.casefold() if isinstance(value, str) else None


class IndexCorrupt(Exception):
    """The index file is not a usable database."""


class SearchIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def open(self) -> str | None:
        """Open (creating if needed); returns why the index starts empty ('missing', 'corrupt',
        'from an older version') or None when an existing index was opened as is."""
        reason: str | None = None if self.path.exists() else "missing"
        try:
            self._connect()
            if self.db.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
                if reason is None and self._has_tables():
                    reason = "from an older version"
                self._drop()
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version = {INDEX_VERSION}")
        except sqlite3.DatabaseError:
            self.close()
            self.remove_files()
            self._connect()
            self.db.executescript(_SCHEMA)
            self.db.execute(f"PRAGMA user_version = {INDEX_VERSION}")
            reason = "corrupt"
        return reason

    def _connect(self) -> None:
        make_private_dir(self.path.parent)
        # The index holds the text of every message. SQLite would create the database 0644 (less
        # the umask), and it gives the -wal and -shm files it adds the database file's own mode;
        # so the file is made 0600 before SQLite opens it, and the others follow, whenever SQLite
        # makes them. Changing the umask around connect() instead would be process-wide, racing
        # with other threads' files. Files left by an older version are made private here too.
        # One this user may not write is left to SQLite: it fails to write there, and `open`
        # then rebuilds the index as a new file.
        with contextlib.suppress(PermissionError):
            make_private_file(self.path)
        for companion in (Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            with contextlib.suppress(FileNotFoundError):
                companion.chmod(0o600)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
        self._db.create_function("casefold", 1, _casefold, deterministic=True)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")

    def _has_tables(self) -> bool:
        return bool(self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])

    def _drop(self) -> None:
        for name in ("fts", "messages", "conversations"):
            self.db.execute(f"DROP TABLE IF EXISTS {name}")

    def remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise IndexCorrupt("the index is closed")
        return self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- writing ----------------------------------------------------------------------------------

    def stamps(self) -> dict[str, Stamp]:
        rows = self.db.execute(
            "SELECT id, snap_mtime, snap_size, journal_mtime, journal_size FROM conversations"
        )
        return {
            row[0]: Stamp(
                (row[1], row[2]) if row[1] is not None else None,
                (row[3], row[4]) if row[3] is not None else None,
            )
            for row in rows
        }

    def clear(self) -> None:
        for name in ("fts", "messages", "conversations"):
            self.db.execute(f"DELETE FROM {name}")

    def remove(self, conversation_id: str) -> None:
        self.db.execute(
            "DELETE FROM fts WHERE rowid IN (SELECT rowid FROM messages WHERE conversation_id = ?)",
            (conversation_id,),
        )
        self.db.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
        self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def put_conversation(self, conversation: Conversation, stamp: Stamp) -> None:
        """Index a whole conversation, replacing what was there."""
        self.remove(conversation.id)
        self.put_header(conversation, stamp, len(conversation.messages))
        title = _clean(conversation.title)
        for message in conversation.messages:
            cursor = self.db.execute(
                "INSERT OR REPLACE INTO messages(conversation_id, id, role, created_at, created_ts, "
                "remote_chat_id) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation.id,
                    message.id,
                    message.role,
                    message.created_at.isoformat(),
                    _ts(message.created_at),
                    message.remote_chat_id,
                ),
            )
            self.db.execute(
                "INSERT INTO fts(rowid, content, title) VALUES (?, ?, ?)",
                (cursor.lastrowid, _clean(message.content), title),
            )

    def put_message(self, conversation: Conversation, message: StoredMessage, stamp: Stamp) -> None:
        """Index one message (new or changed) and the conversation's header."""
        title = _clean(conversation.title)
        found = self.db.execute(
            "SELECT rowid FROM messages WHERE conversation_id = ? AND id = ?", (conversation.id, message.id)
        ).fetchone()
        values = (
            message.role,
            message.created_at.isoformat(),
            _ts(message.created_at),
            message.remote_chat_id,
        )
        if found:
            self.db.execute(
                "UPDATE messages SET role = ?, created_at = ?, created_ts = ?, remote_chat_id = ? "
                "WHERE rowid = ?",
                (*values, found[0]),
            )
            self.db.execute(
                "UPDATE fts SET content = ?, title = ? WHERE rowid = ?",
                (_clean(message.content), title, found[0]),
            )
        else:
            cursor = self.db.execute(
                "INSERT INTO messages(conversation_id, id, role, created_at, created_ts, remote_chat_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation.id, message.id, *values),
            )
            self.db.execute(
                "INSERT INTO fts(rowid, content, title) VALUES (?, ?, ?)",
                (cursor.lastrowid, _clean(message.content), title),
            )
        count = self.db.execute(
            "SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation.id,)
        ).fetchone()[0]
        self.put_header(conversation, stamp, count)

    def put_header(self, conversation: Conversation, stamp: Stamp, count: int) -> None:
        old = self.db.execute("SELECT title FROM conversations WHERE id = ?", (conversation.id,)).fetchone()
        snap, journal = stamp.snapshot or (None, None), stamp.journal or (None, None)
        self.db.execute(
            "INSERT OR REPLACE INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation.id, conversation.title, conversation.server, conversation.assistant_id,
                conversation.assistant_name, conversation.remote_id, conversation.created_at.isoformat(),
                conversation.updated_at.isoformat(), _ts(conversation.updated_at), count,
                json.dumps(conversation.tags), int(conversation.archived), *snap, *journal,
            ),
        )  # fmt: skip
        if old is not None and old[0] != conversation.title:
            self.db.execute(
                "UPDATE fts SET title = ? "
                "WHERE rowid IN (SELECT rowid FROM messages WHERE conversation_id = ?)",
                (_clean(conversation.title), conversation.id),
            )

    def set_stamp(self, conversation_id: str, stamp: Stamp) -> None:
        snap, journal = stamp.snapshot or (None, None), stamp.journal or (None, None)
        self.db.execute(
            "UPDATE conversations SET snap_mtime = ?, snap_size = ?, journal_mtime = ?, journal_size = ? "
            "WHERE id = ?",
            (*snap, *journal, conversation_id),
        )

    # --- reading ----------------------------------------------------------------------------------

    _SUMMARY = (
        "SELECT id, title, server, assistant_id, assistant_name, remote_id, created_at, updated_at, "
        "message_count, tags, archived FROM conversations"
    )

    @staticmethod
    def _summary(row: Any) -> ConversationSummary:
        return ConversationSummary(
            id=row[0], title=row[1], server=row[2], assistant_id=row[3], assistant_name=row[4],
            remote_id=row[5], created_at=row[6], updated_at=row[7], message_count=row[8],
            tags=json.loads(row[9]), archived=bool(row[10]),
        )  # fmt: skip

    def summaries(
        self,
        *,
        server: str | None = None,
        assistant_id: str | None = None,
        include_archived: bool = False,
        only_archived: bool = False,
        tag: str | None = None,
        limit: int | None = None,
    ) -> list[ConversationSummary]:
        where, args = self._filters(server, assistant_id, "", tag)
        if only_archived:
            where.append("archived = 1")
        elif not include_archived:
            where.append("archived = 0")
        sql = self._SUMMARY + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY updated_ts DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._summary(row) for row in self.db.execute(sql, args)]

    def summary(self, conversation_id: str) -> ConversationSummary | None:
        row = self.db.execute(self._SUMMARY + " WHERE id = ?", (conversation_id,)).fetchone()
        return self._summary(row) if row else None

    def by_prefix(self, prefix: str) -> list[ConversationSummary]:
        rows = self.db.execute(
            self._SUMMARY + " WHERE substr(id, 1, ?) = ? ORDER BY updated_ts DESC LIMIT 20",
            (len(prefix), prefix),
        )
        return [self._summary(row) for row in rows]

    def by_remote_id(self, server: str, remote_id: str) -> ConversationSummary | None:
        """The conversation that holds a server chat, as the chat it used last or on any branch."""
        row = self.db.execute(
            self._SUMMARY + " WHERE server = ? AND (remote_id = ? OR id IN "
            "(SELECT conversation_id FROM messages WHERE remote_chat_id = ?)) ORDER BY updated_ts DESC",
            (server, remote_id, remote_id),
        ).fetchone()
        return self._summary(row) if row else None

    def branch_chats(self, server: str) -> set[str]:
        """The server chats the branches of this server's conversations live in."""
        rows = self.db.execute(
            "SELECT DISTINCT m.remote_chat_id FROM messages m JOIN conversations c "
            "ON c.id = m.conversation_id WHERE c.server = ? AND m.remote_chat_id IS NOT NULL",
            (server,),
        )
        return {row[0] for row in rows}

    @staticmethod
    def _filters(
        server: str | None, assistant_id: str | None, table: str, tag: str | None = None
    ) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if server is not None:
            where.append(f"{table}server = ?")
            args.append(server)
        if assistant_id is not None:
            where.append(f"{table}assistant_id = ?")
            args.append(assistant_id)
        if tag is not None:
            where.append(f"EXISTS (SELECT 1 FROM json_each({table}tags) WHERE casefold(value) = ?)")
            args.append(tag.casefold())
        return where, args

    def search(
        self,
        query: str,
        *,
        server: str | None = None,
        assistant_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        tag: str | None = None,
        limit: int = 50,
        order: Literal["relevance", "newest"] = "newest",
    ) -> list[SearchHit]:
        expression = fts_query(query)
        if not expression:
            return []
        where, args = self._filters(server, assistant_id, "c.", tag)
        if since is not None:
            where.append("m.created_ts >= ?")
            args.append(_ts(since))
        if until is not None:
            # also bound the rowid, which lets FTS5 skip newer rows when walking newest first
            where.append(
                "m.created_ts <= ? AND fts.rowid <= (SELECT max(rowid) FROM messages WHERE created_ts <= ?)"
            )
            args += [_ts(until), _ts(until)]
        sql = (
            "SELECT m.conversation_id, m.id, c.title, c.server, c.assistant_id, m.role, m.created_at, "
            f"snippet(fts, -1, '{_OPEN}', '{_CLOSE}', '…', 24), c.tags, c.archived "
            "FROM fts JOIN messages m ON m.rowid = fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE fts MATCH ?" + "".join(f" AND {w}" for w in where)
        )
        sql += " ORDER BY rank" if order == "relevance" else " ORDER BY fts.rowid DESC"
        sql += " LIMIT ?"
        hits = []
        for row in self.db.execute(sql, (expression, *args, limit)):
            snippet, spans = split_highlights(row[7])
            hits.append(
                SearchHit(
                    conversation_id=row[0],
                    message_id=row[1],
                    title=row[2],
                    server=row[3],
                    assistant_id=row[4],
                    role=row[5],
                    created_at=datetime.fromisoformat(row[6]),
                    snippet=snippet,
                    highlights=spans,
                    tags=json.loads(row[8]),
                    archived=bool(row[9]),
                )
            )
        return hits
