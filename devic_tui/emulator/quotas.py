"""The OpenAI-compatible emulator's limits (contract §3): every chat completion is counted per model
in a window and answered with `x-ratelimit-limit|remaining|reset-requests` (the reset a duration such
as `3m59s`). The `limited` assistant plays Devic's model gateway for a tenant near its limit: its
window allows `LIMITED_LIMIT` requests of which only `LIMITED_START` are left, its answers carry the
gateway's `"devic": {"usage": [...]}` block, and once none are left it refuses with the gateway's
`429 TENANT_LIMIT_EXCEEDED` body and `Retry-After` until its window starts again."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from devic_tui.emulator.common import EmulatorState

LIMITED = "limited"
LIMITED_LIMIT = 100
"""Requests the `limited` assistant's window allows."""
LIMITED_START = 4
"""Requests left in a new window of the `limited` assistant (so the first answer shows 3/100)."""
LIMITED_WINDOW = 240.0
"""Seconds before the `limited` assistant's window starts again."""
LIMITED_TOKENS = 10_000
"""Tokens the `limited` assistant's tenant may use in a window (its `devic` usage block)."""
WINDOW = 60.0
"""Seconds of every other model's window (`EmulatorOptions.openai_rate_limit` requests in it)."""
TENANT = "tenant-emulator"


@dataclass
class _Window:
    started: float
    used: int = 0
    tokens: int = 0


@dataclass
class Quotas:
    windows: dict[str, _Window] = field(default_factory=dict)


def go_duration(seconds: float) -> str:
    """A wait as OpenAI writes it: `3m59s`, `12s` (whole seconds, rounded up)."""
    minutes, rest = divmod(max(0, math.ceil(seconds)), 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Quota:
    """What one chat completion gets: its headers, and for `limited` the refusal or the usage block."""

    model: str
    limit: int
    window: _Window
    length: float
    refused: bool = False

    @property
    def resets_at(self) -> float:
        return self.window.started + self.length

    @property
    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(self.limit),
            "x-ratelimit-remaining-requests": str(max(0, self.limit - self.window.used)),
            "x-ratelimit-reset-requests": go_duration(self.resets_at - time.time()),
        }

    def refusal(self) -> Response:
        """The gateway's 429 TENANT_LIMIT_EXCEEDED, with Retry-After."""
        wait = max(1, math.ceil(self.resets_at - time.time()))
        body = {
            "statusCode": 429,
            "error": "TENANT_LIMIT_EXCEEDED",
            "message": f"Tenant limit exceeded: {self.window.used} of {self.limit} requests used",
            "details": {
                "allowed": False,
                "blockingRule": {"scope": "tenant", "metric": "requests", "limit": self.limit},
                "current": self.window.used,
                "limit": self.limit,
                "resetsAt": _iso(self.resets_at),
            },
            "retryAfter": wait,
        }
        headers = {**self.headers, "Retry-After": str(wait)}
        return JSONResponse(body, status_code=429, headers=headers)

    def devic_block(self, tokens: int) -> dict[str, Any] | None:
        """The gateway's `devic` block for an answer of `tokens` (counted in the window); None for
        a model that is not `limited`."""
        if self.model != LIMITED:
            return None
        self.window.tokens += tokens
        usage = {
            "scope": "tenant",
            "metric": "tokens",
            "windowUnit": "minute",
            "windowEvery": int(self.length // 60),
            "limit": LIMITED_TOKENS,
            "current": self.window.tokens,
            "percent": round(100 * self.window.tokens / LIMITED_TOKENS, 2),
            "resetsAt": _iso(self.resets_at),
            "origin": "tenant",
            "tierId": "emulator-tier",
        }
        return {"tenantId": TENANT, "subtenantId": None, "usage": [usage]}


def take_request(state: EmulatorState, model: str) -> Quota:
    """Count one chat completion of `model` in its window; `refused` when `limited` has none left
    (the refused request is not counted)."""
    quotas: Quotas = state.api_state("openai-quotas", Quotas)
    now = time.time()
    limited = model == LIMITED
    length = LIMITED_WINDOW if limited else WINDOW
    limit = LIMITED_LIMIT if limited else state.options.openai_rate_limit
    window = quotas.windows.get(model)
    if window is None or now >= window.started + length:
        window = _Window(started=now, used=LIMITED_LIMIT - LIMITED_START if limited else 0)
        quotas.windows[model] = window
    quota = Quota(model=model, limit=limit, window=window, length=length)
    if limited and window.used >= limit:
        quota.refused = True
    else:
        window.used += 1
    return quota
