"""Turning what the service layer knows into what the widgets show: a stored message into a
MessageView's data, a server's listing into its sidebar entry (local chats first, then the server's
own not yet kept locally), and the warnings for servers reached without encryption."""

from __future__ import annotations

from urllib.parse import urlsplit

from devic_tui.config import ServerConfig
from devic_tui.providers.urls import is_loopback_host
from devic_tui.service import ServerListing
from devic_tui.store.records import StoredMessage
from devic_tui.widgets.message_view import MessageData
from devic_tui.widgets.sidebar import ChatEntry, ServerEntry


def message_data(message: StoredMessage, assistant_name: str) -> MessageData:
    return MessageData(
        id=message.id,
        role=message.role,
        author="You" if message.role == "user" else assistant_name,
        content=message.content,
        created_at=message.created_at,
        status=message.status,
        error=message.error,
        usage=message.usage,
        attachments=[a.name for a in message.attachments],
    )


def server_entry(listing: ServerListing) -> ServerEntry:
    entry = ServerEntry(listing.server.name, listing.server.kind, list(listing.assistants), {}, listing.error)
    known_remote: set[str] = set()
    for summary in listing.local_chats:
        if summary.remote_id:
            known_remote.add(summary.remote_id)
        entry.chats.setdefault(summary.assistant_id, []).append(
            ChatEntry(
                server=summary.server,
                assistant_id=summary.assistant_id,
                title=summary.title,
                updated_at=summary.updated_at,
                conversation_id=summary.id,
                remote_id=summary.remote_id,
            )
        )
    for assistant_id, chats in listing.remote_chats.items():
        for chat in chats:
            if chat.id in known_remote:
                continue
            entry.chats.setdefault(assistant_id, []).append(
                ChatEntry(
                    server=listing.server.name,
                    assistant_id=assistant_id,
                    title=chat.title or chat.id,
                    updated_at=chat.updated_at or chat.created_at,
                    remote_id=chat.id,
                )
            )
    return entry


def insecure_http_warnings(servers: list[ServerConfig]) -> list[str]:
    """A warning for each server that sends its token over plain http:// to another machine."""
    warnings = []
    for server in servers:
        url = urlsplit(server.resolved_base_url)
        opted_out = server.allow_insecure_http  # the others are refused and never contacted
        if opted_out and url.scheme == "http" and not is_loopback_host(url.hostname or ""):
            warnings.append(
                f"{server.name} talks to {url.hostname} over plain http:// (allow_insecure_http is on): "
                "the token and every message travel unencrypted."
            )
    return warnings
