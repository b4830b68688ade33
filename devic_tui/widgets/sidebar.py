"""The sidebar: a filter box over a tree of servers, their assistants and each assistant's chats,
then the archived chats' section, drawn from a `SidebarModel` (which decides what is listed, in
what order, with which marks); selecting an assistant starts a chat, selecting a chat opens it,
selecting the archived section's head shows or folds it."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Input, Tree
from textual.widgets.tree import TreeNode

from devic_tui.models import AssistantInfo
from devic_tui.sidebar_model import (
    ArchivedSection,
    AssistantRef,
    ChatEntry,
    RowData,
    ServerEntry,
    SidebarModel,
    SidebarRow,
)

NodeData = RowData
OPEN_MARKER = "▸"
"""Before the open chat's title when it carries no other mark."""


def _identity(data: NodeData | None) -> Hashable:
    """What stays the same about a node's data across redraws (a chat's title and time change
    as it streams), so the cursor can find it again."""
    if isinstance(data, ServerEntry):
        return ("server", data.name)
    if isinstance(data, AssistantRef):
        return ("assistant", data.server, data.assistant.id)
    if isinstance(data, ChatEntry):
        return ("chat", data.server, data.conversation_id or data.remote_id)
    if isinstance(data, ArchivedSection):
        return ("archived",)
    return None


def _label(row: SidebarRow) -> Text:
    """A row's label, from the model's already safe strings: never parsed as markup."""
    if row.kind == "server":
        return Text.assemble((row.label, "bold"), (row.detail, "dim"))
    if row.kind == "error":
        return Text(row.label, style="red")
    if row.kind in ("more", "hint"):
        return Text(row.label, style="dim")
    if row.kind == "archived":
        return Text.assemble((row.label, "bold dim"), (row.detail, "dim"))
    if row.kind == "chat":
        marker = row.mark or (OPEN_MARKER if row.is_open else "")
        return Text.assemble(
            (f"{marker} " if marker else "", "bold"),
            (row.label, "bold" if row.is_open else ""),
            (f" {row.tags}" if row.tags else "", "dim italic"),
            (row.detail, "dim"),
        )
    return Text.assemble(row.label, (row.detail, "dim"))


class Sidebar(Vertical):
    @dataclass
    class AssistantSelected(Message):
        server: str
        assistant: AssistantInfo

    @dataclass
    class ChatSelected(Message):
        chat: ChatEntry

    @dataclass
    class ArchivedToggled(Message):
        """The archived section's head was unfolded or folded (selected, clicked)."""

        shown: bool

    def __init__(self, model: SidebarModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self._drawn_open: str | None = None
        """The open chat at the last redraw: when it changes, the cursor follows it."""
        self._cursor_wanted: Hashable = None
        """Where the cursor is to go at the next refresh (`go_to_archived`); a redraw before
        then rebuilds the nodes, so the place is kept by identity, not by node."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter…", id="sidebar-filter")
        tree: Tree[NodeData] = Tree("servers", id="sidebar-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree

    def on_mount(self) -> None:
        self.redraw()

    @property
    def chat_tree(self) -> Tree[NodeData]:
        return self.query_one("#sidebar-tree", Tree)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.redraw()

    def redraw(self) -> None:
        """Rebuild the tree from the model's rows (after any change to the model)."""
        try:
            query = self.query_one("#sidebar-filter", Input).value
            tree = self.chat_tree
        except NoMatches:  # not composed yet: on_mount draws
            return
        cursor = self._cursor_wanted or (_identity(tree.cursor_node.data) if tree.cursor_node else None)
        tree.clear()
        parents: dict[int, TreeNode[NodeData]] = {0: tree.root}
        for row in self.model.rows(query):
            for deeper in [d for d in parents if d > row.depth]:
                del parents[deeper]  # a row never hangs under an earlier branch's node
            parent = parents[row.depth]
            if row.kind == "server" or row.expand:
                parents[row.depth + 1] = parent.add(_label(row), data=row.data, expand=True)
            elif row.kind == "archived":
                parent.add(_label(row), data=row.data)  # folded: drawn with ▶, unfolds when selected
            else:
                parent.add_leaf(_label(row), data=row.data)
        open_id = self.model.open_id
        follow_open = open_id != self._drawn_open
        self._drawn_open = open_id
        self._restore_cursor(tree.root, cursor, open_id, follow_open)

    def go_to_archived(self) -> None:
        """Focus the tree with the cursor on the archived section's head, its chats in view below."""
        tree = self.chat_tree
        tree.focus()
        self._cursor_wanted = _identity(ArchivedSection())
        tree.call_after_refresh(self._move_to_wanted)

    def _move_to_wanted(self) -> None:
        wanted, self._cursor_wanted = self._cursor_wanted, None
        tree = self.chat_tree
        head = next((n for n in tree.root.children if _identity(n.data) == wanted), None)
        if head is None:
            return
        if head.children:
            tree.scroll_to_node(head.children[-1], animate=False)
        tree.move_cursor(head, animate=False)

    def _restore_cursor(
        self, root: TreeNode[NodeData], cursor: Hashable, open_id: str | None, follow_open: bool
    ) -> None:
        """Put the cursor back on the node it was on, or on the open chat's (first when the open
        chat has just changed). The rebuilt tree has no line numbers until its next refresh, so
        the move waits for that."""
        same: TreeNode[NodeData] | None = None
        opened: TreeNode[NodeData] | None = None
        stack = list(root.children)
        while stack:
            node = stack.pop()
            data = node.data
            if open_id and isinstance(data, ChatEntry) and data.conversation_id == open_id:
                opened = node
            if cursor is not None and same is None and _identity(data) == cursor:
                same = node
            stack.extend(node.children)
        found = (opened or same) if follow_open else (same or opened)
        if found is not None:
            self.chat_tree.call_after_refresh(self.chat_tree.move_cursor, found)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        event.stop()
        data = event.node.data
        if isinstance(data, AssistantRef):
            self.post_message(self.AssistantSelected(data.server, data.assistant))
        elif isinstance(data, ChatEntry):
            self.post_message(self.ChatSelected(data))

    # The tree itself unfolds or folds a node when it is selected (and when its arrow is clicked).
    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        event.stop()
        if isinstance(event.node.data, ArchivedSection) and not self.model.archived_shown:
            self.post_message(self.ArchivedToggled(True))

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed[NodeData]) -> None:
        event.stop()
        if isinstance(event.node.data, ArchivedSection) and self.model.archived_shown:
            self.post_message(self.ArchivedToggled(False))
