"""The transcript store: one snapshot file per conversation (`<id>.json` or `<id>.toml`) plus an
append-only journal (`<id>.journal.jsonl`), and the SQLite index kept current beside them.

Recording a message appends one fsynced JSON line to the journal (never a rewrite of the file), and
updates the index. `load` reads the snapshot and replays the journal (a torn last line, from a write
killed half way, is ignored). `save`, `compact` and `close` fold the journal into a fresh snapshot,
written atomically (temporary file in the same folder, fsync, rename, fsync of the folder); so does a
final `save_message` once the journal outgrows the snapshot, which keeps the cost amortised.

A snapshot that does not parse goes to `quarantine/` with a notice; one from a newer schema is refused
and never written to. The files are the truth: the index is rebuilt from them when missing or corrupt,
and a directory scan at open re-reads only the conversations whose files changed behind its back.

Two instances on one directory: the first takes an advisory lock (`.lock`; an app takes it at
start with `claim`, a command at its first write); a second sets
`read_only_reason` and still records messages (journal lines are appended atomically), and its `save`
journals the whole conversation instead of rewriting the snapshot, but it never compacts; the
instance holding the lock does that. Nothing here ever sees a token: the models hold none.

Every method may be called from worker threads; one lock serialises them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from devic_tui.files import make_private_dir, sync_directory
from devic_tui.models import ChatSettings
from devic_tui.records import SCHEMA_VERSION, Conversation, ConversationSummary, SearchHit, StoredMessage
from devic_tui.store import codecs
from devic_tui.store.codecs import (
    FORMATS,
    CorruptTranscriptError,
    Format,
    NewerSchemaError,
    TranscriptError,
    check_id,
    journal_name,
    snapshot_name,
)
from devic_tui.store.index import FlatStamp, SearchIndex, Stamp, UsageGroup

if sys.platform != "win32":
    import fcntl

__all__ = [
    "CorruptTranscriptError",
    "NewerSchemaError",
    "SearchHit",
    "TranscriptError",
    "TranscriptStore",
]

JOURNAL_MIN_COMPACT = 512 * 1024
"""A journal is folded on a final save once it is larger than this and than the snapshot."""


def _state(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class TranscriptStore:
    def __init__(self, directory: Path, fmt: Format = "json", *, index_path: Path | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"transcript format must be one of {FORMATS}, not {fmt!r}")
        self.directory = Path(directory)
        self.fmt: Format = fmt
        self.index_path = index_path or self.directory.parent / "index.sqlite3"
        self.notices: list[str] = []
        """Things a person should know (a file quarantined, one refused, the index rebuilt)."""
        self.read_only_reason: str | None = None
        """Set when another instance holds this history: messages are still recorded, never compacted."""
        self._lock = threading.RLock()
        self._index: SearchIndex | None = None
        self._lock_fd: int | None = None
        self._tokens: dict[str, str] = {}
        self._tail_checked: set[str] = set()
        self._checked: set[str] = set()
        self._journaled: set[str] = set()
        self._written: dict[tuple[str, str], str] = {}
        """(conversation, message) -> the text last saved of a message still being written."""
        self._outdated: set[str] = set()
        """Conversations whose files are from an older schema: read as they are, and written whole
        in the current one at their next change (never by an instance without the lock)."""
        if self.directory.is_dir():
            self._take_lock()

    # --- paths and files --------------------------------------------------------------------------

    @property
    def trash_dir(self) -> Path:
        return self.directory / "trash"

    @property
    def quarantine_dir(self) -> Path:
        return self.directory / "quarantine"

    def _snapshot(self, conversation_id: str, directory: Path | None = None) -> tuple[Path, Format] | None:
        """The snapshot file and its format; the newer one if both formats exist."""
        where = directory or self.directory
        found: list[tuple[int, Path, Format]] = []
        for fmt in (self.fmt, *(f for f in FORMATS if f != self.fmt)):
            path = where / snapshot_name(conversation_id, fmt)
            state = _state(path)
            if state:
                found.append((state[0], path, fmt))
        if not found:
            return None
        _, path, fmt = max(found, key=lambda item: item[0])
        return path, fmt

    def _journal(self, conversation_id: str, directory: Path | None = None) -> Path:
        return (directory or self.directory) / journal_name(conversation_id)

    def _stamp(self, conversation_id: str) -> Stamp:
        snap = self._snapshot(conversation_id)
        return Stamp(_state(snap[0]) if snap else None, _state(self._journal(conversation_id)))

    def _take_lock(self) -> None:
        if self._lock_fd is not None or self.read_only_reason or sys.platform == "win32":
            return
        path = self.directory / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            self.read_only_reason = (
                f"Another devic-tui is using {self.directory}; this one records new messages but leaves "
                "tidying the files to the other."
            )
            return
        self._lock_fd = fd
        for stale in self.directory.glob(".*.tmp"):  # left by a write killed half way
            with contextlib.suppress(OSError):
                stale.unlink()

    def _ensure_dir(self) -> None:
        if not self.directory.is_dir():
            make_private_dir(self.directory)
        self._take_lock()

    def claim(self) -> None:
        """Make the folder now and try the lock, rather than at the first write: an app calls this
        at start, so that of two started before the history existed, the second is told at once
        that the first holds it (`read_only_reason`). Raises OSError."""
        with self._lock:
            self._ensure_dir()

    def _write_snapshot(self, conversation: Conversation, folded: str | None) -> None:
        data = codecs.encode_snapshot(conversation, self.fmt, folded_journal=folded)
        target = self.directory / snapshot_name(conversation.id, self.fmt)
        tmp = self.directory / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, target)
        for fmt in FORMATS:
            if fmt != self.fmt:
                (self.directory / snapshot_name(conversation.id, fmt)).unlink(missing_ok=True)
        sync_directory(self.directory)

    def _append(self, conversation_id: str, record: bytes) -> None:
        path = self._journal(conversation_id)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                token = uuid.uuid4().hex
                self._tokens[conversation_id] = token
                record = codecs.journal_header(token) + record
            elif conversation_id not in self._tail_checked:
                self._drop_torn_tail(fd, size)
            _write_all(fd, record)
            os.fsync(fd)
        finally:
            os.close(fd)
        if size == 0:
            sync_directory(self.directory)
        self._tail_checked.add(conversation_id)

    @staticmethod
    def _drop_torn_tail(fd: int, size: int) -> None:
        """Cut a last line left unfinished by a killed write, so the next line starts clean."""
        end = size
        while end > 0:
            start = max(0, end - 65536)
            block = os.pread(fd, end - start, start)
            if end == size and block.endswith(b"\n"):
                return
            cut = block.rfind(b"\n")
            if cut >= 0:
                os.ftruncate(fd, start + cut + 1)
                return
            end = start
        os.ftruncate(fd, 0)

    def _token(self, conversation_id: str) -> str | None:
        """The id of the conversation's current journal, read from its first line if not known."""
        if conversation_id in self._tokens:
            return self._tokens[conversation_id]
        try:
            with self._journal(conversation_id).open("rb") as file:
                first = file.readline()
        except FileNotFoundError:
            return None
        journal = codecs.decode_journal(first if first.endswith(b"\n") else b"", "journal")
        if journal.token:
            self._tokens[conversation_id] = journal.token
        return journal.token

    def _check_writable(self, conversation_id: str) -> None:
        """Refuse to write over a file from a newer schema; look at a file's head once a session."""
        if conversation_id in self._checked:
            return
        for path in (
            snap[0] if (snap := self._snapshot(conversation_id)) else None,
            self._journal(conversation_id),
        ):
            if path is None:
                continue
            try:
                with path.open("rb") as file:
                    head = file.read(256)
            except FileNotFoundError:
                continue
            version = codecs.peek_schema(head)
            if version is not None and version > SCHEMA_VERSION:
                codecs.check_schema(version, path.name)
            if version is not None and version < SCHEMA_VERSION:
                self._outdated.add(conversation_id)
        self._checked.add(conversation_id)

    def _quarantine(self, conversation_id: str, error: TranscriptError) -> None:
        make_private_dir(self.quarantine_dir)
        moved = []
        stamp = time.strftime("%Y%m%d-%H%M%S")
        snap = self._snapshot(conversation_id)
        for path in (snap[0] if snap else None, self._journal(conversation_id)):
            if path is None or not path.exists():
                continue
            target = self.quarantine_dir / path.name
            if target.exists():
                target = self.quarantine_dir / f"{path.name}.{stamp}"
            os.replace(path, target)
            with contextlib.suppress(OSError):
                os.chmod(target, 0o600)  # it may have been copied in by hand, readable by all
            moved.append(target.name)
        self._forget(conversation_id)
        if self._index is not None:
            self._index.remove(conversation_id)
        if moved:
            self.notices.append(f"{error} Moved aside to {self.quarantine_dir}: {', '.join(moved)}.")

    def _forget(self, conversation_id: str) -> None:
        self._tokens.pop(conversation_id, None)
        self._tail_checked.discard(conversation_id)
        self._checked.discard(conversation_id)
        self._journaled.discard(conversation_id)
        self._outdated.discard(conversation_id)

    # --- reading ----------------------------------------------------------------------------------

    def _read(
        self, conversation_id: str, directory: Path | None = None, *, quarantine: bool = True
    ) -> Conversation:
        where = directory or self.directory
        snap = self._snapshot(conversation_id, where)
        base: Conversation | None = None
        folded: str | None = None
        try:
            if snap:
                decoded = codecs.decode_snapshot(snap[0].read_bytes(), snap[1], snap[0].name)
                base, folded = decoded.conversation, decoded.folded_journal
            conversation = base
            journal_path = self._journal(conversation_id, where)
            if journal_path.exists():
                journal = codecs.decode_journal(journal_path.read_bytes(), journal_path.name)
                self.notices.extend(journal.problems)
                if journal.token is None or journal.token != folded:
                    conversation, problems = codecs.replay(base, journal, journal_path.name)
                    self.notices.extend(problems)
                if conversation is None:
                    raise CorruptTranscriptError(f"{journal_path.name} holds no conversation header.")
        except NewerSchemaError as error:
            self.notices.append(str(error))
            raise
        except CorruptTranscriptError as error:
            if quarantine and where == self.directory:
                self._quarantine(conversation_id, error)
            raise
        except OSError as error:
            raise TranscriptError(f"Cannot read conversation {conversation_id}: {error}") from None
        if conversation is None:
            raise TranscriptError(f"No conversation {conversation_id} in {where}.")
        conversation.id = conversation_id
        return conversation

    def load(self, conversation_id: str) -> Conversation:
        """The conversation as last recorded: snapshot plus journal. TranscriptError if missing,
        corrupt (then quarantined) or from a newer schema (left untouched)."""
        check_id(conversation_id)
        with self._lock:
            return self._read(conversation_id)

    # --- the index --------------------------------------------------------------------------------

    def _index_ready(self) -> SearchIndex | None:
        """The open index, synced with the files at first use; None while there is no history at all."""
        if self._index is not None:
            return self._index
        if not self.directory.is_dir() and not self.index_path.exists():
            return None
        if self.directory.is_dir():
            self._take_lock()
        index = SearchIndex(self.index_path)
        reason = index.open()
        self._index = index
        count = self._sync(full=False)
        if (reason and reason != "missing") or (reason == "missing" and count):
            self.notices.append(f"The search index was {reason}; it was rebuilt from {count} transcript(s).")
        return index

    def _need_index(self) -> SearchIndex:
        """The index, before a write: the directory exists and this instance has tried the lock."""
        self._ensure_dir()
        index = self._index_ready()
        assert index is not None
        return index

    def _on_disk(self) -> dict[str, FlatStamp]:
        """What the directory holds of each conversation, as `Stamp.flat` would put it."""
        snaps: dict[str, tuple[int, int]] = {}
        journals: dict[str, tuple[int, int]] = {}
        if not self.directory.is_dir():
            return {}
        with os.scandir(self.directory) as entries:
            for entry in entries:
                parsed = codecs.parse_name(entry.name)
                if parsed is None or not entry.is_file():
                    continue
                st = entry.stat()
                cid, kind = parsed
                state = (st.st_mtime_ns, st.st_size)
                if kind == "journal":
                    journals[cid] = state
                elif (other := snaps.get(cid)) is None or (state[0], kind == FORMATS[0]) > (other[0], False):
                    snaps[cid] = state  # the newer snapshot; the first format's if as new
        none = (None, None)
        return {
            cid: (*snaps.get(cid, none), *journals.get(cid, none)) for cid in snaps.keys() | journals.keys()
        }

    def _sync(self, *, full: bool) -> int:
        """Bring the index in line with the files; returns how many conversations were re-read."""
        index = self._index
        assert index is not None
        on_disk = self._on_disk()
        known = {} if full else index.flat_stamps()
        changed = [cid for cid, stamp in on_disk.items() if known.get(cid) != stamp]
        # Read in the order the files were last written, not the directory's: the index numbers
        # messages as they come, and its search walks those numbers newest first.
        changed.sort(key=lambda cid: (max(on_disk[cid][0] or 0, on_disk[cid][2] or 0), cid))
        with index.transaction():
            if full:
                index.clear()
            for cid in known.keys() - on_disk.keys():
                index.remove(cid)
            for cid in changed:
                self._reindex(cid)
        return len(changed)

    def _reindex(self, conversation_id: str) -> None:
        index = self._index
        assert index is not None
        stamp = self._stamp(conversation_id)
        try:
            conversation = self._read(conversation_id)
        except TranscriptError:
            index.remove(conversation_id)
            return
        index.put_conversation(conversation, stamp)

    def rebuild_index(self) -> int:
        """Re-read every transcript into an empty index; returns how many conversations it holds."""
        with self._lock:
            index = self._index_ready()
            if index is None:
                return 0
            self._sync(full=True)
            return len(index.stamps())

    # --- writing ----------------------------------------------------------------------------------

    def save_message(
        self, conversation: Conversation, message: StoredMessage, *, final: bool = False
    ) -> None:
        """Record one message (new, or replacing the one with its id) and the conversation's header
        by appending a journal line; the first message of a new conversation writes its snapshot."""
        self.save_messages(conversation, [message], final=final)

    def save_messages(
        self, conversation: Conversation, messages: list[StoredMessage], *, final: bool = False
    ) -> None:
        """Record several messages at once (a journal line each, in one append)."""
        check_id(conversation.id)
        with self._lock:
            index = self._need_index()
            self._check_writable(conversation.id)
            cid = conversation.id
            fresh = self._snapshot(cid) is None and not self._journal(cid).exists()
            if fresh:
                known = {m.id for m in conversation.messages}
                added = [m for m in messages if m.id not in known]
                whole = conversation
                if added:
                    whole = conversation.model_copy(update={"messages": [*conversation.messages, *added]})
                self._save_unlocked(whole)
                return
            if cid in self._outdated and not self.read_only_reason:
                self._save_unlocked(self._recorded(conversation, messages))
                return
            header = codecs.header_plain(conversation)
            lines = b"".join(self._journal_line(cid, header, m, final) for m in messages)
            try:
                self._append(cid, lines)
            except BaseException:
                self._remember_written(cid, messages, still_growing=False)  # the next line is whole
                raise
            self._remember_written(cid, messages, still_growing=not final)
            self._journaled.add(cid)
            stamp = self._stamp(cid)
            with index.transaction():
                for message in messages:
                    index.put_message(conversation, message, stamp)
            grown = (
                stamp.journal
                and stamp.snapshot
                and stamp.journal[1] > max(JOURNAL_MIN_COMPACT, stamp.snapshot[1])
            )
            if final and grown and not self.read_only_reason:
                self._compact_unlocked(cid)

    def _journal_line(self, cid: str, header: dict[str, Any], message: StoredMessage, final: bool) -> bytes:
        """A message's journal line: while it is being written and its text only grew since the
        last line, the text added; else the whole message."""
        before = self._written.get((cid, message.id))
        if not final and before is not None and message.content.startswith(before):
            return codecs.journal_growth(header, message, len(before))
        return codecs.journal_record(header=header, message=message)

    def _remember_written(self, cid: str, messages: list[StoredMessage], *, still_growing: bool) -> None:
        """What the journal now holds of messages still being written, for their next lines;
        nothing for the others."""
        for message in messages:
            if still_growing:
                self._written[(cid, message.id)] = message.content
            else:
                self._written.pop((cid, message.id), None)

    def _recorded(self, conversation: Conversation, records: list[StoredMessage]) -> Conversation:
        """The conversation as the files hold it once these records are added (what journal lines
        would make of it): the files' messages, which another instance may have added to since the
        caller read them, each record replacing the message with its id or after them, and the
        caller's header. A file that cannot be read (now quarantined) gives the caller's copy."""
        try:
            messages = list(self._read(conversation.id).messages)
        except NewerSchemaError:
            raise
        except TranscriptError:
            messages = list(conversation.messages)
        position = {m.id: i for i, m in enumerate(messages)}
        for message in records:
            if message.id in position:
                messages[position[message.id]] = message
            else:
                position[message.id] = len(messages)
                messages.append(message)
        return conversation.model_copy(update={"messages": messages})

    def save(self, conversation: Conversation) -> None:
        """Write the whole conversation (atomic rewrite) and clear its journal."""
        check_id(conversation.id)
        with self._lock:
            self._need_index()
            self._check_writable(conversation.id)
            self._save_unlocked(conversation)

    def _save_unlocked(self, conversation: Conversation) -> None:
        index = self._need_index()
        cid = conversation.id
        if self.read_only_reason:
            record = codecs.journal_record(
                header=codecs.header_plain(conversation), messages=conversation.messages
            )
            self._append(cid, record)
        else:
            journal = self._journal(cid)
            self._write_snapshot(conversation, self._token(cid) if journal.exists() else None)
            journal.unlink(missing_ok=True)
            self._forget(cid)
            self._checked.add(cid)
        with index.transaction():
            index.put_conversation(conversation, self._stamp(cid))

    def compact(self, conversation_id: str) -> None:
        """Fold the journal into the snapshot (skipped by an instance without the lock)."""
        check_id(conversation_id)
        with self._lock:
            self._need_index()
            self._check_writable(conversation_id)
            self._compact_unlocked(conversation_id)

    def _compact_unlocked(self, conversation_id: str) -> None:
        if self.read_only_reason or not self._journal(conversation_id).exists():
            self._journaled.discard(conversation_id)
            return
        conversation = self._read(conversation_id)
        token = self._token(conversation_id)
        self._write_snapshot(conversation, token)
        self._journal(conversation_id).unlink(missing_ok=True)
        self._forget(conversation_id)
        self._checked.add(conversation_id)
        if self._index is not None:
            self._index.set_stamp(conversation_id, self._stamp(conversation_id))

    def _update_header(self, conversation_id: str, **fields: object) -> None:
        check_id(conversation_id)
        with self._lock:
            index = self._need_index()
            summary = index.summary(conversation_id)
            if summary is None:
                raise TranscriptError(f"No conversation {conversation_id} in {self.directory}.")
            self._check_writable(conversation_id)
            if conversation_id in self._outdated and not self.read_only_reason:
                whole = self._read(conversation_id)
                self._save_unlocked(whole.model_copy(update=fields))
                return
            header = Conversation.model_validate({**summary.model_dump(exclude={"message_count"}), **fields})
            plain = codecs.header_plain(header)
            self._append(conversation_id, codecs.journal_record(header={k: plain[k] for k in fields}))
            self._journaled.add(conversation_id)
            with index.transaction():
                index.put_header(header, self._stamp(conversation_id), summary.message_count)

    def rename(self, conversation_id: str, title: str) -> None:
        self._update_header(conversation_id, title=title)

    def set_settings(self, conversation_id: str, settings: ChatSettings) -> None:
        self._update_header(conversation_id, settings=settings)

    def set_tags(self, conversation_id: str, tags: list[str]) -> None:
        self._update_header(conversation_id, tags=list(tags))

    def archive(self, conversation_id: str, archived: bool = True) -> None:
        self._update_header(conversation_id, archived=archived)

    def set_shown(self, conversation_id: str, message_id: str | None) -> None:
        """Remember which branch is on screen (its last message)."""
        self._update_header(conversation_id, shown_id=message_id)

    def _move(self, conversation_id: str, source: Path, target: Path) -> int:
        make_private_dir(target)
        moved = 0
        for name in (*(snapshot_name(conversation_id, f) for f in FORMATS), journal_name(conversation_id)):
            if (source / name).exists():
                os.replace(source / name, target / name)
                moved += 1
        sync_directory(target)
        sync_directory(source)
        return moved

    def delete(self, conversation_id: str) -> None:
        """Move the conversation's files to the trash folder (restorable)."""
        check_id(conversation_id)
        with self._lock:
            index = self._need_index()
            if not self._move(conversation_id, self.directory, self.trash_dir):
                raise TranscriptError(f"No conversation {conversation_id} in {self.directory}.")
            self._forget(conversation_id)
            with index.transaction():
                index.remove(conversation_id)

    def restore(self, conversation_id: str) -> None:
        """Bring a conversation back from the trash."""
        check_id(conversation_id)
        with self._lock:
            index = self._need_index()
            if self._snapshot(conversation_id) or self._journal(conversation_id).exists():
                raise TranscriptError(f"Conversation {conversation_id} already exists; not restored.")
            if not self._move(conversation_id, self.trash_dir, self.directory):
                raise TranscriptError(f"No conversation {conversation_id} in the trash.")
            self._forget(conversation_id)
            with index.transaction():
                self._reindex(conversation_id)

    def trashed(self) -> list[ConversationSummary]:
        """What is in the trash, newest first (read from the files: the index holds live ones only)."""
        with self._lock:
            if not self.trash_dir.is_dir():
                return []
            ids = {parsed[0] for p in self.trash_dir.iterdir() if (parsed := codecs.parse_name(p.name))}
            found = []
            for cid in ids:
                try:
                    found.append(self._read(cid, self.trash_dir, quarantine=False).summary())
                except TranscriptError as error:
                    self.notices.append(f"In the trash: {error}")
            return sorted(found, key=lambda s: s.updated_at.timestamp(), reverse=True)

    # --- queries ----------------------------------------------------------------------------------

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
        """Conversations newest first (at most `limit`), from the index (no transcript is read);
        those of `server`, of any of `servers`; archived ones with `include_archived`, or only them
        with `only_archived`; `tag` matches one of a chat's tags, whatever its case."""
        with self._lock:
            index = self._index_ready()
            if index is None:
                return []
            return index.summaries(
                server=server,
                servers=servers,
                assistant_id=assistant_id,
                include_archived=include_archived,
                only_archived=only_archived,
                tag=tag,
                limit=limit,
            )

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
    ) -> list[SearchHit]:
        """Messages matching the words of `query` (FTS5; `"a phrase"`, `word*`, `OR`), best first;
        archived chats included."""
        with self._lock:
            index = self._index_ready()
            if index is None:
                return []
            return index.search(
                query,
                server=server,
                assistant_id=assistant_id,
                since=since,
                until=until,
                tag=tag,
                limit=limit,
            )

    def find(self, prefix_or_id: str) -> ConversationSummary:
        """The one conversation whose id is or starts with this; TranscriptError if none or several."""
        with self._lock:
            index = self._index_ready()
            found = index.by_prefix(prefix_or_id) if index and prefix_or_id else []
        exact = [s for s in found if s.id == prefix_or_id]
        if exact:
            return exact[0]
        if not found:
            raise TranscriptError(f"No conversation id starts with {prefix_or_id!r}.")
        if len(found) > 1:
            names = ", ".join(f"{s.id} ({s.title or 'untitled'})" for s in found[:5])
            raise TranscriptError(
                f"{prefix_or_id!r} matches several conversations: {names}. Give more of the id."
            )
        return found[0]

    def by_remote_id(self, server: str, remote_id: str) -> ConversationSummary | None:
        with self._lock:
            index = self._index_ready()
            return index.by_remote_id(server, remote_id) if index else None

    def branch_chats(self, server: str, among: Iterable[str] | None = None) -> set[str]:
        """The server chats that branches of local conversations live in (to list them once);
        with `among`, only those of these chats."""
        with self._lock:
            index = self._index_ready()
            return index.branch_chats(server, among) if index else set()

    def usage_groups(self, *, since: date | None = None, server: str | None = None) -> list[UsageGroup]:
        """The answers' tokens summed per local day, server, assistant and model, newest day first
        (`SearchIndex.usage_groups`), from the index (no transcript is read): those of `server`,
        from the local day `since` on."""
        since_ts = datetime.combine(since, datetime.min.time()).astimezone().timestamp() if since else None
        with self._lock:
            index = self._index_ready()
            return index.usage_groups(since_ts=since_ts, server=server) if index else []

    # --- the end ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Fold what this instance journaled into snapshots, close the index, release the lock."""
        with self._lock:
            for cid in sorted(self._journaled):
                try:
                    self._compact_unlocked(cid)
                except TranscriptError as error:
                    self.notices.append(str(error))
            self._journaled.clear()
            if self._index is not None:
                self._index.close()
                self._index = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
