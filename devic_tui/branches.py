"""A conversation as a tree: which message follows which, the branch on screen, siblings to switch
between, and what a new message on a branch must send (its path, and which server chat it continues).

Messages are stored flat, in the order they were written; each names its parent (`parent_id`), or
none, meaning the message before it (version-1 files, and chats that never branched). Everything here
is pure: it reads a `Conversation` and changes nothing but `shown_id` (`show`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devic_tui.records import EMPTY_SERVER_CHAT, ROOT, Conversation, StoredMessage


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
        self._newest: dict[str, int] = {}
        """Per message, the position of the newest message under it (itself included): a parent is
        always written before its children, so one pass from the end fills it."""
        for message_id in reversed(list(self.by_id)):
            newest = max(self.position[message_id], self._newest.get(message_id, -1))
            self._newest[message_id] = newest
            parent = self.parent[message_id]
            if parent != ROOT and self._newest.get(parent, -1) < newest:
                self._newest[parent] = newest

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
        while children := self.children.get(current):
            current = children[0] if len(children) == 1 else max(children, key=self._newest.__getitem__)
        return current if current != ROOT else None

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
    (`new_chat`), whose first message must then carry the path (`carries_history`). A new chat
    the server has already made (an upload made it) is named by `remote_chat_id` and still new."""

    after: str
    path: list[StoredMessage] = field(default_factory=list)
    remote_chat_id: str | None = None
    new_chat: bool = False

    @property
    def carries_history(self) -> bool:
        return self.new_chat and bool(self.path)

    def in_chat(self, remote_chat_id: str) -> BranchPlan:
        """The same plan once the server has made its chat (an upload made it, say). The chat is
        as new as it was: empty, so a branch's first message must still carry the path."""
        return BranchPlan(self.after, self.path, remote_chat_id, new_chat=self.new_chat)


def _chat_of(conversation: Conversation, message: StoredMessage, legacy: bool) -> str | None:
    if legacy:
        return conversation.remote_id
    return message.remote_chat_id


def branch_plan(conversation: Conversation, after: str | None = None) -> BranchPlan:
    """What a message written after `after` (default: the last message on screen; ROOT: as a new
    first message) continues. It continues the server chat of the message before it only when that
    chat holds nothing but this path (every message of it is on the path); otherwise the branch
    needs a chat of its own. A conversation in which no message names a chat (it never branched, or
    it is a version-1 file) has all its messages in `conversation.remote_id`. A branch that needs a
    chat of its own takes the conversation's empty server chat (`EMPTY_SERVER_CHAT`) while no
    message names it yet."""
    plan = _plan(conversation, after)
    empty_chat = conversation.metadata.get(EMPTY_SERVER_CHAT)
    if not (plan.new_chat and plan.remote_chat_id is None and isinstance(empty_chat, str)):
        return plan
    if any(m.remote_chat_id == empty_chat for m in conversation.messages):
        return plan  # a branch has taken it already
    return plan.in_chat(empty_chat)


def _plan(conversation: Conversation, after: str | None) -> BranchPlan:
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


@dataclass(frozen=True)
class TreeLine:
    """One row of a conversation drawn as a tree (`tree_lines`): a message and the graph before it."""

    message: StoredMessage
    prefix: str
    """The branch drawing that goes before the row, in box-drawing characters: "" on the trunk of a
    chat that never forked, then three columns per fork passed: `├─ ` or `└─ ` on the first message
    of a branch (the last alternative gets `└─ `), `│  ` or three spaces below it. Ends with a space
    when not empty, so the row's text can follow it directly."""
    depth: int
    """How many forks lie above the row (`len(prefix) == 3 * depth`)."""
    shown: bool
    """Whether the message is on the branch on screen (`ConversationTree.shown_path`)."""
    leaf: bool
    """Whether it is the last message of a branch (counting rows with `leaf` counts the branches)."""
    parent_id: str
    """The message it follows (ROOT for a first message), resolved as the tree reads it."""
    sibling_index: int
    """Its 1-based place among the alternatives at its fork, oldest first (1 when there is no fork)."""
    siblings: int
    """How many alternatives its fork has (1: none, the row just continues its branch)."""

    @property
    def branch_start(self) -> bool:
        """The first message of a branch at a fork (an edit, a regenerated answer, an earlier one)."""
        return self.siblings > 1


