"""The limits servers report, read liberally, and the tightest of them per server (contract §2, §3).

Servers say how much of a limit is left in several ways, all read here into one `RemoteLimit`:

- `X-RateLimit-Limit/Remaining/Reset` (the agent API; also the IETF draft's `RateLimit-*`): the reset
  in epoch seconds, or in seconds from now when the number is small (epoch milliseconds too);
- OpenAI's `x-ratelimit-limit|remaining|reset-requests|tokens`, the resets as durations (`6m0s`,
  `1s`, `20ms`, `1h2m3.5s`);
- `Retry-After` on a refusal: nothing left until then;
- the Devs platform's usage endpoint (`GET /usage/ai`): the organisation's `apiTokensUsed` of
  `apiUsageTokenLimit`, `dataTokensUsed` of `dataUsageTokenLimit`, or `dataUsedInGb` of
  `dataUsageLimitInGb` (a limit of 0 or none is no limit);
- Devic's model gateway: a `"devic": {"usage": [{"scope", "metric", "limit", "current", "percent",
  "resetsAt", ...}]}` block in an answer or a stream chunk, and its refusal `429 {"error":
  "TENANT_LIMIT_EXCEEDED", "details": {"current", "limit", "resetsAt", ...}, "retryAfter"}`.

Every parser ignores what it cannot read and never raises. A `LimitTracker` keeps the latest reading
per (scope, metric) of one server and answers which is the tightest; `describe_limit` says it in
words (`limit 3/100 requests, resets in 4 m`). No HTTP library here: headers are any mapping."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from devic_tui.providers.parsing import parse_time
from devic_tui.providers.retry import parse_retry_after

TENANT_LIMIT_EXCEEDED = "TENANT_LIMIT_EXCEEDED"

SOURCE_HEADERS = "x-ratelimit"
"""`X-RateLimit-*` (or `RateLimit-*`) headers."""
SOURCE_OPENAI = "x-ratelimit-openai"
"""OpenAI's `x-ratelimit-*-requests|tokens` headers."""
SOURCE_RETRY_AFTER = "retry-after"
SOURCE_DEVIC_USAGE = "devic-usage"
"""The model gateway's `devic.usage` block."""
SOURCE_DEVS_USAGE = "devs-usage"
"""The Devs platform's usage endpoint."""
SOURCE_TENANT_REFUSAL = "tenant-refusal"
"""The model gateway's 429 TENANT_LIMIT_EXCEEDED body."""

_EPOCH_SECONDS = 1_000_000_000
"""A reset at or above this is epoch seconds (2001 on); below it, seconds from now."""
_EPOCH_MS = 1_000_000_000_000
_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|us|µs|ns|d|h|m|s)")
_DURATION_UNITS = {
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}
_OPENAI_KINDS = ("requests", "tokens")


class RemoteLimit(BaseModel):
    """One limit as a server last reported it."""

    model_config = ConfigDict(frozen=True)

    server: str
    scope: str
    """What the limit applies to: `requests` or `tokens` (headers), or the gateway's scope
    (`tenant`, `subtenant`, ...)."""
    metric: str
    """What is counted: `requests`, `tokens`, `cost`."""
    limit: float | None
    """How much the window allows; None when only "none left" is known (a bare Retry-After)."""
    remaining: float
    """How much is left (never below 0)."""
    resets_at: datetime | None = None
    """When the window starts again (UTC); None when the server did not say."""
    source: str = SOURCE_HEADERS

    @property
    def fraction_left(self) -> float:
        """Between 0 (nothing left) and 1 (all left)."""
        if self.limit is None or self.limit <= 0:
            return 0.0 if self.remaining <= 0 else 1.0
        return min(1.0, max(0.0, self.remaining / self.limit))

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0

    def expired(self, now: datetime) -> bool:
        """Whether its window has started again (the reading no longer says anything)."""
        return self.resets_at is not None and self.resets_at <= now


# --- reading values ------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or the leading number of a text (`"100"`, `"100, 100;w=60"`)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        match = _NUMBER.match(value)
        if not match:
            return None
        number = float(match.group(1))
    else:
        return None
    return number if math.isfinite(number) else None


