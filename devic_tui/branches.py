"""A conversation as a tree: which message follows which, the branch on screen, siblings to switch
between, and what a new message on a branch must send (its path, and which server chat it continues).

Messages are stored flat, in the order they were written; each names its parent (`parent_id`), or
none, meaning the message before it (version-1 files, and chats that never branched). Everything here
is pure: it reads a `Conversation` and changes nothing but `shown_id` (`show`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devic_tui.records import ROOT, Conversation, StoredMessage


class ConversationTree:
    """The tree of one conversation, read from its messages (build it again after they change)."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.by_id: dict[str, StoredMessage] = {}
        self.position: dict[str, int] = {}
        self.parent: dict[str, str] = {}
        self.children: dict[str, list[str]] = {ROOT: []}
        previous = ROOT
        for index, message in enumerate(conversation.messages):
            self.by_id[message.id] = message
            self.position[message.id] = index
            parent = message.parent_id if message.parent_id is not None else previous
            if parent != ROOT and parent not in self.by_id:
                parent = ROOT  # a parent that is gone (a damaged file): the message starts a branch
            self.parent[message.id] = parent
            self.children.setdefault(parent, []).append(message.id)
            self.children.setdefault(message.id, [])
            previous = message.id

    def __len__(self) -> int:
        return len(self.by_id)

    def path_to(self, message_id: str) -> list[StoredMessage]:
        """The messages from the start of the conversation down to `message_id`, in order."""
        path: list[StoredMessage] = []
        current = message_id
        while current != ROOT and current in self.by_id:
            path.append(self.by_id[current])
            current = self.parent[current]
        path.reverse()
        return path

    def newest_leaf(self, message_id: str = ROOT) -> str | None:
        """The last message of the newest branch under `message_id` (itself when it has no
        children); None for an empty conversation."""
        current = message_id
        while self.children.get(current):
            current = max(self.children[current], key=self._newest_below)
        return current if current != ROOT else None

    def _newest_below(self, message_id: str) -> int:
        """The position of the newest message in the subtree (the branch written to last)."""
        newest, stack = self.position[message_id], [message_id]
        while stack:
            for child in self.children[stack.pop()]:
                newest = max(newest, self.position[child])
                stack.append(child)
        return newest

    def shown_leaf(self) -> str | None:
        """The last message of the branch on screen."""
        shown = self.conversation.shown_id
        if shown is not None and shown in self.by_id:
            return self.newest_leaf(shown)
        return self.newest_leaf()

    def shown_path(self) -> list[StoredMessage]:
        leaf = self.shown_leaf()
        return self.path_to(leaf) if leaf is not None else []

    def siblings(self, message_id: str) -> list[str]:
        """The message and its alternatives (the children of its parent), oldest first."""
        return self.children[self.parent[message_id]]

    def sibling_position(self, message_id: str) -> tuple[int, int]:
        """(1-based position among its siblings, how many there are)."""
        siblings = self.siblings(message_id)
        return siblings.index(message_id) + 1, len(siblings)

    def sibling(self, message_id: str, step: int) -> str:
        """The sibling `step` places away, wrapping round."""
        siblings = self.siblings(message_id)
        return siblings[(siblings.index(message_id) + step) % len(siblings)]

    def leaves(self) -> list[str]:
        """The last message of every branch, oldest branch first."""
        return [mid for mid in self.by_id if not self.children[mid]]

    def branch_count(self) -> int:
        return len(self.leaves())

    def depth(self, message_id: str) -> int:
        return len(self.path_to(message_id))


def show(conversation: Conversation, message_id: str) -> str | None:
    """Put the branch through `message_id` on screen (the newest branch under it); returns its last
    message's id, or None when the conversation has no such message."""
    tree = ConversationTree(conversation)
    if message_id not in tree.by_id:
        return None
    leaf = tree.newest_leaf(message_id)
    conversation.shown_id = leaf
    return leaf


@dataclass(frozen=True)
class BranchPlan:
    """Where a new message goes and what it continues: after `after` (ROOT: a new first message),
    with `path` the messages before it, in the server chat `remote_chat_id`, or in a new one
    (`new_chat`), whose first message must then carry the path (`carries_history`)."""

    after: str
    path: list[StoredMessage] = field(default_factory=list)
    remote_chat_id: str | None = None
    new_chat: bool = False

    @property
    def carries_history(self) -> bool:
        return self.new_chat and bool(self.path)

    def in_chat(self, remote_chat_id: str) -> BranchPlan:
        """The same plan once the server has made its chat (an upload made it, say)."""
        return BranchPlan(self.after, self.path, remote_chat_id, new_chat=False)


def _chat_of(conversation: Conversation, message: StoredMessage, legacy: bool) -> str | None:
    if legacy:
        return conversation.remote_id
    return message.remote_chat_id


def branch_plan(conversation: Conversation, after: str | None = None) -> BranchPlan:
    """What a message written after `after` (default: the last message on screen; ROOT: as a new
    first message) continues. It continues the server chat of the message before it only when that
    chat holds nothing but this path (every message of it is on the path); otherwise the branch
    needs a chat of its own. A conversation in which no message names a chat (it never branched, or
    it is a version-1 file) has all its messages in `conversation.remote_id`."""
    tree = ConversationTree(conversation)
    if after is None:
        after = tree.shown_leaf() or ROOT
    if after != ROOT and after not in tree.by_id:
        raise KeyError(after)
    path = tree.path_to(after) if after != ROOT else []
    if not path:
        if conversation.messages:
            return BranchPlan(ROOT, [], None, new_chat=True)
        return BranchPlan(ROOT, [], conversation.remote_id, new_chat=conversation.remote_id is None)
    legacy = not any(m.remote_chat_id for m in conversation.messages)
    chat = _chat_of(conversation, path[-1], legacy)
    if chat is None:
        return BranchPlan(after, path, None, new_chat=True)
    on_path = {m.id for m in path}
    in_chat = [m for m in conversation.messages if _chat_of(conversation, m, legacy) == chat]
    if all(m.id in on_path for m in in_chat):
        return BranchPlan(after, path, chat)
    return BranchPlan(after, path, None, new_chat=True)