def tree_lines(conversation: Conversation) -> list[TreeLine]:
    """The whole conversation drawn as a tree, like `git log --graph`: one row per message, every
    branch, depth first, alternatives oldest first, so each message comes right after the one it
    follows or after the rows of an earlier alternative. A branch continues on the same column; each
    fork draws its alternatives one column pair further in:

        hello                  (prefix "")
        Hi!                    (prefix "")
        ├─ tell me a joke      (prefix "├─ ", depth 1)
        │  Why did…            (prefix "│  ")
        └─ tell me a story     (prefix "└─ ", shown)
           Once upon a time…   (prefix "   ", shown)

    Pure: no Textual, no terminal; the row's text (role, first line, time) and the marking of the
    branch on screen (`TreeLine.shown`) are the caller's to render (the CLI's `show --tree`, the
    app's branch map). Built without recursion, so a long or deeply forked chat draws in linear time."""
    tree = ConversationTree(conversation)
    shown = {message.id for message in tree.shown_path()}
    lines: list[TreeLine] = []
    stack: list[tuple[str, str, str, int, int, int]] = []
    """(message id, its prefix, the prefix of what follows it, depth, sibling index, siblings)."""

    def push_children(parent: str, lead: str, depth: int) -> None:
        children = tree.children.get(parent, [])
        if len(children) == 1:
            stack.append((children[0], lead, lead, depth, 1, 1))
            return
        count = len(children)
        for index in range(count - 1, -1, -1):  # pushed last first: popped oldest first
            last = index == count - 1
            stack.append(
                (
                    children[index],
                    lead + ("└─ " if last else "├─ "),
                    lead + ("   " if last else "│  "),
                    depth + 1,
                    index + 1,
                    count,
                )
            )

    push_children(ROOT, "", 0)
    while stack:
        message_id, prefix, below, depth, index, count = stack.pop()
        lines.append(
            TreeLine(
                message=tree.by_id[message_id],
                prefix=prefix,
                depth=depth,
                shown=message_id in shown,
                leaf=not tree.children[message_id],
                parent_id=tree.parent[message_id],
                sibling_index=index,
                siblings=count,
            )
        )
        push_children(message_id, below, depth)
    return lines


def headline(message: StoredMessage) -> str:
    """The first line of a message's text that is not blank, as stored (not made safe for a
    terminal: `text_safety.visible` it before printing); for a message without text, its files'
    names in brackets, or "" when it has none."""
    for line in message.content.splitlines():
        if line.strip():
            return line.strip()
    if message.attachments:
        return "[" + ", ".join(attachment.name for attachment in message.attachments) + "]"
    return ""


@dataclass(frozen=True)
class OtherBranch:
    """A branch besides the one on screen, as listed after it (`other_branches`)."""

    start: StoredMessage
    """Its first message not on the branch on screen nor on an earlier listed branch."""
    after: str
    """The message it follows from there (ROOT: it starts the conversation)."""
    leaf: str
    """Its last message."""
    messages: list[StoredMessage]
    """Its messages from `start` to `leaf`."""


def other_branches(conversation: Conversation) -> list[OtherBranch]:
    """Every branch but the one on screen, oldest first, each from the message where it parts from
    the branch on screen and from the branches listed before it."""
    tree = ConversationTree(conversation)
    seen = {message.id for message in tree.shown_path()}
    shown_leaf = tree.shown_leaf()
    found: list[OtherBranch] = []
    for leaf in tree.leaves():
        if leaf == shown_leaf:
            continue
        path = tree.path_to(leaf)
        fresh = next(i for i, message in enumerate(path) if message.id not in seen)
        start = path[fresh]
        found.append(OtherBranch(start, tree.parent[start.id], leaf, path[fresh:]))
        seen.update(message.id for message in path[fresh:])
    return found
