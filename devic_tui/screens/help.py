"""F1 help: every key that works, built from the live bindings (so remapped keys show as remapped)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    #help {
        width: 84; max-width: 95%; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="close-help")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("key", no_wrap=True)
        table.add_column("action")
        table.add_column("binding id", style="dim", no_wrap=True)
        for key, description, binding_id in self.rows:
            table.add_row(Text(key), Text(description), Text(binding_id))
        with VerticalScroll(id="help") as scroll:
            scroll.border_title = "Keys: remap any of them by its id in the config's keymap table"
            yield Static(table)
            yield Static(
                Text(
                    "\nEvery key acts from anywhere, the composer included. While an answer is coming,\n"
                    "sending queues the message; Esc takes the queue back, then stops the answer.\n"
                    "In the messages (F3, then ↑/↓): e edits a message of yours as a new branch, r\n"
                    "answers again, [ and ] switch alternatives (‹ 2/3 ›), f forks; Alt+M maps them.\n"
                    "Archived chats wait in the sidebar's Archived section (Alt+V unfolds it); Alt+A\n"
                    "on an archived chat brings it back. Alt+T tags a chat; search takes tag:NAME.\n"
                    "Ctrl+P opens the command palette, where every action is listed.\n"
                    'To remap: a [keymap] table in the config file, then new-chat = "alt+n".'
                )
            )

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
