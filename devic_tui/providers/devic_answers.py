"""Liberal readers of every answer shape Devic servers use (contract §1): ChatHistory, the legacy
object, bare message arrays and `{success, data}` envelopes, realtime records, stored chats, chat
and assistant lists and upload answers. Pure functions over parsed JSON, tested on literal JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devic_tui.models import (
    AssistantInfo,
    RemoteChat,
    RemoteChatDetail,
    RemoteFile,
    RemoteMessage,
    Role,
)
from devic_tui.providers.events import ToolCall
from devic_tui.providers.parsing import as_list, first_str, parse_time, unwrap

CHAT_ID_KEYS = ("chatUid", "chatUID", "chatUuid", "chatId", "uid", "id")
MESSAGE_LIST_KEYS = ("messages", "chatContent", "chatHistory")
MESSAGE_ID_KEYS = ("uid", "id", "messageUid", "messageId")
TIME_KEYS = ("timestamp", "createdAt", "creationTimestampMs")

FILE_TYPES = {"image": "image", "audio": "audio", "video": "video"}
DOCUMENT_MIME_HINTS = ("text/", "pdf", "msword", "officedocument", "opendocument", "json", "xml", "csv")

_ROLES: dict[str, Role] = {
    "user": "user",
    "assistant": "assistant",
    "system": "system",
    "developer": "system",
    "tool": "tool",
}


@dataclass(frozen=True)
class DevicMessage:
    """One ChatMessage, whatever shape it arrived in."""

    role: str
    text: str
    uid: str | None = None
    created_at: datetime | None = None
    files: list[RemoteFile] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    chat_uid: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DevicAnswer:
    """A sync answer or a stored chat: the chat's id, its messages and what else it said."""

    chat_uid: str | None
    messages: list[DevicMessage]
    tokens_used: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RealtimeState:
    """One poll of a chat's live record."""

    chat_uid: str | None
    status: str
    messages: list[DevicMessage]
    pending_tool_calls: list[ToolCall]
    last_updated: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def content_text(content: Any) -> str:
    """A message's text: `content` itself when a string, else `content.message`."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        message = content.get("message")
        if isinstance(message, str):
            return message
        text = content.get("text")
        if isinstance(text, str):
            return text
    return ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _first_time(mapping: dict[str, Any], keys: tuple[str, ...]) -> datetime | None:
    for key in keys:
        found = parse_time(mapping.get(key))
        if found is not None:
            return found
    return None


def parse_tool_calls(raw: Any) -> list[ToolCall]:
    """Tool calls in OpenAI's function form: `[{id, type, function: {name, arguments}}]`."""
    calls: list[ToolCall] = []
    if not isinstance(raw, list):
        return calls
    for item in raw:
        if not isinstance(item, dict):
            continue
        raw_function = item.get("function")
        function: dict[str, Any] = raw_function if isinstance(raw_function, dict) else {}
        name = first_str(function, ("name",)) or first_str(item, ("name",)) or ""
        arguments: Any = function.get("arguments", item.get("arguments", ""))
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        call_id = first_str(item, ("id", "tool_call_id", "toolCallId"))
        if call_id and name:
            description = first_str(function, ("description",)) or ""
            calls.append(ToolCall(id=call_id, name=name, arguments=arguments, description=description))
    return calls


def _message_files(content: Any) -> list[RemoteFile]:
    if not isinstance(content, dict) or not isinstance(content.get("files"), list):
        return []
    files = []
    for item in content["files"]:
        if isinstance(item, dict) and first_str(item, ("name",)):
            files.append(
                RemoteFile(
                    name=item["name"],
                    url=first_str(item, ("url", "downloadUrl", "donwloadUrl")),
                    file_type=first_str(item, ("type", "fileType")),
                )
            )
    return files


def parse_message(raw: Any) -> DevicMessage | None:
    """A ChatMessage, or None for something that is not one."""
    if not isinstance(raw, dict):
        return None
    role = raw.get("role")
    if not isinstance(role, str):
        return None
    content = raw.get("content")
    return DevicMessage(
        role=role,
        text=content_text(content),
        uid=first_str(raw, MESSAGE_ID_KEYS),
        created_at=_first_time(raw, TIME_KEYS),
        files=_message_files(content),
        tool_calls=parse_tool_calls(raw.get("tool_calls")),
        chat_uid=first_str(raw, ("chatUid", "chatUID")),
        raw=raw,
    )


