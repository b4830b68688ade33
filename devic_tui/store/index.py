"""The search index: one SQLite file (standard library, FTS5) holding a row per conversation for the
sidebar and every message's text for full-text search. It is a cache; the transcript files are the
truth, and the store rebuilds it from them when it is missing, corrupt or stale.

Each conversation row keeps the size and modification time of its files, so a cheap directory scan
at open finds what changed behind the index. The FTS table stores each message's text and its
conversation's title (so a title matches too); its rowid is the `messages` row's. It also holds the
conversation's server, assistant and tags, each value one opaque token (`filter_token`) in a column
of its own, so a search's filters are part of its full-text query: FTS5 walks only the messages that
match the words and the filters together, however few the filters let through. A table of tags
(case-folded, with the conversation's `updated_ts`) lists the chats of a tag newest first without
reading the others. `days` holds, for each UTC day of the messages' dates, the lowest and highest
rowid among them: bounds on the rowid for a search between dates, read from a row a day (rowids
grow as messages are written, so FTS5 then skips nearly every row outside the dates). A message
removed leaves its day's bounds as they were: wider than need be, never wrong. Each `messages` row
also keeps the message's token usage (input, output, cached, total: NULL where the server did not
say), the model that answered, and whether it is a copy (`COPY_OF`: a fork's or a duplicate's,
whose tokens the original spent), for the usage ledger (`usage_groups`). Not thread-safe by itself:
the store serialises every call under its own lock.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import TypeAdapter

from devic_tui.files import make_private_dir, make_private_file
from devic_tui.records import Conversation, ConversationSummary, SearchHit, StoredMessage

INDEX_VERSION = 6
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
CREATE INDEX IF NOT EXISTS conversations_server ON conversations(server, updated_ts);
CREATE INDEX IF NOT EXISTS conversations_archived ON conversations(updated_ts) WHERE archived = 1;
CREATE INDEX IF NOT EXISTS conversations_server_archived ON conversations(server, updated_ts)
    WHERE archived = 1;
CREATE INDEX IF NOT EXISTS conversations_remote ON conversations(server, remote_id);
CREATE TABLE IF NOT EXISTS tags(
    conversation_id TEXT NOT NULL, tag TEXT NOT NULL, updated_ts REAL NOT NULL,
    PRIMARY KEY(conversation_id, tag)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_newest ON tags(tag, updated_ts);
CREATE TABLE IF NOT EXISTS messages(
    rowid INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, id TEXT NOT NULL, role TEXT NOT NULL,
    created_at TEXT NOT NULL, created_ts REAL NOT NULL, remote_chat_id TEXT,
    input_tokens INTEGER, output_tokens INTEGER, cached_tokens INTEGER, total_tokens INTEGER, model TEXT,
    copied INTEGER, UNIQUE(conversation_id, id));
CREATE INDEX IF NOT EXISTS messages_time ON messages(created_ts);
CREATE INDEX IF NOT EXISTS messages_remote ON messages(remote_chat_id) WHERE remote_chat_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS days(day INTEGER PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    content, title, server, assistant, tags,
    tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3');
"""
_TABLES = ("fts", "messages", "days", "tags", "conversations")
DAY = 86400
_TEXT_COLUMNS = "{content title}"
"""What a person's words are matched against; the other columns hold the filters' tokens."""
SNIPPET_TOKENS = 24
_PAD = " ".join(["0"] * SNIPPET_TOKENS)
"""Put before the tags of a chat that has more than SNIPPET_TOKENS of them (see `_filter_columns`)."""

FileState = tuple[int, int] | None
"""A file's (mtime_ns, size), or None when it does not exist."""


@dataclass(frozen=True)
class Stamp:
    """What the index last saw of a conversation's snapshot and journal."""

    snapshot: FileState = None
    journal: FileState = None

    def flat(self) -> FlatStamp:
        snap, journal = self.snapshot or (None, None), self.journal or (None, None)
        return (*snap, *journal)


FlatStamp = tuple[int | None, int | None, int | None, int | None]
"""A Stamp as the index's four columns (snapshot mtime and size, journal mtime and size): what the
check at open compares, for every conversation, without making an object for each."""


