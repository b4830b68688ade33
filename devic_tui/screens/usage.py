"""The usage view: every answer's tokens added up per day, assistant and server, with today's, this
week's and this month's totals, and the cost beside them where prices are configured; the same
ledger `devic-tui usage` prints. It reads the ledger through the service and only draws it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from devic_tui.context_use import compact
from devic_tui.text_safety import one_line
from devic_tui.usage_ledger import UsageLedger, UsageTotals


def money(cost: float | None) -> str:
    return "" if cost is None else f"{cost:,.2f}" if cost >= 0.01 or cost == 0 else f"{cost:.4f}"


def totals_line(name: str, totals: UsageTotals, priced: bool) -> str:
    answers = "1 answer" if totals.answers == 1 else f"{totals.answers:,} answers"
    words = f"{name}: {compact(totals.total_tokens)} tokens in {answers}"
    if priced and totals.cost is not None:
        words += f", costing {money(totals.cost)}"
    return words


class UsageScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    UsageScreen { align: center middle; }
    UsageScreen > Vertical {
        width: 110; max-width: 96%; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    UsageScreen #usage-totals { height: auto; margin: 0 0 1 0; }
    UsageScreen DataTable { height: 1fr; }
    UsageScreen .usage-hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="close-usage")]

    def __init__(self, ledger: UsageLedger) -> None:
        super().__init__()
        self.ledger = ledger

    def compose(self) -> ComposeResult:
        ledger = self.ledger
        with Vertical() as box:
            box.border_title = "Usage"
            yield Static(
                "\n".join(
                    totals_line(name, totals, ledger.priced)
                    for name, totals in (
                        ("Today", ledger.today),
                        ("This week", ledger.this_week),
                        ("This month", ledger.this_month),
                    )
                ),
                id="usage-totals",
                markup=False,
            )
            yield DataTable(cursor_type="row", zebra_stripes=True, id="usage-table")
            hint = "Tokens as the servers reported them; an answer whose server reported none counts 0."
            if not ledger.priced:
                hint += " Set prices in the config to see what they cost."
            yield Static(hint + " Esc closes.", classes="usage-hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        columns = ["Day", "Assistant", "Server", "Answers", "Input", "Output", "Cached", "Total"]
        if self.ledger.priced:
            columns.append("Cost")
        table.add_columns(*columns)
        for row in self.ledger.rows:
            cells = [
                row.day.isoformat(),
                one_line(row.assistant_name or row.assistant_id),
                one_line(row.server),
                f"{row.answers:,}",
                f"{row.input_tokens:,}",
                f"{row.output_tokens:,}",
                f"{row.cached_tokens:,}",
                f"{row.total_tokens:,}",
            ]
            if self.ledger.priced:
                cells.append(money(row.cost))
            table.add_row(*(Text(cell) for cell in cells))  # Text, not str: no markup in names
        if not self.ledger.rows:
            self.query_one("#usage-totals", Static).update("No answers in history yet.")
        table.focus()
