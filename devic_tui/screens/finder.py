"""The chat finder: Textual's command palette listing chats, with their titles and details shown
exactly as the servers sent them.

Textual's own `SimpleProvider` (behind `App.search_commands`) parses each name as Textual markup
when it highlights a match, and every hit's help text as markup too, so a chat titled
`[bold]x[/bold]` would show a bold "x" and `[@click=app.quit]Q[/]` would be a clickable action.
Here a title becomes plain `Content` with the matched characters styled, and a detail is escaped
so the palette's markup parsing gives back the very characters sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import App
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen
from textual.style import Style

from devic_tui.text_safety import one_line

UNTITLED = "(untitled)"


@dataclass(frozen=True)
class FinderItem:
    """One chat to offer: its title, a line of detail under it, and what choosing it does."""

    title: str
    detail: str
    open: Callable[[], object]


def literal_markup(text: str) -> str:
    """Textual markup that shows as exactly `text`.

    In Textual's content markup only an unescaped `[` starts a tag, and `\\[` stands for `[`; a
    backslash anywhere else is itself. `textual.markup.escape` (made for Rich's rules) misses tags
    such as `[B]`, `[$accent]` or `[ red ]` and doubles backslashes that Textual then shows twice.
    """
    return text.replace("[", "\\[")


def shown_title(title: str) -> str:
    """A title as the finder shows it: on one line, control characters made visible."""
    return one_line(title) if title.strip() else UNTITLED


class ChatFinderProvider(Provider):
    """Offers `items`; `finder_provider` makes a subclass holding them, since the palette makes
    its providers itself from classes, passing only the screen and the match style."""

    items: ClassVar[tuple[FinderItem, ...]] = ()

    def __init__(self, screen: Screen[Any], match_style: Style | None = None) -> None:
        super().__init__(screen, match_style)
        self._rows = [
            (shown_title(item.title), literal_markup(one_line(item.detail)) or None, item.open)
            for item in self.items
        ]

    async def discover(self) -> Hits:
        for title, help_text, open_item in self._rows:
            yield DiscoveryHit(Content(title), open_item, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, open_item in self._rows:
            score, offsets = matcher.fuzzy_search.match(matcher.query, title)
            if score <= 0:
                continue
            display = Content(title)
            for offset in offsets:
                # Offsets come from the lower-cased title, which can be longer (e.g. "İ").
                if offset < len(title) and not title[offset].isspace():
                    display = display.stylize(matcher.match_style, offset, offset + 1)
            yield Hit(score, display, open_item, text=title, help=help_text)


def finder_provider(items: Sequence[FinderItem]) -> type[ChatFinderProvider]:
    """A provider class offering `items`, to pass in `CommandPalette(providers=[...])`."""
    offered = tuple(items)

    class ItemsProvider(ChatFinderProvider):
        items = offered

    return ItemsProvider


def open_chat_finder(
    app: App[object], items: list[FinderItem], placeholder: str = "Switch to a chat…"
) -> None:
    """Show `items` in the command palette; choosing one calls its `open`."""
    app.push_screen(CommandPalette(providers=[finder_provider(items)], placeholder=placeholder))
