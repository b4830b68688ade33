"""The branch map: a conversation drawn as a tree, like `git log --graph` (one row per message: its
first line and time, the branch on screen marked), moved through with the keyboard; Enter puts the
chosen message's branch on screen. The drawing is the headless core's (`branches.tree_lines`), the
same the command line's `show --tree` prints; here it is only put in an OptionList."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from devic_tui.branches import TreeLine, headline, tree_lines
from devic_tui.records import Conversation
from devic_tui.text_safety import clip, one_line

ROLE_MARK = {"user": "you", "assistant": "ai"}


def row_text(line: TreeLine, width: int = 64) -> Text:
    """One row: the graph, who, the first line of the message and its time; the branch on screen
    in bold. Server text goes in as plain text, never as markup."""
    message = line.message
    first = one_line(headline(message)) or ("(no text)" if message.role == "user" else f"({message.status})")
    room = max(12, width - len(line.prefix))
    first = clip(first, room).ljust(room)  # the times in one column
    when = message.created_at.astimezone().strftime("%d %b %H:%M")
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(line.prefix, style="bold magenta" if line.shown else "dim")
    text.append(
        f"{ROLE_MARK.get(message.role, message.role):>3} ",
        style="cyan" if message.role == "user" else "green",
    )
    text.append(first, style="bold" if line.shown else "")
    text.append(f"  {when}", style="dim")
    return text


class BranchMapScreen(ModalScreen[str | None]):
    """Returns the id of the message whose branch to show, or None."""

    DEFAULT_CSS = """
    BranchMapScreen { align: center middle; }
    BranchMapScreen > Vertical {
        width: 110; max-width: 95%; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    BranchMapScreen OptionList, BranchMapScreen OptionList:focus { height: 1fr; border: none; }
    BranchMapScreen .branch-map-help { color: $text-muted; height: 1; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="close-branch-map")]

    def __init__(self, conversation: Conversation, focus_id: str | None = None) -> None:
        super().__init__()
        self.conversation = conversation
        self.lines = tree_lines(conversation)
        self.focus_id = focus_id

    def compose(self) -> ComposeResult:
        options = [Option(row_text(line), id=line.message.id) for line in self.lines]
        with Vertical() as box:
            leaves = sum(1 for line in self.lines if line.leaf)
            box.border_title = f"Branches of “{one_line(self.conversation.title or 'untitled')}”: {leaves}"
            yield OptionList(*options, id="branch-map")
            yield Static(
                Text("↑/↓ move · Enter shows that branch · Esc closes · bold: the branch on screen"),
                classes="branch-map-help",
            )

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        wanted = self.focus_id or next((line.message.id for line in reversed(self.lines) if line.shown), None)
        if wanted is not None:
            index = next((i for i, line in enumerate(self.lines) if line.message.id == wanted), 0)
            option_list.highlighted = index
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
