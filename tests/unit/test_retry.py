"""The retry policy as pure functions (providers/retry.py): Retry-After in both its forms, full-jitter
exponential backoff within its bounds, and which failures are retried at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devic_tui.providers.retry import (
    RETRY_STATUSES,
    RetryPolicy,
    backoff_delay,
    next_delay,
    parse_retry_after,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
        ("Saturday, 01-Mar-25 12:01:00 GMT", 60.0),  # RFC 850
        ("Sat Mar  1 12:00:10 2025", 10.0),  # asctime, no zone: UTC
        ("Sat, 01 Mar 2025 11:59:00 GMT", 0.0),  # already past
    ],
)
def test_parse_retry_after(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "Mon, 99 Foo 2025", "1e"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_date_against_the_real_clock() -> None:
    from email.utils import format_datetime

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    wait = parse_retry_after(later)
    assert wait is not None
    assert 18.0 <= wait <= 20.0


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    top = [backoff_delay(n, policy, rand=lambda: 1.0) for n in range(7)]
    assert top == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    bottom = [backoff_delay(n, policy, rand=lambda: 0.0) for n in range(4)]
    assert bottom == [0.25, 0.5, 1.0, 2.0]


@given(attempt=st.integers(min_value=0, max_value=60), r=st.floats(min_value=0.0, max_value=1.0))
def test_backoff_stays_within_bounds(attempt: int, r: float) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    delay = backoff_delay(attempt, policy, rand=lambda: r)
    ceiling = min(policy.max_delay, policy.base_delay * 2**attempt)
    assert ceiling / 2 <= delay <= ceiling


def test_next_delay_gives_up_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert next_delay(0, policy, status=500, rand=lambda: 1.0) == 0.5
    assert next_delay(1, policy, status=500, rand=lambda: 1.0) == 1.0
    assert next_delay(2, policy, status=500) is None
    assert next_delay(0, RetryPolicy(max_retries=0), status=503) is None


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retryable_statuses(status: int) -> None:
    assert next_delay(0, RetryPolicy(), status=status) is not None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert next_delay(0, RetryPolicy(), status=status) is None
    assert next_delay(0, RetryPolicy(), status=status, retry_after=1.0) is None


def test_connection_failures_are_retried() -> None:
    assert next_delay(0, RetryPolicy(), status=None, rand=lambda: 0.0) == 0.25


def test_retry_after_wins_over_backoff_up_to_the_cap() -> None:
    policy = RetryPolicy(retry_after_cap=30.0)
    assert next_delay(0, policy, status=429, retry_after=12.0) == 12.0
    assert next_delay(0, policy, status=429, retry_after=30.0) == 30.0
    assert next_delay(0, policy, status=429, retry_after=0.0) == 0.0
    assert next_delay(0, policy, status=429, retry_after=30.5) is None
    assert next_delay(3, policy, status=429, retry_after=1.0) is None