def parse_duration(value: str) -> float | None:
    """Seconds from a Go-style duration (`6m0s`, `1s`, `20ms`, `1h2m3.5s`); None when unreadable."""
    text = value.strip().replace(" ", "")
    if not text:
        return None
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def parse_reset(value: Any, now: datetime) -> datetime | None:
    """When a window resets, from any of the ways servers say it: a duration (`6m0s`), a number
    (epoch milliseconds, epoch seconds, or seconds from now when small), or an ISO-8601 time."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number: float | None = float(text)
        except ValueError:
            number = None
        if number is None:
            seconds = parse_duration(text)
            if seconds is not None:
                return now + timedelta(seconds=seconds)
            return parse_time(text)
        value = number
    number = _number(value)
    if number is None or number < 0:
        return None
    try:
        if number >= _EPOCH_MS:
            return datetime.fromtimestamp(number / 1000, UTC)
        if number >= _EPOCH_SECONDS:
            return datetime.fromtimestamp(number, UTC)
        return now + timedelta(seconds=number)
    except (OverflowError, OSError, ValueError):
        return None


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


# --- headers -------------------------------------------------------------------------------------


def _reading(
    server: str, scope: str, metric: str, limit: Any, remaining: Any, reset: Any, now: datetime, source: str
) -> RemoteLimit | None:
    limit_n, remaining_n = _number(limit), _number(remaining)
    if remaining_n is None or (limit_n is None and remaining_n > 0):
        return None  # "some left" says nothing without the limit it is out of
    return RemoteLimit(
        server=server,
        scope=scope,
        metric=metric,
        limit=limit_n,
        remaining=max(0.0, remaining_n),
        resets_at=parse_reset(reset, now),
        source=source,
    )


def from_headers(
    server: str, headers: Mapping[str, str], now: datetime | None = None, *, status: int | None = None
) -> list[RemoteLimit]:
    """The limits a response's headers report. `Retry-After` fills in the reset of a limit with
    nothing left that gave none, and on a 429 (`status`) with no other limit it is one itself."""
    now = _aware(now)
    try:
        lower = {str(key).lower(): str(value) for key, value in headers.items()}
    except (AttributeError, TypeError):
        return []
    found: list[RemoteLimit] = []
    for prefix in ("x-ratelimit-", "ratelimit-"):
        reading = _reading(
            server,
            "requests",
            "requests",
            lower.get(prefix + "limit"),
            lower.get(prefix + "remaining"),
            lower.get(prefix + "reset"),
            now,
            SOURCE_HEADERS,
        )
        if reading is not None:
            found.append(reading)
            break
    for kind in _OPENAI_KINDS:
        reading = _reading(
            server,
            kind,
            kind,
            lower.get(f"x-ratelimit-limit-{kind}"),
            lower.get(f"x-ratelimit-remaining-{kind}"),
            lower.get(f"x-ratelimit-reset-{kind}"),
            now,
            SOURCE_OPENAI,
        )
        if reading is not None:
            found.append(reading)
    wait = parse_retry_after(lower.get("retry-after"), now)
    if wait is None:
        return found
    retry_at = now + timedelta(seconds=wait)
    found = [
        r.model_copy(update={"resets_at": retry_at}) if r.exhausted and r.resets_at is None else r
        for r in found
    ]
    if status == 429 and not found:
        found.append(
            RemoteLimit(
                server=server,
                scope="requests",
                metric="requests",
                limit=None,
                remaining=0.0,
                resets_at=retry_at,
                source=SOURCE_RETRY_AFTER,
            )
        )
    return found


# --- the Devs platform's usage endpoint ---------------------------------------------------------

_DEVS_ORG_LIMITS = (
    ("apiTokensUsed", "apiUsageTokenLimit", "API tokens"),
    ("dataTokensUsed", "dataUsageTokenLimit", "data tokens"),
    ("dataUsedInGb", "dataUsageLimitInGb", "GB of data"),
)


def from_devs_usage(server: str, payload: Any) -> list[RemoteLimit]:
    """The organisation's limits in a Devs usage answer (`{"orgUsage": {...}, "aiUsages": [...]}`);
    the endpoint names no reset. [] for anything else."""
    payload = _as_object(payload)
    org = payload.get("orgUsage") if isinstance(payload, dict) else None
    if not isinstance(org, dict):
        return []
    found: list[RemoteLimit] = []
    for used_key, limit_key, metric in _DEVS_ORG_LIMITS:
        used, limit = _number(org.get(used_key)), _number(org.get(limit_key))
        if used is None or limit is None or limit <= 0:
            continue
        found.append(
            RemoteLimit(
                server=server,
                scope="organisation",
                metric=metric,
                limit=limit,
                remaining=max(0.0, limit - used),
                source=SOURCE_DEVS_USAGE,
            )
        )
    return found


# --- Devic's model gateway -----------------------------------------------------------------------


def _usage_reading(server: str, item: Any, now: datetime) -> RemoteLimit | None:
    if not isinstance(item, dict):
        return None
    limit = _number(item.get("limit"))
    if limit is None:
        return None
    current = _number(item.get("current"))
    if current is None:
        percent = _number(item.get("percent"))
        if percent is None:
            return None
        current = limit * percent / 100
    scope, metric = item.get("scope"), item.get("metric")
    return RemoteLimit(
        server=server,
        scope=scope if isinstance(scope, str) and scope else "tenant",
        metric=metric if isinstance(metric, str) and metric else "tokens",
        limit=limit,
        remaining=max(0.0, limit - current),
        resets_at=parse_time(item.get("resetsAt")),
        source=SOURCE_DEVIC_USAGE,
    )


def _as_object(payload: Any) -> Any:
    if isinstance(payload, str | bytes):
        try:
            return json.loads(payload)
        except ValueError:
            return None
    return payload


def is_tenant_refusal(payload: Any) -> bool:
    """Whether a body is the gateway's 429 TENANT_LIMIT_EXCEEDED (a dict or its JSON text)."""
    payload = _as_object(payload)
    if not isinstance(payload, dict):
        return False
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else error
    return code == TENANT_LIMIT_EXCEEDED or payload.get("code") == TENANT_LIMIT_EXCEEDED


