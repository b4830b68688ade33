"""Bytes on disk for a conversation: the snapshot (`<id>.json` or `<id>.toml`) and the journal
(`<id>.journal.jsonl`), encoded and decoded here, with no file handling.

A snapshot opens with `schema_version`, then the conversation's own fields, then its messages. JSON
holds every value as is. TOML cannot hold `None`: a field that is `None` is left out (every such field
defaults to `None`, so it decodes back the same), and a free-form table (`metadata`, `extra`) that holds
a `null` somewhere is written as a JSON string instead of a table. Strings holding `\\r` are written on
one line, since TOML folds `\\r\\n` inside multi-line strings.

The journal is one JSON object a line: a first line naming the journal (`{"journal": token}`), then
records that may carry `conversation` (header fields to merge), `message` (one message, inserted or
replacing the one with its id) or `messages` (the whole list). A snapshot names the journal it has
folded (`folded_journal`), so a journal left behind by a crash between the two steps of a compaction
is not replayed over newer text.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any, Literal

import tomli_w
from pydantic import ValidationError

from devic_tui.errors import DevicTuiError
from devic_tui.records import SCHEMA_VERSION, Conversation, StoredMessage

Format = Literal["json", "toml"]
FORMATS: tuple[Format, ...] = ("json", "toml")
JOURNAL_SUFFIX = ".journal.jsonl"
EXPORT_KIND = "devic-tui-conversation"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_PEEK = re.compile(rb'^\s*\{?\s*"?schema_version"?\s*[:=]\s*(\d+)')
_PEEK_JOURNAL = re.compile(rb'^\s*\{\s*"journal"\s*:\s*"[^"\n]*"\s*,\s*"schema_version"\s*:\s*(\d+)')


class TranscriptError(DevicTuiError):
    """A transcript cannot be read or written; the message says which file and why."""


class CorruptTranscriptError(TranscriptError):
    """A file does not parse or does not hold a valid conversation."""


class NewerSchemaError(TranscriptError):
    """A file was written by a newer version of devic-tui; it is refused and left as it is."""


def check_id(conversation_id: str) -> str:
    """A conversation id is also a file name: letters, digits, `_` and `-` only."""
    if not _ID.match(conversation_id):
        raise TranscriptError(f"{conversation_id!r} is not a valid conversation id")
    return conversation_id


def snapshot_name(conversation_id: str, fmt: Format) -> str:
    return f"{conversation_id}.{fmt}"


def journal_name(conversation_id: str) -> str:
    return f"{conversation_id}{JOURNAL_SUFFIX}"


def parse_name(name: str) -> tuple[str, Format | Literal["journal"]] | None:
    """The conversation id and kind of a file in the transcripts directory, or None for others."""
    if name.endswith(JOURNAL_SUFFIX):
        stem, kind = name[: -len(JOURNAL_SUFFIX)], "journal"
    elif name.endswith(".json"):
        stem, kind = name[:-5], "json"
    elif name.endswith(".toml"):
        stem, kind = name[:-5], "toml"
    else:
        return None
    return (stem, kind) if _ID.match(stem) else None  # type: ignore[return-value]


def peek_schema(head: bytes) -> int | None:
    """The schema version a snapshot declares in its first bytes (we always write it first), or a
    journal in its first line (after the journal's token: `journal_header`)."""
    found = _PEEK.match(head) or _PEEK_JOURNAL.match(head)
    return int(found.group(1)) if found else None


def check_schema(version: object, where: str) -> None:
    if not isinstance(version, int) or isinstance(version, bool):
        raise CorruptTranscriptError(f"{where} has no valid schema_version")
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{where} was written by a newer devic-tui (schema {version}, this version reads up to "
            f"{SCHEMA_VERSION}); it is left untouched. Upgrade devic-tui to open it."
        )


# --- plain values ---------------------------------------------------------------------------------


def header_plain(conversation: Conversation) -> dict[str, Any]:
    """The conversation's own fields (no messages) as JSON values."""
    return conversation.model_dump(mode="json", exclude={"messages"})


def message_plain(message: StoredMessage) -> dict[str, Any]:
    return message.model_dump(mode="json")


def conversation_plain(conversation: Conversation) -> dict[str, Any]:
    plain = header_plain(conversation)
    plain["messages"] = [message_plain(m) for m in conversation.messages]
    return plain


def validate(plain: dict[str, Any], where: str) -> Conversation:
    try:
        return Conversation.model_validate(plain)
    except ValidationError as error:
        raise CorruptTranscriptError(f"{where} does not hold a valid conversation: {_first(error)}") from None


def _first(error: ValidationError) -> str:
    problem = error.errors()[0]
    place = ".".join(str(p) for p in problem["loc"]) or "top level"
    return f"{place}: {problem['msg']} ({error.error_count()} problem(s))"


# --- JSON -----------------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def encode_json(
    conversation: Conversation, *, folded_journal: str | None = None, extra: dict[str, Any] | None = None
) -> bytes:
    """A readable JSON snapshot: fields one a line, messages one a line."""
    head: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **(extra or {})}
    if folded_journal:
        head["folded_journal"] = folded_journal
    head.update(header_plain(conversation))
    lines = ["{"]
    lines.extend(f"  {_dumps(key)}: {_dumps(value)}," for key, value in head.items())
    if conversation.messages:
        body = ",\n    ".join(_dumps(message_plain(m)) for m in conversation.messages)
        lines.append(f'  "messages": [\n    {body}\n  ]')
    else:
        lines.append('  "messages": []')
    lines.append("}\n")
    return "\n".join(lines).encode()


