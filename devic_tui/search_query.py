"""The search box's little language, shared by the search screen and the command line: free text
plus `server:NAME`, `assistant:NAME`, `tag:NAME`, `since:YYYY-MM-DD` and `until:YYYY-MM-DD` filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

_FILTERS = ("server", "assistant", "tag", "since", "until")


class SearchQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str = ""
    server: str | None = None
    assistant: str | None = None
    tag: str | None = None
    """One of the chat's tags (any case); `tag:#work` is `tag:work`."""
    since: datetime | None = None
    until: datetime | None = None
    problems: tuple[str, ...] = ()
    """Filters that could not be read, in words (a bad date, say); they are left out of the search."""


def _day(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_search(raw: str) -> SearchQuery:
    words: list[str] = []
    found: dict[str, str] = {}
    for word in raw.split():
        key, colon, value = word.partition(":")
        if colon and key.lower() in _FILTERS and value:
            found[key.lower()] = value
        else:
            words.append(word)
    problems: list[str] = []
    tag = found.get("tag", "").lstrip("#") or None
    since = until = None
    if "since" in found:
        since = _day(found["since"])
        if since is None:
            problems.append(f"since:{found['since']} is not a date like 2026-11-25")
    if "until" in found:
        day = _day(found["until"])
        if day is None:
            problems.append(f"until:{found['until']} is not a date like 2026-11-25")
        else:
            until = day + timedelta(days=1)
    return SearchQuery(
        text=" ".join(words),
        server=found.get("server"),
        assistant=found.get("assistant"),
        tag=tag,
        since=since,
        until=until,
        problems=tuple(problems),
    )
