"""Liberal readers for what servers send: times as ISO-8601 or epoch milliseconds, bodies wrapped in
`{"success", "data"}`, lists wrapped in `{"data": [...]}`, and text found under any of several keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

_EPOCH_MS_THRESHOLD = 10_000_000_000


def parse_time(value: Any) -> datetime | None:
    """A datetime from ISO-8601 text, epoch seconds or epoch milliseconds; None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return parse_time(int(text))
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def unwrap(body: Any) -> Any:
    """The payload of a `{"success": ..., "data": ...}` envelope, or the body itself."""
    if isinstance(body, dict) and "data" in body and ("success" in body or len(body) <= 3):
        return body["data"]
    return body


def as_list(body: Any, *keys: str) -> list[Any]:
    """A list from a bare array, an envelope, or an object holding it under one of `keys`."""
    body = unwrap(body)
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in (*keys, "data", "items", "results"):
            value = body.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict):
                nested = as_list(value, *keys)
                if nested:
                    return nested
    return []


def first_str(mapping: Any, keys: Iterable[str]) -> str | None:
    """The first non-empty string among `keys` of a mapping."""
    if not isinstance(mapping, dict):
        return None
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value
    return None