def from_tenant_refusal(server: str, payload: Any, now: datetime | None = None) -> RemoteLimit | None:
    """The limit a 429 TENANT_LIMIT_EXCEEDED body reports (a dict or its JSON text): nothing left
    until `details.resetsAt`, else `retryAfter` seconds from now. None for any other body."""
    now = _aware(now)
    payload = _as_object(payload)
    if not is_tenant_refusal(payload):
        return None
    details = payload.get("details")
    details = details if isinstance(details, dict) else {}
    resets_at = parse_time(details.get("resetsAt")) or parse_time(payload.get("resetsAt"))
    if resets_at is None:
        wait = _number(payload.get("retryAfter"))
        if wait is None:
            wait = _number(details.get("retryAfter"))
        resets_at = now + timedelta(seconds=max(0.0, wait)) if wait is not None else None
    rule = details.get("blockingRule")
    rule = rule if isinstance(rule, dict) else {}
    scope, metric = rule.get("scope"), rule.get("metric")
    limit, current = _number(details.get("limit")), _number(details.get("current"))
    remaining = max(0.0, limit - current) if limit is not None and current is not None else 0.0
    return RemoteLimit(
        server=server,
        scope=scope if isinstance(scope, str) and scope else "tenant",
        metric=metric if isinstance(metric, str) and metric else "requests",
        limit=limit,
        remaining=remaining,
        resets_at=resets_at,
        source=SOURCE_TENANT_REFUSAL,
    )


def from_devic_block(server: str, payload: Any, now: datetime | None = None) -> list[RemoteLimit]:
    """The limits in an answer or stream chunk carrying `"devic": {"usage": [...]}`, or in the
    gateway's TENANT_LIMIT_EXCEEDED refusal; [] for anything else."""
    now = _aware(now)
    payload = _as_object(payload)
    if not isinstance(payload, dict):
        return []
    refusal = from_tenant_refusal(server, payload, now)
    if refusal is not None:
        return [refusal]
    block = payload.get("devic")
    usage = block.get("usage") if isinstance(block, dict) else None
    if not isinstance(usage, list):
        return []
    return [reading for item in usage if (reading := _usage_reading(server, item, now)) is not None]