def parse_messages(raw: Any) -> list[DevicMessage]:
    found = [parse_message(item) for item in raw] if isinstance(raw, list) else []
    return [message for message in found if message is not None]


def parse_answer(body: Any) -> DevicAnswer | None:
    """Any answer shape of a send or a stored chat, or None when the body is none of them:
    ChatHistory, stored chat (`chatContent`), legacy (`chatUuid` + `message`), a bare array."""
    body = unwrap(body)
    if isinstance(body, list):
        messages = parse_messages(body)
        if body and not messages:
            return None
        chat_uid = next((m.chat_uid for m in messages if m.chat_uid), None)
        return DevicAnswer(chat_uid=chat_uid, messages=messages)
    if not isinstance(body, dict):
        return None
    chat_uid = first_str(body, CHAT_ID_KEYS[:-2])
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    tokens = _int(body.get("tokens_used"))
    for key in MESSAGE_LIST_KEYS:
        if isinstance(body.get(key), list):
            messages = parse_messages(body[key])
            if tokens is None:
                inputs, outputs = _int(body.get("inputTokens")), _int(body.get("outputTokens"))
                if inputs is not None or outputs is not None:
                    tokens = (inputs or 0) + (outputs or 0)
            return DevicAnswer(chat_uid, messages, tokens, metadata or {}, body)
    message = body.get("message")
    if isinstance(message, str | dict) and ("chatUuid" in body or "tokens_used" in body or chat_uid):
        reply = DevicMessage(
            role="assistant",
            text=content_text(message),
            uid=first_str(body, MESSAGE_ID_KEYS[2:]),
            created_at=_first_time(body, TIME_KEYS),
            raw=body,
        )
        return DevicAnswer(chat_uid, [reply], tokens, metadata or {}, body)
    return None


def parse_realtime(body: Any) -> RealtimeState | None:
    """The realtime record `{chatUID, chatHistory, status, lastUpdatedAt, pendingToolCalls?}`."""
    data = unwrap(body)
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        return None
    history: list[Any] = next((data[k] for k in MESSAGE_LIST_KEYS if isinstance(data.get(k), list)), [])
    return RealtimeState(
        chat_uid=first_str(data, CHAT_ID_KEYS[:-2]),
        status=data["status"],
        messages=parse_messages(history),
        pending_tool_calls=parse_tool_calls(data.get("pendingToolCalls")),
        last_updated=parse_time(data.get("lastUpdatedAt")),
        raw=data,
    )


def async_chat_uid(body: Any) -> str | None:
    """The chat id of an async send's answer `{"success": true, "data": {"chatUid"}}`."""
    data = unwrap(body)
    return first_str(data, CHAT_ID_KEYS[:-2]) if isinstance(data, dict) else None


def parse_assistants(body: Any) -> list[AssistantInfo]:
    found = []
    for item in as_list(body, "assistants", "specializations"):
        identifier = first_str(item, ("identifier", "id"))
        if not identifier:
            continue
        extra = {k: item[k] for k in ("model", "provider", "state", "imgUrl") if item.get(k) is not None}
        found.append(
            AssistantInfo(
                id=identifier,
                name=first_str(item, ("name",)) or identifier,
                description=first_str(item, ("description",)) or "",
                extra=extra,
            )
        )
    return found


def parse_chat_list(body: Any, assistant_id: str) -> list[RemoteChat]:
    """`{histories: [...]}` or `{data: {chats: [...]}}` as RemoteChats."""
    chats = []
    for item in as_list(body, "histories", "chats"):
        chat_id = first_str(item, CHAT_ID_KEYS)
        if not chat_id:
            continue
        chats.append(
            RemoteChat(
                id=chat_id,
                title=first_str(item, ("name", "title")) or "",
                assistant_id=first_str(item, ("assistantSpecializationIdentifier", "assistantIdentifier"))
                or assistant_id,
                created_at=_first_time(item, ("creationTimestampMs", "createdAt")),
                updated_at=_first_time(item, ("lastEditTimestampMs", "updatedAt", "lastUpdatedAt")),
            )
        )
    return chats


