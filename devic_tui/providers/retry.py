"""The retry policy as pure functions: which failures are retried, and how long to wait.

Exponential backoff with full jitter, `Retry-After` (seconds or HTTP-date) honoured up to a cap, and a
request is only ever retried before any byte of an answer was received (the HTTP layer enforces that).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 30.0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(attempt: int, policy: RetryPolicy, rand: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff for retry number `attempt` (0 for the first retry)."""
    ceiling = min(policy.max_delay, policy.base_delay * (2.0**attempt))
    return ceiling * (0.5 + rand() / 2)


def next_delay(
    attempt: int,
    policy: RetryPolicy,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """How long to wait before retry number `attempt`, or None to give up.

    `status` is the HTTP status that failed (None for a connection failure, which is retried).
    A `Retry-After` longer than the cap gives up at once rather than leave the person waiting.
    """
    if attempt >= policy.max_retries:
        return None
    if status is not None and status not in RETRY_STATUSES:
        return None
    if retry_after is not None:
        if retry_after > policy.retry_after_cap:
            return None
        return retry_after
    return backoff_delay(attempt, policy, rand)
