"""Full-text search over every saved conversation, archived ones included: type to search (with
`server:`, `assistant:`, `tag:`, `since:` and `until:` filters), results show the matching lines
highlighted, Enter opens the conversation at that message. A `tag:` filter with no words lists the
chats with that tag. The search itself runs in a thread against the store's index."""

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

from devic_tui.search_query import SearchQuery, parse_search
from devic_tui.service import ChatService
from devic_tui.sidebar_model import tags_text
from devic_tui.text_safety import one_line

if TYPE_CHECKING:
    from devic_tui.records import ConversationSummary, SearchHit

RESULT_LIMIT = 100


@dataclass(frozen=True)
class SearchChoice:
    conversation_id: str
    message_id: str | None


def _head(title: str, tags: list[str], archived: bool, where: str) -> Content:
    """A result's first line: the chat's title, its tags, where it is and when (already safe)."""
    return Content.assemble(
        (one_line(title) or "(untitled)", "bold"),
        (f"  {tags_text(tags)}" if tags else "", "italic $text-muted"),
        (one_line(f"  {where}") + (" · archived" if archived else ""), "$text-muted"),
    )


def hit_label(hit: SearchHit) -> Content:
    when = hit.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if hit.created_at else ""
    where = f"{hit.assistant_id} · {hit.server} · {hit.role} · {when}"
    head = _head(hit.title, hit.tags, hit.archived, where)
    snippet = Content(one_line(hit.snippet))  # same length, so highlight spans still fit
    for start, end in hit.highlights:
        snippet = snippet.stylize("bold $text-warning", start, end)
    return Content("\n").join([head, Content("  ") + snippet])


def chat_label(chat: ConversationSummary) -> Content:
    """A chat listed by a filter alone (`tag:work`)."""
    when = chat.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
    where = f"{chat.assistant_name or chat.assistant_id} · {chat.server} · {when}"
    count = f"  {chat.message_count} message{'s' if chat.message_count != 1 else ''}"
    return Content("\n").join([_head(chat.title, chat.tags, chat.archived, where), Content(count)])


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
        self.choices: list[SearchChoice] = []
        """What each result opens, in the order listed."""

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box") as box:
            box.border_title = "Search every conversation"
            yield Input(
                value=self.initial,
                placeholder="words…  server:NAME  assistant:NAME  tag:NAME  since:2026-01-31  "
                "until:2026-12-31",
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
        if self.choices:
            self._choose(0)

    @work(exclusive=True, group="search")
    async def run_search(self, raw: str) -> None:
        await asyncio.sleep(0.08)  # let fast typing settle; an exclusive worker cancels stale searches
        query = parse_search(raw)
        info = self.query_one("#search-info", Static)
        results = self.query_one("#search-results", OptionList)
        if not query.text.strip():
            self.hits = []
            if query.tag:
                await self._list_tagged(query)
                return
            self.choices = []
            results.clear_options()
            info.update("; ".join(query.problems) or "Type to search; ↓ to the results, Enter opens.")
            return
        try:
            hits = await self.service.search(query, limit=RESULT_LIMIT)
        except Exception as error:  # the index reports bad queries with readable messages
            info.update(f"Cannot search: {error}")
            return
        self.hits = hits
        self.choices = [SearchChoice(hit.conversation_id, hit.message_id) for hit in hits]
        results.clear_options()
        results.add_options([Option(hit_label(hit)) for hit in hits])
        count = f"{len(hits)} result{'s' if len(hits) != 1 else ''}"
        if len(hits) >= RESULT_LIMIT:
            count = f"first {RESULT_LIMIT} results"
        info.update("; ".join((count, *query.problems)))

    async def _list_tagged(self, query: SearchQuery) -> None:
        """No words, a tag: the chats with that tag (archived ones too), newest first."""
        info = self.query_one("#search-info", Static)
        results = self.query_one("#search-results", OptionList)
        chats = await self.service.chats(
            server=query.server,
            assistant_id=query.assistant,
            tag=query.tag,
            archived=None,
            limit=RESULT_LIMIT,
        )
        self.choices = [SearchChoice(chat.id, None) for chat in chats]
        results.clear_options()
        results.add_options([Option(chat_label(chat)) for chat in chats])
        count = f"{len(chats)} chat{'s' if len(chats) != 1 else ''} tagged {one_line(query.tag or '')}"
        if len(chats) >= RESULT_LIMIT:
            count = f"the newest {RESULT_LIMIT} chats tagged {one_line(query.tag or '')}"
        info.update("; ".join((count, *query.problems)))

    def action_focus_results(self) -> None:
        results = self.query_one("#search-results", OptionList)
        if self.choices:
            results.focus()
            results.highlighted = results.highlighted or 0

    @on(OptionList.OptionSelected, "#search-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_index)

    def _choose(self, index: int) -> None:
        self.dismiss(self.choices[index])

    def action_cancel(self) -> None:
        self.dismiss(None)