UsageColumns = tuple[int | None, int | None, int | None, int | None, str | None, int | None]
"""A message's (input, output, cached, total) tokens, its model and 1 if it is a copy (else None),
as the `messages` row keeps them."""


def _usage_columns(message: StoredMessage) -> UsageColumns:
    model, copied = message.model, 1 if message.is_copy else None
    usage = message.usage
    if usage is None:
        return None, None, None, None, model, copied
    return usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.total_tokens, model, copied


class UsageGroup(NamedTuple):
    """The answers of one local day, server, assistant and model, and their tokens summed (unknown
    figures count as 0; `total` is each answer's total_tokens, else its input plus output)."""

    day: str
    """The local date, YYYY-MM-DD."""
    server: str
    assistant_id: str
    assistant_name: str
    model: str | None
    answers: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    total_tokens: int


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


def filter_token(value: str) -> str:
    """A server name, assistant id or (case-folded) tag as one FTS token that stands for it alone:
    `000` and then each UTF-8 byte as three digits. The tokenizer keeps a run of digits whole and
    the porter stemmer leaves it as it is, so the query's token equals the indexed one exactly when
    the values are equal; words a person types never reach these columns (`_TEXT_COLUMNS`)."""
    return "000" + "".join(f"{byte:03d}" for byte in value.encode())


def _tag_keys(tags: list[str]) -> list[str]:
    """A chat's tags as its tag filter matches them: case-folded, each once."""
    return sorted({tag.casefold() for tag in tags})


