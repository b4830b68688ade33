"""The sidebar: servers, their assistants and each assistant's chats (newest first, title and age),
with filter-as-you-type; selecting an assistant starts a chat, selecting a chat opens it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Tree
from textual.widgets.tree import TreeNode

from devic_tui.models import AssistantInfo
from devic_tui.text_safety import one_line


@dataclass(frozen=True)
class ChatEntry:
    server: str
    assistant_id: str
    title: str
    updated_at: datetime | None
    conversation_id: str | None = None
    """The local conversation id; None for a chat known only to the server."""
    remote_id: str | None = None


@dataclass
class ServerEntry:
    name: str
    kind: str
    assistants: list[AssistantInfo] = field(default_factory=list)
    chats: dict[str, list[ChatEntry]] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class AssistantRef:
    server: str
    assistant: AssistantInfo


NodeData = ServerEntry | AssistantRef | ChatEntry


def age(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    for limit, unit in ((60, "s"), (3600, "m"), (86400, "h"), (86400 * 30, "d")):
        if seconds < limit:
            divisor = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
            return f"{max(0, int(seconds // divisor))}{unit}"
    return when.strftime("%Y-%m-%d")


CHATS_SHOWN = 30
"""Chats listed under each assistant, newest first; the chat finder and search reach the rest."""


class Sidebar(Vertical):
    @dataclass
    class AssistantSelected(Message):
        server: str
        assistant: AssistantInfo

    @dataclass
    class ChatSelected(Message):
        chat: ChatEntry

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._servers: list[ServerEntry] = []
        self._open: str | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter…", id="sidebar-filter")
        tree: Tree[NodeData] = Tree("servers", id="sidebar-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree

    @property
    def chat_tree(self) -> Tree[NodeData]:
        return self.query_one("#sidebar-tree", Tree)

    def set_servers(self, servers: list[ServerEntry]) -> None:
        self._servers = servers
        self._rebuild()

    def mark_open(self, conversation_id: str | None) -> None:
        self._open = conversation_id
        self._rebuild()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild()

    def _rebuild(self) -> None:
        query = self.query_one("#sidebar-filter", Input).value.strip().lower()
        tree = self.chat_tree
        cursor = tree.cursor_node.data if tree.cursor_node else None
        tree.clear()
        for server in self._servers:
            label = Text.assemble((one_line(server.name), "bold"), (f"  {server.kind}", "dim"))
            server_node = tree.root.add(label, data=server, expand=True)
            if server.error:
                server_node.add_leaf(Text(one_line(server.error)[:80], style="red"))
            for assistant in server.assistants:
                self._add_assistant(server_node, server, assistant, query)
            if query and not server_node.children:
                server_node.remove()
        if cursor is not None or self._open:
            self._restore_cursor(tree.root, cursor)

    def _add_assistant(
        self, parent: TreeNode[NodeData], server: ServerEntry, assistant: AssistantInfo, query: str
    ) -> None:
        chats = sorted(
            server.chats.get(assistant.id, []),
            key=lambda c: c.updated_at or datetime.min.replace(tzinfo=UTC),
            reverse=True,
        )
        matches_name = not query or query in assistant.name.lower()
        shown = [c for c in chats if matches_name or query in c.title.lower()]
        if query and not matches_name and not shown:
            return
        ref = AssistantRef(server.name, assistant)
        if not shown:
            parent.add_leaf(Text(one_line(assistant.name)), data=ref)
            return
        node = parent.add(Text(one_line(assistant.name)), data=ref, expand=True)
        for chat in shown[:CHATS_SHOWN]:
            marker = "● " if chat.conversation_id and chat.conversation_id == self._open else ""
            cloud = "" if chat.conversation_id else " ☁"
            label = Text.assemble(
                (marker, "bold"),
                one_line(chat.title) or "(untitled)",
                (f"{cloud}  {age(chat.updated_at)}", "dim"),
            )
            node.add_leaf(label, data=chat)
        if len(shown) > CHATS_SHOWN:
            node.add_leaf(Text("… older chats: Ctrl+L or Ctrl+F find them", style="dim"))

    def _restore_cursor(self, root: TreeNode[NodeData], data: NodeData | None) -> None:
        """Put the cursor back on `data`'s node, or on the open chat's; the rebuilt tree has no
        line numbers until its next refresh, so the move waits for that."""
        stack = list(root.children)
        found: TreeNode[NodeData] | None = None
        while stack:
            node = stack.pop()
            if isinstance(node.data, ChatEntry) and self._open and node.data.conversation_id == self._open:
                found = node
                break
            if node.data == data and found is None:
                found = node
            stack.extend(node.children)
        if found is not None:
            self.chat_tree.call_after_refresh(self.chat_tree.move_cursor, found)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        event.stop()
        data = event.node.data
        if isinstance(data, AssistantRef):
            self.post_message(self.AssistantSelected(data.server, data.assistant))
        elif isinstance(data, ChatEntry):
            self.post_message(self.ChatSelected(data))