def decode_json_plain(data: bytes | str, where: str) -> dict[str, Any]:
    try:
        plain = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise CorruptTranscriptError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(plain, dict):
        raise CorruptTranscriptError(f"{where} does not hold a JSON object")
    check_schema(plain.get("schema_version"), where)
    return plain


# --- TOML -----------------------------------------------------------------------------------------

_FREE_FORM = ("metadata", "extra")


def _has_none(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    return False


def _has_cr(value: Any) -> bool:
    if isinstance(value, str):
        return "\r" in value
    if isinstance(value, dict):
        return any(_has_cr(k) or _has_cr(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_cr(v) for v in value)
    return False


def _to_toml(model: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON values made TOML-safe: None fields dropped, nested models handled in turn."""
    out: dict[str, Any] = {}
    for key, value in model.items():
        if value is None:
            continue
        if key in _FREE_FORM and isinstance(value, dict):
            out[key] = _dumps(value) if _has_none(value) else value
        elif isinstance(value, dict):
            out[key] = _to_toml(value)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out[key] = [_to_toml(v) for v in value]
        else:
            out[key] = value
    return out


def _from_toml(model: dict[str, Any]) -> dict[str, Any]:
    for key, value in model.items():
        if key in _FREE_FORM and isinstance(value, str):
            model[key] = json.loads(value)
        elif isinstance(value, dict):
            _from_toml(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    _from_toml(item)
    return model


def encode_toml(
    conversation: Conversation, *, folded_journal: str | None = None, extra: dict[str, Any] | None = None
) -> bytes:
    head: dict[str, Any] = {"schema_version": SCHEMA_VERSION, **(extra or {})}
    if folded_journal:
        head["folded_journal"] = folded_journal
    plain = _to_toml(conversation_plain(conversation))
    head.update(plain)
    head["messages"] = plain.get("messages", [])
    # TOML folds \r\n inside multi-line strings, so such text goes on one line, escaped.
    multiline = not _has_cr(head)
    return tomli_w.dumps(head, multiline_strings=multiline).encode()


def decode_toml_plain(data: bytes | str, where: str) -> dict[str, Any]:
    try:
        text = data.decode() if isinstance(data, bytes) else data
        plain = tomllib.loads(text)
        check_schema(plain.get("schema_version"), where)
        return _from_toml(plain)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as error:
        raise CorruptTranscriptError(f"{where} is not valid TOML: {error}") from None


# --- snapshots ------------------------------------------------------------------------------------


def encode_snapshot(conversation: Conversation, fmt: Format, *, folded_journal: str | None = None) -> bytes:
    if fmt == "toml":
        return encode_toml(conversation, folded_journal=folded_journal)
    return encode_json(conversation, folded_journal=folded_journal)


@dataclass
class Snapshot:
    conversation: Conversation
    folded_journal: str | None = None


def decode_snapshot(data: bytes, fmt: Format, where: str) -> Snapshot:
    plain = decode_toml_plain(data, where) if fmt == "toml" else decode_json_plain(data, where)
    plain.pop("schema_version", None)
    folded = plain.pop("folded_journal", None)
    plain.pop("kind", None)
    return Snapshot(validate(plain, where), folded if isinstance(folded, str) else None)


# --- journal --------------------------------------------------------------------------------------


def journal_header(token: str) -> bytes:
    return (_dumps({"journal": token, "schema_version": SCHEMA_VERSION}) + "\n").encode()


def journal_record(
    *,
    header: dict[str, Any] | None = None,
    message: StoredMessage | None = None,
    messages: list[StoredMessage] | None = None,
) -> bytes:
    record: dict[str, Any] = {}
    if header is not None:
        record["conversation"] = header
    if message is not None:
        record["message"] = message_plain(message)
    if messages is not None:
        record["messages"] = [message_plain(m) for m in messages]
    return (_dumps(record) + "\n").encode()


def journal_growth(header: dict[str, Any], message: StoredMessage, written: int) -> bytes:
    """A record of a message whose text grew: everything but its text, and the text after the
    first `written` characters (what the journal already holds of it). An answer being written is
    saved every second; whole records would make its journal grow as the square of its length."""
    plain = message_plain(message)
    added = plain.pop("content")[written:]
    record = {"conversation": header, "message": plain, "content_at": written, "content_added": added}
    return (_dumps(record) + "\n").encode()


@dataclass
class Journal:
    token: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    torn: bool = False
    """The last line was cut short (a write killed half way); it is ignored."""


def decode_journal(data: bytes, where: str) -> Journal:
    journal = Journal()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        journal.torn = True
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            journal.problems.append(f"{where}: line {number} is not valid JSON and was skipped")
            continue
        if not isinstance(record, dict):
            journal.problems.append(f"{where}: line {number} is not a record and was skipped")
        elif "journal" in record:
            check_schema(record.get("schema_version"), where)
            if journal.token is None:
                journal.token = str(record["journal"])
        else:
            journal.records.append(record)
    return journal


def _grown(
    item: dict[str, Any],
    record: dict[str, Any],
    messages: list[StoredMessage],
    position: dict[str, int],
    where: str,
    problems: list[str],
) -> dict[str, Any]:
    """A growth record (`journal_growth`) made whole: the text before it, then the text it adds."""
    at, added = record.get("content_at"), record.get("content_added")
    if not isinstance(at, int) or not isinstance(added, str):
        problems.append(f"{where}: a message's added text was unreadable and was skipped")
        added, at = "", 0
    index = position.get(str(item.get("id")))
    before = messages[index].content if index is not None else ""
    if len(before) < at:
        problems.append(f"{where}: a message's text before an addition was missing; the addition is kept")
    return {**item, "content": before[:at] + added}


def replay(base: Conversation | None, journal: Journal, where: str) -> tuple[Conversation | None, list[str]]:
    """The conversation after the journal's records, and what had to be skipped."""
    problems: list[str] = []
    header: dict[str, Any] | None = None
    messages = list(base.messages) if base else []
    position = {m.id: i for i, m in enumerate(messages)}
    for record in journal.records:
        if isinstance(record.get("conversation"), dict):
            if header is None:
                header = header_plain(base) if base else {}
            header.update(record["conversation"])
        raw: list[Any] = []
        if isinstance(record.get("messages"), list):
            messages, position = [], {}
            raw = record["messages"]
        if "message" in record:
            raw = [record["message"]]
            if "content_at" in record and isinstance(raw[0], dict):
                raw = [_grown(raw[0], record, messages, position, where, problems)]
        for item in raw:
            try:
                message = StoredMessage.model_validate(item)
            except ValidationError as error:
                problems.append(f"{where}: a message record was skipped ({_first(error)})")
                continue
            if message.id in position:
                messages[position[message.id]] = message
            else:
                position[message.id] = len(messages)
                messages.append(message)
    if header is None:
        if base is None:
            return None, problems
        result = base.model_copy()
    else:
        header.pop("messages", None)
        result = validate(header, where)
    result.messages = messages
    return result, problems