def refusal_reset(
    server: str, headers: Mapping[str, str], body: Any, now: datetime | None = None
) -> tuple[datetime | None, str | None]:
    """When a refused (429) request may go again, and where that came from: the gateway's body
    (`details.resetsAt` or `retryAfter`), else the latest reset of a header limit with nothing left,
    else `Retry-After`. (None, None) when nothing says."""
    now = _aware(now)
    refusal = from_tenant_refusal(server, body, now)
    if refusal is not None and refusal.resets_at is not None:
        return refusal.resets_at, refusal.source
    readings = from_headers(server, headers, now, status=429)
    spent = [r.resets_at for r in readings if r.exhausted and r.resets_at and r.source != SOURCE_RETRY_AFTER]
    if spent:
        return max(spent), SOURCE_HEADERS
    wait = parse_retry_after(_header(headers, "retry-after"), now)
    if wait is not None:
        return now + timedelta(seconds=wait), SOURCE_RETRY_AFTER
    return None, None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    try:
        for key, value in headers.items():
            if str(key).lower() == name:
                return str(value)
    except (AttributeError, TypeError):
        return None
    return None


# --- the tracker ---------------------------------------------------------------------------------


class LimitTracker:
    """The latest reading of each limit (scope, metric) one server reported."""

    def __init__(self, server: str) -> None:
        self.server = server
        self._latest: dict[tuple[str, str], RemoteLimit] = {}

    def __repr__(self) -> str:
        return f"LimitTracker(server={self.server!r}, limits={len(self._latest)})"

    def note(self, readings: Iterable[RemoteLimit]) -> None:
        for reading in readings:
            self._latest[(reading.scope, reading.metric)] = reading

    def note_headers(
        self, headers: Mapping[str, str], now: datetime | None = None, *, status: int | None = None
    ) -> None:
        """A response's headers; a success (`status` 2xx) first clears the refusals (`answered`)."""
        if status is not None and 200 <= status < 300:
            self.answered()
        self.note(from_headers(self.server, headers, now, status=status))

    def note_payload(self, payload: Any, now: datetime | None = None) -> None:
        """A body or stream chunk that may carry the gateway's usage block or its refusal."""
        self.note(from_devic_block(self.server, payload, now))

    def answered(self) -> None:
        """A request went through: the refusals noted before (a gateway's TENANT_LIMIT_EXCEEDED,
        a bare Retry-After) no longer hold, whatever reset they named."""
        refusals = (SOURCE_TENANT_REFUSAL, SOURCE_RETRY_AFTER)
        self._latest = {key: r for key, r in self._latest.items() if r.source not in refusals}

    def readings(self, now: datetime | None = None) -> list[RemoteLimit]:
        """The readings whose window has not started again, tightest first."""
        now = _aware(now)
        live = [r for r in self._latest.values() if not r.expired(now)]
        return sorted(live, key=lambda r: (r.fraction_left, r.remaining))

    def tightest(self, now: datetime | None = None) -> RemoteLimit | None:
        """The limit with the smallest part left, ignoring those whose reset has passed."""
        live = self.readings(now)
        return live[0] if live else None

    def clear(self) -> None:
        self._latest.clear()


# --- in words ------------------------------------------------------------------------------------


def describe_wait(seconds: float) -> str:
    """A wait in a person's words: `42 s` under a minute, `4 m`, `1 h 5 m`, `2 d 3 h`."""
    total = max(0, math.ceil(seconds))
    if total < 60:
        return f"{total} s"
    minutes = (total + 30) // 60
    if minutes < 60:
        return f"{minutes} m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} m" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _amount(value: float) -> str:
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def describe_limit(limit: RemoteLimit, now: datetime | None = None) -> str:
    """`limit 3/100 requests, resets in 4 m`; the scope is named when it is not the metric
    (`limit 300/10,000 tokens (tenant)`); no reset known, no "resets" part."""
    now = _aware(now)
    if limit.limit is None:
        text = f"{limit.metric} limit reached"
    else:
        text = f"limit {_amount(limit.remaining)}/{_amount(limit.limit)} {limit.metric}"
    if limit.scope != limit.metric:
        text += f" ({limit.scope})"
    if limit.resets_at is not None:
        seconds = (limit.resets_at - now).total_seconds()
        text += f", resets in {describe_wait(seconds)}" if seconds > 0 else ", resets now"
    return text