def remote_message(message: DevicMessage) -> RemoteMessage:
    extra: dict[str, Any] = {}
    if message.role not in ("user", "assistant", "system", "tool"):
        extra["role"] = message.role
    if message.tool_calls:
        extra["tool_calls"] = [call.model_dump() for call in message.tool_calls]
    return RemoteMessage(
        role=_ROLES.get(message.role, "system"),
        content=message.text,
        id=message.uid,
        created_at=message.created_at,
        files=message.files,
        extra=extra,
    )


def parse_stored_chat(body: Any, assistant_id: str, chat_id: str) -> RemoteChatDetail | None:
    """A stored chat (`chatUID`/`chatContent`) or a ChatHistory as a RemoteChatDetail."""
    answer = parse_answer(body)
    if answer is None:
        return None
    raw = answer.raw
    chat = RemoteChat(
        id=answer.chat_uid or chat_id,
        title=first_str(raw, ("name", "title")) or "",
        assistant_id=first_str(raw, ("assistantSpecializationIdentifier", "assistantIdentifier"))
        or assistant_id,
        created_at=_first_time(raw, ("creationTimestampMs", "createdAt")),
        updated_at=_first_time(raw, ("lastEditTimestampMs", "updatedAt")),
    )
    return RemoteChatDetail(chat=chat, messages=[remote_message(m) for m in answer.messages])


def parse_upload(body: Any) -> RemoteFile | None:
    data = unwrap(body)
    if not isinstance(data, dict):
        return None
    name = first_str(data, ("name", "fileName", "filename"))
    url = first_str(data, ("downloadUrl", "donwloadUrl", "url"))
    if not name or not url:
        return None
    return RemoteFile(
        name=name, url=url, file_type=first_str(data, ("fileType", "type")), id=first_str(data, ("id",))
    )


def file_type_for(mime_type: str) -> str:
    """Devic's `fileType` for a MIME type."""
    major = mime_type.split("/", 1)[0]
    if major in FILE_TYPES:
        return FILE_TYPES[major]
    if any(hint in mime_type for hint in DOCUMENT_MIME_HINTS):
        return "document"
    return "other"


@dataclass(frozen=True)
class Anchor:
    """Where the answer starts in a chat's history: after the user message we sent (`text`), or at a
    known position (`index`, after a tool response); with neither, after the last user or tool turn."""

    text: str | None = None
    index: int | None = None
    known: str = ""
    """The answers this chat held before, joined by blank lines as they are shown: what a history
    without our message may repeat before the new reply."""


def _squashed(text: str) -> str:
    return " ".join(text.split())


def _last_assistant_run(messages: list[DevicMessage]) -> list[DevicMessage]:
    """The last run of consecutive assistant messages, wherever it ends."""
    end = len(messages)
    while end and messages[end - 1].role != "assistant":
        end -= 1
    start = end
    while start and messages[start - 1].role == "assistant":
        start -= 1
    return messages[start:end]


def _new_since(run: list[DevicMessage], known: str) -> list[DevicMessage]:
    """`run` less the messages at its start whose texts end the answers we already had; never
    all of it (an assistant may well say again what it said before)."""
    had = _squashed(known)
    if not had:
        return run
    for count in range(len(run) - 1, 0, -1):
        said = _squashed(" ".join(m.text for m in run[:count]))
        if said and (had == said or had.endswith(" " + said)):
            return run[count:]
    return run


def reply_messages(messages: list[DevicMessage], anchor: Anchor, *, final: bool = True) -> list[DevicMessage]:
    """The assistant messages that answer what we sent: those after our message. Before the
    history shows our message, and while not `final`, that is nothing yet. Once final, a history
    that does not hold our message at all (only the new messages, or a history the server made up)
    answers with its last run of assistant messages, less those we already had (`anchor.known`)."""
    if anchor.index is not None:
        start = anchor.index
    elif anchor.text is None:
        turns = [i for i, m in enumerate(messages) if m.role in ("user", "tool")]
        start = turns[-1] + 1 if turns else 0
    else:
        wanted = anchor.text.strip()
        ours = [i for i, m in enumerate(messages) if m.role == "user" and m.text.strip() == wanted]
        if ours:
            start = ours[-1] + 1
        elif final:
            return _new_since(_last_assistant_run(messages), anchor.known)
        else:
            return []
    return [m for m in messages[start:] if m.role == "assistant"]


# --------------------------------------------------------------------------- the provider