def _filter_columns(conversation: Conversation) -> tuple[str, str, str]:
    """The FTS `server`, `assistant` and `tags` columns of a conversation's messages.

    snippet(fts, -1, …) shows the column whose best window of SNIPPET_TOKENS tokens holds the most
    distinct phrases of the query (1000 each), earlier columns winning ties; a window that starts a
    column longer than SNIPPET_TOKENS gets +120. A filter puts one phrase in one of these columns,
    which then scores 1000 at most, while the text column a row matched in scores 1000 or more: the
    snippet comes from the text, as without filters. A chat with more tags than SNIPPET_TOKENS has
    them after SNIPPET_TOKENS fillers, so the +120 window at the column's start holds none."""
    keys = [filter_token(tag) for tag in _tag_keys(conversation.tags)]
    tags = " ".join(keys)
    if len(keys) > SNIPPET_TOKENS:
        tags = f"{_PAD} {tags}"
    return filter_token(conversation.server), filter_token(conversation.assistant_id), tags


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
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")

    def _has_tables(self) -> bool:
        return bool(self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])

    def _drop(self) -> None:
        for name in _TABLES:
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

    def flat_stamps(self) -> dict[str, FlatStamp]:
        rows = self.db.execute(
            "SELECT id, snap_mtime, snap_size, journal_mtime, journal_size FROM conversations"
        )
        return {row[0]: row[1:] for row in rows}

    def clear(self) -> None:
        for name in _TABLES:
            self.db.execute(f"DELETE FROM {name}")

    def remove(self, conversation_id: str) -> None:
        self.db.execute(
            "DELETE FROM fts WHERE rowid IN (SELECT rowid FROM messages WHERE conversation_id = ?)",
            (conversation_id,),
        )
        self.db.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
        self.db.execute("DELETE FROM tags WHERE conversation_id = ?", (conversation_id,))
        self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def put_conversation(self, conversation: Conversation, stamp: Stamp) -> None:
        """Index a whole conversation, replacing what was there."""
        self.remove(conversation.id)
        self.put_header(conversation, stamp, len(conversation.messages))
        title = _clean(conversation.title)
        filters = _filter_columns(conversation)
        for message in conversation.messages:
            cursor = self.db.execute(
                "INSERT OR REPLACE INTO messages(conversation_id, id, role, created_at, created_ts, "
                "remote_chat_id, input_tokens, output_tokens, cached_tokens, total_tokens, model, copied) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation.id,
                    message.id,
                    message.role,
                    message.created_at.isoformat(),
                    _ts(message.created_at),
                    message.remote_chat_id,
                    *_usage_columns(message),
                ),
            )
            self.db.execute(
                "INSERT INTO fts(rowid, content, title, server, assistant, tags) VALUES (?, ?, ?, ?, ?, ?)",
                (cursor.lastrowid, _clean(message.content), title, *filters),
            )
            self._put_day(message, cursor.lastrowid)

    def _put_day(self, message: StoredMessage, rowid: int | None) -> None:
        """Widen the bounds of the message's day to its rowid."""
        self.db.execute(
            "INSERT INTO days(day, first, last) VALUES (?, ?, ?) ON CONFLICT(day) DO UPDATE "
            "SET first = min(first, excluded.first), last = max(last, excluded.last)",
            (int(_ts(message.created_at) // DAY), rowid, rowid),
        )

    def put_message(self, conversation: Conversation, message: StoredMessage, stamp: Stamp) -> None:
        """Index one message (new or changed) and the conversation's header."""
        title = _clean(conversation.title)
        filters = _filter_columns(conversation)
        found = self.db.execute(
            "SELECT rowid FROM messages WHERE conversation_id = ? AND id = ?", (conversation.id, message.id)
        ).fetchone()
        values = (
            message.role,
            message.created_at.isoformat(),
            _ts(message.created_at),
            message.remote_chat_id,
            *_usage_columns(message),
        )
        if found:
            self.db.execute(
                "UPDATE messages SET role = ?, created_at = ?, created_ts = ?, remote_chat_id = ?, "
                "input_tokens = ?, output_tokens = ?, cached_tokens = ?, total_tokens = ?, model = ?, "
                "copied = ? WHERE rowid = ?",
                (*values, found[0]),
            )
            self.db.execute(
                "UPDATE fts SET content = ?, title = ?, server = ?, assistant = ?, tags = ? WHERE rowid = ?",
                (_clean(message.content), title, *filters, found[0]),
            )
            self._put_day(message, found[0])
        else:
            cursor = self.db.execute(
                "INSERT INTO messages(conversation_id, id, role, created_at, created_ts, remote_chat_id, "
                "input_tokens, output_tokens, cached_tokens, total_tokens, model, copied) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation.id, message.id, *values),
            )
            self.db.execute(
                "INSERT INTO fts(rowid, content, title, server, assistant, tags) VALUES (?, ?, ?, ?, ?, ?)",
                (cursor.lastrowid, _clean(message.content), title, *filters),
            )
            self._put_day(message, cursor.lastrowid)
        count = self.db.execute(
            "SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation.id,)
        ).fetchone()[0]
        self.put_header(conversation, stamp, count)

    def put_header(self, conversation: Conversation, stamp: Stamp, count: int) -> None:
        old = self.db.execute(
            "SELECT title, server, assistant_id, tags FROM conversations WHERE id = ?", (conversation.id,)
        ).fetchone()
        snap, journal = stamp.snapshot or (None, None), stamp.journal or (None, None)
        updated_ts = _ts(conversation.updated_at)
        self.db.execute(
            "INSERT OR REPLACE INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation.id, conversation.title, conversation.server, conversation.assistant_id,
                conversation.assistant_name, conversation.remote_id, conversation.created_at.isoformat(),
                conversation.updated_at.isoformat(), updated_ts, count,
                json.dumps(conversation.tags), int(conversation.archived), *snap, *journal,
            ),
        )  # fmt: skip
        keys = _tag_keys(conversation.tags)
        if keys or (old is not None and old[3] != "[]"):
            self.db.execute("DELETE FROM tags WHERE conversation_id = ?", (conversation.id,))
            self.db.executemany(
                "INSERT INTO tags(conversation_id, tag, updated_ts) VALUES (?, ?, ?)",
                [(conversation.id, key, updated_ts) for key in keys],
            )
        if old is None:
            return
        if (
            old[1:3] != (conversation.server, conversation.assistant_id)
            or _tag_keys(json.loads(old[3])) != keys
        ):
            self.db.execute(
                "UPDATE fts SET title = ?, server = ?, assistant = ?, tags = ? "
                "WHERE rowid IN (SELECT rowid FROM messages WHERE conversation_id = ?)",
                (_clean(conversation.title), *_filter_columns(conversation), conversation.id),
            )
        elif old[0] != conversation.title:
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
        "SELECT json_object('id', c.id, 'title', c.title, 'server', c.server, "
        "'assistant_id', c.assistant_id, 'assistant_name', c.assistant_name, 'remote_id', c.remote_id, "
        "'created_at', c.created_at, "
        "'updated_at', c.updated_at, 'message_count', c.message_count, 'tags', json(c.tags), "
        "'archived', json(CASE c.archived WHEN 0 THEN 'false' ELSE 'true' END)) FROM conversations c"
    )
    """Each row one summary as JSON, for `_summaries`."""
    _SUMMARIES = TypeAdapter(list[ConversationSummary])

    @classmethod
    def _summaries(cls, rows: Iterable[Any]) -> list[ConversationSummary]:
        # The rows validated in one call, from JSON: pydantic-core reads the list without a Python
        # object per field (the sidebar reads hundreds of summaries; ~15 % faster than from rows
        # of values, twice as fast as a model at a time).
        return cls._SUMMARIES.validate_json("[" + ",".join(row[0] for row in rows) + "]")

    @classmethod
    def _summary(cls, row: Any) -> ConversationSummary:
        return cls._summaries([row])[0]

    def summaries(
        self,
        *,
        server: str | None = None,
        servers: Sequence[str] | None = None,
        assistant_id: str | None = None,
        include_archived: bool = False,
        only_archived: bool = False,
        tag: str | None = None,
        limit: int | None = None,
    ) -> list[ConversationSummary]:
        """Newest first. `servers`: those of any of these servers (with `server`, of both)."""
        where, args = self._filters(server, assistant_id, "c.")
        if servers is not None:
            # `+`: walk the chats newest first (an index on the date) and stop at `limit`, rather
            # than gather every chat of these servers from the index on (server, date) and sort them.
            where.append(f"+c.server IN ({', '.join('?' * len(servers))})")
            args += servers
        if only_archived:
            where.append("c.archived = 1")
        elif not include_archived:
            where.append("c.archived = 0")
        if tag is None:
            sql = (
                self._SUMMARY
                + (" WHERE " + " AND ".join(where) if where else "")
                + " ORDER BY c.updated_ts DESC"
            )
        else:
            # The tag's own rows, newest first, lead: a rare tag reads only its chats.
            sql = (
                self._SUMMARY.replace(" FROM conversations c", " FROM tags t CROSS JOIN conversations c")
                + " ON c.id = t.conversation_id WHERE t.tag = ?"
                + "".join(f" AND {w}" for w in where)
                + " ORDER BY t.updated_ts DESC"
            )
            args.insert(0, tag.casefold())
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._summaries(self.db.execute(sql, args))

    def summary(self, conversation_id: str) -> ConversationSummary | None:
        row = self.db.execute(self._SUMMARY + " WHERE c.id = ?", (conversation_id,)).fetchone()
        return self._summary(row) if row else None

    def by_prefix(self, prefix: str) -> list[ConversationSummary]:
        # Ids hold only characters below "~" (`check_id`): those starting with the prefix are the
        # ones in [prefix, prefix + "~"), a range of the primary key.
        rows = self.db.execute(
            self._SUMMARY + " WHERE c.id >= ? AND c.id < ? AND substr(c.id, 1, ?) = ? "
            "ORDER BY c.updated_ts DESC LIMIT 20",
            (prefix, prefix + "~", len(prefix), prefix),
        )
        return self._summaries(rows)

    def by_remote_id(self, server: str, remote_id: str) -> ConversationSummary | None:
        """The conversation that holds a server chat, as the chat it used last or on any branch."""
        row = self.db.execute(
            self._SUMMARY + " WHERE c.server = ? AND (c.remote_id = ? OR c.id IN "
            "(SELECT conversation_id FROM messages WHERE remote_chat_id = ?)) ORDER BY c.updated_ts DESC",
            (server, remote_id, remote_id),
        ).fetchone()
        return self._summary(row) if row else None

    def branch_chats(self, server: str, among: Iterable[str] | None = None) -> set[str]:
        """The server chats the branches of this server's conversations live in; with `among`,
        only those of these chats (each looked up, rather than every message of the server read)."""
        if among is None:
            rows = self.db.execute(
                "SELECT DISTINCT m.remote_chat_id FROM messages m JOIN conversations c "
                "ON c.id = m.conversation_id WHERE c.server = ? AND m.remote_chat_id IS NOT NULL",
                (server,),
            )
        else:
            rows = self.db.execute(
                "SELECT DISTINCT m.remote_chat_id FROM json_each(?) j "
                "CROSS JOIN messages m ON m.remote_chat_id = j.value "
                "JOIN conversations c ON c.id = m.conversation_id WHERE c.server = ?",
                (json.dumps(sorted(set(among))), server),
            )
        return {row[0] for row in rows}

    def usage_groups(self, *, since_ts: float | None = None, server: str | None = None) -> list[UsageGroup]:
        """Every answer (assistant message, any branch, archived chats too; not a copy) written at
        or after `since_ts`, of `server`, summed per local day (SQLite's localtime: the C library's, as
        Python's), server, assistant and model; newest day first, then by server, assistant and
        model (no model first)."""
        where = ["m.role = 'assistant'", "m.copied IS NULL"]
        args: list[Any] = []
        if since_ts is not None:
            where.append("m.created_ts >= ?")
            args.append(since_ts)
        if server is not None:
            where.append("c.server = ?")
            args.append(server)
        rows = self.db.execute(
            "SELECT date(m.created_ts, 'unixepoch', 'localtime') AS day, c.server, c.assistant_id, "
            "max(c.assistant_name), m.model, count(*), coalesce(sum(m.input_tokens), 0), "
            "coalesce(sum(m.output_tokens), 0), coalesce(sum(m.cached_tokens), 0), "
            "coalesce(sum(coalesce(m.total_tokens, m.input_tokens + m.output_tokens, m.input_tokens, "
            "m.output_tokens)), 0) "
            "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE " + " AND ".join(where) + " GROUP BY day, c.server, c.assistant_id, m.model "
            "ORDER BY day DESC, c.server, c.assistant_id, m.model",
            args,
        )
        return [UsageGroup._make(row) for row in rows]

    @staticmethod
    def _filters(server: str | None, assistant_id: str | None, table: str) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if server is not None:
            where.append(f"{table}server = ?")
            args.append(server)
        if assistant_id is not None:
            where.append(f"{table}assistant_id = ?")
            args.append(assistant_id)
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
        # The words match the text columns only; each filter is a token of its own column, so FTS5
        # walks the messages that match both (the SQL conditions below then hold for every row).
        match = f"{_TEXT_COLUMNS} : ({expression})"
        for column, value in (("server", server), ("assistant", assistant_id), ("tags", tag)):
            if value is not None:
                match += f' AND {column} : "{filter_token(value.casefold() if column == "tags" else value)}"'
        where, args = self._filters(server, assistant_id, "c.")
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM tags WHERE conversation_id = c.id AND tag = ?)")
            args.append(tag.casefold())
        # The dates also bound the rowid (from `days`), which FTS5 walks within.
        if since is not None:
            where.append("m.created_ts >= ? AND fts.rowid >= (SELECT min(first) FROM days WHERE day >= ?)")
            args += [_ts(since), int(_ts(since) // DAY)]
        if until is not None:
            where.append("m.created_ts <= ? AND fts.rowid <= (SELECT max(last) FROM days WHERE day <= ?)")
            args += [_ts(until), int(_ts(until) // DAY)]
        sql = (
            "SELECT m.conversation_id, m.id, c.title, c.server, c.assistant_id, m.role, m.created_at, "
            f"snippet(fts, -1, '{_OPEN}', '{_CLOSE}', '…', {SNIPPET_TOKENS}), c.tags, c.archived "
            "FROM fts JOIN messages m ON m.rowid = fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE fts MATCH ?" + "".join(f" AND {w}" for w in where)
        )
        # bm25 weighs the text columns only, as before the filters had columns.
        sql += " ORDER BY bm25(fts, 1, 1, 0, 0, 0)" if order == "relevance" else " ORDER BY fts.rowid DESC"
        sql += " LIMIT ?"
        hits = []
        for row in self.db.execute(sql, (match, *args, limit)):
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
