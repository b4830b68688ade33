"""Full-text search over every saved conversation: type to search (with `server:`, `assistant:`,
`since:` and `until:` filters), results show the matching lines highlighted, Enter opens the
conversation at that message. The search itself runs in a thread against the store's index."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from devic_tui.search_query import parse_search
from devic_tui.service import ChatService

if TYPE_CHECKING:
    from devic_tui.records import SearchHit
from devic_tui.text_safety import one_line

RESULT_LIMIT = 100


@dataclass(frozen=True)
class SearchChoice:
    conversation_id: str
    message_id: str | None


def hit_label(hit: SearchHit) -> Content:
    when = hit.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if hit.created_at else ""
    head = Content.assemble(
        (one_line(hit.title) or "(untitled)", "bold"),
        (one_line(f"  {hit.assistant_id} · {hit.server} · {hit.role} · {when}"), "$text-muted"),
    )
    snippet = Content(one_line(hit.snippet))  # same length, so highlight spans still fit
    for start, end in hit.highlights:
        snippet = snippet.stylize("bold $text-warning", start, end)
    return Content("\n").join([head, Content("  ") + snippet])


class SearchScreen(ModalScreen[SearchChoice | None]):
    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    #search-box { width: 110; max-width: 98%; height: 85%; border: round $accent; background: $surface; }
    #search-input { margin: 0 0 0 0; }
    #search-info { height: 1; color: $text-muted; padding: 0 1; }
    #search-results { height: 1fr; border: none; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="close-search"),
        Binding("down", "focus_results", "Results", show=False, id="search-results"),
    ]

    def __init__(self, service: ChatService, query: str = "") -> None:
        super().__init__()
        self.service = service
        self.initial = query
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box") as box:
            box.border_title = "Search every conversation"
            yield Input(
                value=self.initial,
                placeholder="words…  server:NAME  assistant:NAME  since:2026-01-31  until:2026-12-31",
                id="search-input",
            )
            yield Static("Type to search; ↓ to the results, Enter opens.", id="search-info", markup=False)
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self.initial:
            self.run_search(self.initial)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @on(Input.Submitted, "#search-input")
    def _submitted(self) -> None:
        if self.hits:
            self._choose(0)

    @work(exclusive=True, group="search")
    async def run_search(self, raw: str) -> None:
        await asyncio.sleep(0.08)  # let fast typing settle; an exclusive worker cancels stale searches
        query = parse_search(raw)
        info = self.query_one("#search-info", Static)
        results = self.query_one("#search-results", OptionList)
        if not query.text.strip():
            self.hits = []
            results.clear_options()
            info.update("; ".join(query.problems) or "Type to search; ↓ to the results, Enter opens.")
            return
        try:
            hits = await self.service.search(
                query.text,
                server=query.server,
                assistant_id=query.assistant,
                since=query.since,
                until=query.until,
                limit=RESULT_LIMIT,
            )
        except Exception as error:  # the index reports bad queries with readable messages
            info.update(f"Cannot search: {error}")
            return
        self.hits = hits
        results.clear_options()
        results.add_options([Option(hit_label(hit)) for hit in hits])
        count = f"{len(hits)} result{'s' if len(hits) != 1 else ''}"
        if len(hits) >= RESULT_LIMIT:
            count = f"first {RESULT_LIMIT} results"
        info.update("; ".join((count, *query.problems)))

    def action_focus_results(self) -> None:
        results = self.query_one("#search-results", OptionList)
        if self.hits:
            results.focus()
            results.highlighted = results.highlighted or 0

    @on(OptionList.OptionSelected, "#search-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    def _choose(self, index: int) -> None:
        hit = self.hits[index]
        self.dismiss(SearchChoice(hit.conversation_id, hit.message_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
