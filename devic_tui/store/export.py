"""Export a conversation to Markdown (for people), JSON or TOML (lossless, for import), and import a
JSON export or a server-side chat back into local history.

An export is a snapshot with a `"kind": "devic-tui-conversation"` marker and its `schema_version`, so
`from_json` can tell a wrong file from a damaged one and refuse an export from a newer version.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from devic_tui.branches import ConversationTree, headline, other_branches
from devic_tui.models import AssistantInfo, Attachment, RemoteChatDetail
from devic_tui.records import ROOT, SCHEMA_VERSION, Conversation, StoredMessage
from devic_tui.store import codecs
from devic_tui.store.codecs import EXPORT_KIND, TranscriptError
from devic_tui.text_safety import clip

if TYPE_CHECKING:
    from devic_tui.store.transcripts import TranscriptStore


def _when(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else "—"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover


def _attachment_line(attachment: Attachment) -> str:
    line = f"- `{attachment.name}` ({attachment.mime_type}, {_size(attachment.size)}"
    if attachment.sha256:
        line += f", sha256 {attachment.sha256[:16]}…"
    if attachment.remote and attachment.remote.id:
        line += f", file id {attachment.remote.id}"
    if attachment.inlined:
        line += ", sent inline"
    return line + ")"


MarkdownBranches = Literal["shown", "list", "all"]
"""What a Markdown transcript holds of a conversation with branches: the branch on screen alone
("shown"), that branch then a list of the others ("list"), or every branch in full ("all")."""


def _message_markdown(message: StoredMessage, level: int = 2) -> list[str]:
    heading = f"{'#' * level} {message.role.capitalize()} · {_when(message.created_at)}"
    if message.status != "complete":
        heading += f" · {message.status}"
    lines = [heading, ""]
    if message.error:
        lines += [f"> **{message.status.capitalize()}:** {message.error}", ""]
    if message.attachments:
        lines += ["Attachments:", "", *(_attachment_line(a) for a in message.attachments), ""]
    lines += [message.content if message.content else "*(no text)*", ""]
    if message.usage and message.usage.total is not None:
        lines += [f"*{message.usage.total} tokens*", ""]
    return lines


def _after(after: str) -> str:
    return "at the start" if after == ROOT else f"after `{after}`"


def to_markdown(conversation: Conversation, *, branches: MarkdownBranches = "list") -> str:
    """A readable transcript: a header (title, server, assistant, dates, tags), then the branch on
    screen, message by message. With other branches, `branches` says what follows: "list" (the
    default) a section "Other branches" naming each one by its first message of its own (id, first
    line, where it parts); "all" every branch in full, each its own section, the one on screen first
    and whole, each other one from where it parts from those before it; "shown" nothing."""
    tree = ConversationTree(conversation)
    shown = tree.shown_path()
    others = other_branches(conversation) if len(tree) > len(shown) else []
    assistant = conversation.assistant_name or conversation.assistant_id
    if conversation.assistant_name and conversation.assistant_name != conversation.assistant_id:
        assistant += f" (`{conversation.assistant_id}`)"
    count = f"{len(conversation.messages)}"
    if others:
        count = f"{len(shown)} on the branch on screen, {len(conversation.messages)} in all"
    lines = [
        f"# {conversation.title or 'Untitled conversation'}",
        "",
        f"- Server: {conversation.server}",
        f"- Assistant: {assistant}",
        f"- Created: {_when(conversation.created_at)}",
        f"- Updated: {_when(conversation.updated_at)}",
        f"- Messages: {count}",
    ]
    if others:
        lines.append(f"- Branches: {len(others) + 1}")
    lines.append(f"- Conversation id: `{conversation.id}`")
    if conversation.remote_id:
        lines.append(f"- Server conversation id: `{conversation.remote_id}`")
    if conversation.tags:
        lines.append(f"- Tags: {', '.join(conversation.tags)}")
    if conversation.archived:
        lines.append("- Archived")
    lines.append("")
    if branches == "all" and others:
        total = len(others) + 1
        lines += [f"## Branch 1 of {total} (on screen)", ""]
        for message in shown:
            lines += _message_markdown(message, level=3)
        for number, branch in enumerate(others, start=2):
            lines += [f"## Branch {number} of {total}, {_after(branch.after)}", ""]
            if branch.after != ROOT:
                parted = tree.by_id[branch.after]
                lines += [f"*Follows {parted.role} `{parted.id}`: {clip(headline(parted), 80)}*", ""]
            for message in branch.messages:
                lines += _message_markdown(message, level=3)
    else:
        for message in shown:
            lines += _message_markdown(message)
        if branches == "list" and others:
            lines += ["## Other branches", ""]
            for branch in others:
                start = branch.start
                size = len(branch.messages)
                first = clip(headline(start), 80) or "*(no text)*"
                lines.append(
                    f"- `{start.id}` {start.role}, {_when(start.created_at)}, {_after(branch.after)}"
                    f" ({size} message{'s' if size != 1 else ''}): {first}"
                )
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def to_json(conversation: Conversation) -> str:
    """A full, lossless export that `from_json` reads back."""
    return codecs.encode_json(conversation, extra={"kind": EXPORT_KIND}).decode()


def to_toml(conversation: Conversation) -> str:
    """The same export in TOML (`None` left out, as in TOML transcripts)."""
    return codecs.encode_toml(conversation, extra={"kind": EXPORT_KIND}).decode()


def from_json(text: str) -> Conversation:
    """A conversation from a JSON export; TranscriptError says what is wrong with a wrong file."""
    try:
        plain: Any = json.loads(text)
    except ValueError as error:
        raise TranscriptError(f"This is not a devic-tui export: not valid JSON ({error}).") from None
    return _from_plain(plain)


def from_toml(text: str) -> Conversation:
    """A conversation from a TOML export."""
    try:
        plain = codecs.decode_toml_plain(text, "This export")
    except TranscriptError as error:
        raise TranscriptError(f"This is not a devic-tui export: {error}") from None
    return _from_plain(plain)


def from_export(text: str) -> Conversation:
    """A conversation from a JSON or TOML export (told apart by the first thing in the file)."""
    return from_json(text) if text.lstrip().startswith("{") else from_toml(text)


def _from_plain(plain: Any) -> Conversation:
    if not isinstance(plain, dict) or plain.get("kind") != EXPORT_KIND:
        raise TranscriptError(f'This is not a devic-tui export: it has no "kind": "{EXPORT_KIND}" marker.')
    codecs.check_schema(plain.get("schema_version"), "This export")
    for key in ("kind", "schema_version", "folded_journal"):
        plain.pop(key, None)
    return codecs.validate(plain, "This export")


def import_conversation(store: TranscriptStore, conversation: Conversation, *, new_id: bool) -> Conversation:
    """Add a conversation to local history and return it as stored. With `new_id` it gets a fresh
    id (a copy beside the original); without, an existing conversation with its id is refused."""
    if new_id:
        conversation = conversation.model_copy(update={"id": uuid.uuid4().hex[:16]})
    else:
        codecs.check_id(conversation.id)
        try:
            store.load(conversation.id)
        except TranscriptError:
            pass
        else:
            raise TranscriptError(
                f"Conversation {conversation.id} is already in local history; import it as a copy instead."
            )
    store.save(conversation)
    return conversation


def from_remote(detail: RemoteChatDetail, *, server: str, assistant: AssistantInfo) -> Conversation:
    """A server-side chat (Devic, Devs) as a local conversation that continues on the server."""
    chat = detail.chat
    stamps = [m.created_at for m in detail.messages if m.created_at]
    created = chat.created_at or (min(stamps) if stamps else datetime.now().astimezone())
    updated = chat.updated_at or (max(stamps) if stamps else created)
    messages = [
        StoredMessage(
            id=uuid.uuid4().hex[:16],
            role=remote.role,
            content=remote.content,
            created_at=remote.created_at or created,
            attachments=[
                Attachment(
                    name=f.name,
                    size=f.size or 0,
                    sha256="",
                    mime_type=f.mime_type or "application/octet-stream",
                    remote=f,
                )
                for f in remote.files
            ],
            remote_ids=[remote.id] if remote.id else [],
            metadata=dict(remote.extra),
        )
        for remote in detail.messages
    ]
    return Conversation(
        id=uuid.uuid4().hex[:16],
        title=chat.title,
        server=server,
        assistant_id=chat.assistant_id or assistant.id,
        assistant_name=assistant.name,
        remote_id=chat.id,
        created_at=created,
        updated_at=updated,
        messages=messages,
        metadata={"imported_from_server": True, "schema_version_at_import": SCHEMA_VERSION},
    )
