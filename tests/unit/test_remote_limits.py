"""The limits servers report (providers/remote_limits.py): each header family, durations, resets as
epoch seconds, milliseconds or seconds from now, the model gateway's `devic` usage block and its 429
TENANT_LIMIT_EXCEEDED body, what a refusal says about when to try again, the tracker's tightest
limit and how readings expire, and the words the status line shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devic_tui.providers.remote_limits import (
    SOURCE_DEVIC_USAGE,
    SOURCE_HEADERS,
    SOURCE_OPENAI,
    SOURCE_RETRY_AFTER,
    SOURCE_TENANT_REFUSAL,
    LimitTracker,
    RemoteLimit,
    describe_limit,
    describe_wait,
    from_devic_block,
    from_devs_usage,
    from_headers,
    from_tenant_refusal,
    parse_duration,
    parse_reset,
    refusal_reset,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=4)


def limit(
    remaining: float,
    total: float | None = 100,
    *,
    scope: str = "requests",
    metric: str = "requests",
    resets_at: datetime | None = None,
) -> RemoteLimit:
    return RemoteLimit(
        server="s", scope=scope, metric=metric, limit=total, remaining=remaining, resets_at=resets_at
    )


# --- durations and resets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("8.64s", 8.64),
        ("2m59.56s", 179.56),
        ("1d", 86400.0),
        ("", None),
        ("soon", None),
        ("6m0sx", None),
        ("m", None),
    ],
)
def test_durations(text: str, seconds: float | None) -> None:
    found = parse_duration(text)
    assert found == pytest.approx(seconds) if seconds is not None else found is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("4102444800", datetime(2100, 1, 1, tzinfo=UTC)),  # epoch seconds
        (4102444800, datetime(2100, 1, 1, tzinfo=UTC)),
        ("4102444800000", datetime(2100, 1, 1, tzinfo=UTC)),  # epoch milliseconds
        ("30", NOW + timedelta(seconds=30)),  # small: seconds from now
        (90, NOW + timedelta(seconds=90)),
        ("0.5", NOW + timedelta(seconds=0.5)),
        ("6m0s", NOW + timedelta(minutes=6)),
        ("2025-03-01T12:05:00Z", NOW + timedelta(minutes=5)),
        ("", None),
        ("never", None),
        (-5, None),
        (None, None),
        (True, None),
        ({"at": 1}, None),
    ],
)
def test_resets_in_every_form(value: Any, expected: datetime | None) -> None:
    assert parse_reset(value, NOW) == expected


# --- headers -------------------------------------------------------------------------------------


def test_x_ratelimit_headers_with_an_epoch_reset() -> None:
    headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "4102444800"}
    [found] = from_headers("agent", headers, NOW)
    assert (found.server, found.scope, found.metric) == ("agent", "requests", "requests")
    assert (found.limit, found.remaining) == (1000, 12)
    assert found.resets_at == datetime(2100, 1, 1, tzinfo=UTC)
    assert found.source == SOURCE_HEADERS
    assert found.fraction_left == pytest.approx(0.012)


def test_x_ratelimit_reset_as_seconds_from_now_and_any_case() -> None:
    headers = {"x-ratelimit-limit": "60", "X-RATELIMIT-REMAINING": "0", "x-ratelimit-reset": "45"}
    [found] = from_headers("s", headers, NOW)
    assert found.remaining == 0
    assert found.resets_at == NOW + timedelta(seconds=45)


def test_ietf_draft_ratelimit_headers() -> None:
    headers = {"RateLimit-Limit": "100, 100;w=60", "RateLimit-Remaining": "7", "RateLimit-Reset": "20"}
    [found] = from_headers("s", headers, NOW)
    assert (found.limit, found.remaining, found.resets_at) == (100, 7, NOW + timedelta(seconds=20))


def test_openai_headers_for_requests_and_tokens() -> None:
    headers = {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-tokens": "149984",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    requests, tokens = from_headers("openai", headers, NOW)
    assert (requests.scope, requests.metric, requests.limit, requests.remaining) == (
        "requests",
        "requests",
        60,
        59,
    )
    assert requests.resets_at == NOW + timedelta(seconds=1)
    assert (tokens.scope, tokens.metric) == ("tokens", "tokens")
    assert (tokens.limit, tokens.remaining) == (150000, 149984)
    assert tokens.resets_at == NOW + timedelta(minutes=6)
    assert {requests.source, tokens.source} == {SOURCE_OPENAI}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-limit": "many", "x-ratelimit-remaining": "few"},
        {"x-ratelimit-remaining": "5"},  # "some left" without the limit says nothing
        {"x-ratelimit-limit-requests": "60"},
        {"content-type": "application/json"},
        {"retry-after": "30"},  # not a refusal: no limit of its own
    ],
)
def test_headers_that_report_nothing(headers: dict[str, str]) -> None:
    assert from_headers("s", headers, NOW) == []


def test_a_bad_reset_is_dropped_not_the_reading() -> None:
    headers = {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "2", "x-ratelimit-reset": "whenever"}
    [found] = from_headers("s", headers, NOW)
    assert (found.remaining, found.resets_at) == (2, None)


def test_headers_that_are_not_a_mapping_report_nothing() -> None:
    assert from_headers("s", None, NOW) == []  # type: ignore[arg-type]


def test_retry_after_on_a_refusal_is_a_limit_of_its_own() -> None:
    [found] = from_headers("s", {"Retry-After": "30"}, NOW, status=429)
    assert (found.limit, found.remaining, found.source) == (None, 0, SOURCE_RETRY_AFTER)
    assert found.resets_at == NOW + timedelta(seconds=30)
    assert found.fraction_left == 0


def test_retry_after_fills_in_the_reset_of_a_spent_limit() -> None:
    headers = {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0", "retry-after": "12"}
    [found] = from_headers("s", headers, NOW, status=429)
    assert found.resets_at == NOW + timedelta(seconds=12)
    assert found.source == SOURCE_HEADERS


# --- the model gateway ---------------------------------------------------------------------------


def usage_item(**fields: Any) -> dict[str, Any]:
    return {
        "scope": "tenant",
        "metric": "tokens",
        "windowUnit": "day",
        "windowEvery": 1,
        "limit": 10000,
        "current": 9700,
        "percent": 97,
        "resetsAt": "2025-03-01T12:04:00Z",
        "origin": "tenant",
        "tierId": "t1",
        **fields,
    }


def test_the_devic_usage_block() -> None:
    payload = {
        "choices": [],
        "devic": {
            "tenantId": "acme",
            "subtenantId": "team-a",
            "usage": [usage_item(), usage_item(scope="subtenant", metric="cost", limit=50, current=10.5)],
        },
    }
    tokens, cost = from_devic_block("gw", payload, NOW)
    assert (tokens.scope, tokens.metric, tokens.limit, tokens.remaining) == ("tenant", "tokens", 10000, 300)
    assert tokens.resets_at == LATER
    assert tokens.source == SOURCE_DEVIC_USAGE
    assert (cost.scope, cost.metric, cost.remaining) == ("subtenant", "cost", 39.5)


def test_the_devic_block_takes_percent_when_current_is_missing() -> None:
    item = usage_item(current=None, percent=25)
    [found] = from_devic_block("gw", {"devic": {"usage": [item]}}, NOW)
    assert found.remaining == 7500


def test_the_devic_block_takes_epoch_milliseconds() -> None:
    item = usage_item(resetsAt=int(LATER.timestamp() * 1000))
    [found] = from_devic_block("gw", {"devic": {"usage": [item]}}, NOW)
    assert found.resets_at == LATER


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "not json",
        [],
        {},
        {"devic": None},
        {"devic": {"usage": "lots"}},
        {"devic": {"usage": [None, 3, {"limit": "x"}, {"current": 3}, {"limit": 10}]}},
    ],
)
def test_devic_blocks_that_report_nothing(payload: Any) -> None:
    assert from_devic_block("gw", payload, NOW) == []


def test_a_current_over_the_limit_leaves_nothing() -> None:
    [found] = from_devic_block("gw", {"devic": {"usage": [usage_item(current=12000)]}}, NOW)
    assert found.remaining == 0
    assert found.fraction_left == 0


REFUSAL = {
    "statusCode": 429,
    "error": "TENANT_LIMIT_EXCEEDED",
    "message": "Tenant limit exceeded",
    "details": {
        "allowed": False,
        "blockingRule": {"scope": "tenant", "metric": "tokens"},
        "current": 10000,
        "limit": 10000,
        "resetsAt": "2025-03-01T12:04:00Z",
    },
    "retryAfter": 240,
}


def test_the_tenant_refusal_body() -> None:
    found = from_tenant_refusal("gw", REFUSAL, NOW)
    assert found is not None
    assert (found.scope, found.metric, found.limit, found.remaining) == ("tenant", "tokens", 10000, 0)
    assert found.resets_at == LATER
    assert found.source == SOURCE_TENANT_REFUSAL
    assert from_devic_block("gw", REFUSAL, NOW) == [found]


def test_the_tenant_refusal_as_text_with_only_retry_after() -> None:
    body = json.dumps(
        {
            "statusCode": 429,
            "error": "TENANT_LIMIT_EXCEEDED",
            "details": {"blockingRule": "r1"},
            "retryAfter": 90,
        }
    )
    found = from_tenant_refusal("gw", body, NOW)
    assert found is not None
    assert (found.scope, found.metric, found.limit, found.remaining) == ("tenant", "requests", None, 0)
    assert found.resets_at == NOW + timedelta(seconds=90)


@pytest.mark.parametrize(
    "body", [None, "", "<html>", {"error": "RATE_LIMITED"}, {"error": {"code": "other"}}, [REFUSAL]]
)
def test_other_bodies_are_no_tenant_refusal(body: Any) -> None:
    assert from_tenant_refusal("gw", body, NOW) is None


@pytest.mark.parametrize(
    ("headers", "body", "expected", "source"),
    [
        ({"retry-after": "5"}, REFUSAL, LATER, SOURCE_TENANT_REFUSAL),
        (
            {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0"}
            | {"x-ratelimit-reset-requests": "4m0s", "retry-after": "5"},
            "",
            LATER,
            SOURCE_HEADERS,
        ),
        (
            {"retry-after": "5"},
            '{"error": {"message": "slow down"}}',
            NOW + timedelta(seconds=5),
            SOURCE_RETRY_AFTER,
        ),
        ({}, "", None, None),
    ],
)
def test_when_a_refusal_may_go_again(
    headers: dict[str, str], body: Any, expected: datetime | None, source: str | None
) -> None:
    assert refusal_reset("s", headers, body, NOW) == (expected, source)


# --- the tracker ---------------------------------------------------------------------------------


def test_the_tracker_keeps_the_latest_reading_per_scope_and_metric() -> None:
    tracker = LimitTracker("s")
    tracker.note_headers({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "10"}, NOW)
    tracker.note_headers({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "50"}, NOW)
    found = tracker.tightest(NOW)
    assert found is not None
    assert found.remaining == 50
    assert len(tracker.readings(NOW)) == 1


def test_the_tightest_is_the_smallest_part_left() -> None:
    tracker = LimitTracker("s")
    tracker.note_payload({"devic": {"usage": [usage_item(current=5000)]}}, NOW)  # half left
    headers = {
        "x-ratelimit-limit-requests": "100",
        "x-ratelimit-remaining-requests": "3",
        "x-ratelimit-reset-requests": "4m0s",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "900",
    }
    tracker.note_headers(headers, NOW)
    found = tracker.tightest(NOW)
    assert found is not None
    assert (found.metric, found.remaining, found.limit) == ("requests", 3, 100)
    assert [r.fraction_left for r in tracker.readings(NOW)] == [0.03, 0.5, 0.9]


def test_a_reading_whose_reset_passed_is_ignored() -> None:
    tracker = LimitTracker("s")
    tracker.note([limit(1, resets_at=LATER), limit(40, scope="tokens", metric="tokens")])
    assert tracker.tightest(NOW) == limit(1, resets_at=LATER)
    after = LATER + timedelta(seconds=1)
    assert tracker.tightest(after) == limit(40, scope="tokens", metric="tokens")
    tracker.note([limit(5, scope="tokens", metric="tokens", resets_at=LATER)])
    assert tracker.tightest(after) is None
    assert tracker.tightest(NOW) is not None


def test_an_empty_tracker_has_no_tightest() -> None:
    tracker = LimitTracker("s")
    tracker.note_headers({}, NOW)
    tracker.note_payload("not json", NOW)
    assert tracker.tightest(NOW) is None


# --- in words ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "1 s"),
        (42, "42 s"),
        (59, "59 s"),
        (60, "1 m"),
        (239.9, "4 m"),
        (240, "4 m"),
        (3600, "1 h"),
        (3900, "1 h 5 m"),
        (86400 * 2 + 3600 * 3, "2 d 3 h"),
    ],
)
def test_waits_in_words(seconds: float, words: str) -> None:
    assert describe_wait(seconds) == words


@pytest.mark.parametrize(
    ("reading", "words"),
    [
        (limit(3, resets_at=LATER), "limit 3/100 requests, resets in 4 m"),
        (limit(3, resets_at=LATER - timedelta(seconds=0.1)), "limit 3/100 requests, resets in 4 m"),
        (limit(3, resets_at=NOW + timedelta(seconds=42)), "limit 3/100 requests, resets in 42 s"),
        (limit(3, resets_at=NOW + timedelta(minutes=65)), "limit 3/100 requests, resets in 1 h 5 m"),
        (limit(3), "limit 3/100 requests"),
        (limit(0, resets_at=NOW), "limit 0/100 requests, resets now"),
        (
            limit(300, 10000, scope="tenant", metric="tokens", resets_at=LATER),
            "limit 300/10,000 tokens (tenant), resets in 4 m",
        ),
        (limit(0.5, 10, scope="tenant", metric="cost"), "limit 0.5/10 cost (tenant)"),
        (limit(0, None, resets_at=NOW + timedelta(seconds=30)), "requests limit reached, resets in 30 s"),
    ],
)
def test_limits_in_words(reading: RemoteLimit, words: str) -> None:
    assert describe_limit(reading, NOW) == words


def test_an_answer_clears_the_refusals_noted_before() -> None:
    tracker = LimitTracker("s")
    tracker.note_payload(REFUSAL, NOW)
    tracker.note_headers({"retry-after": "30"}, NOW, status=429)
    tracker.note_headers({"x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "0"}, NOW)
    assert len(tracker.readings(NOW)) == 3
    tracker.answered()
    assert [r.source for r in tracker.readings(NOW)] == [SOURCE_OPENAI]


# --- the Devs platform's usage endpoint ----------------------------------------------------------


def test_the_devs_seed_usage_gives_api_and_data_token_limits() -> None:
    body = {
        "orgUsage": {
            "orgId": "o",
            "dataTokensUsed": 900,
            "dataUsageTokenLimit": 1000,
            "apiTokensUsed": 10,
            "apiUsageTokenLimit": 0,  # no limit
        },
        "aiUsages": [],
    }
    (data,) = from_devs_usage("devs", body)
    assert (data.scope, data.metric, data.limit, data.remaining) == ("organisation", "data tokens", 1000, 100)
    assert data.resets_at is None
    assert describe_limit(data, NOW) == "limit 100/1,000 data tokens (organisation)"


def test_the_2024_servers_usage_in_gigabytes() -> None:
    body = {"data": {"orgUsage": {"dataUsedInGb": 1.5, "dataUsageLimitInGb": 2}, "aiUsages": []}}
    (data,) = from_devs_usage("devs", json.dumps(body["data"]))
    assert (data.metric, data.limit, data.remaining) == ("GB of data", 2, 0.5)


@pytest.mark.parametrize(
    "body", [None, [], {}, {"orgUsage": []}, "not json", {"orgUsage": {"apiTokensUsed": 5}}]
)
def test_devs_usage_without_limits_gives_none(body: Any) -> None:
    assert from_devs_usage("devs", body) == []
