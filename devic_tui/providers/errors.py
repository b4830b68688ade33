"""One error class per meaning, each with a message a person understands, and the one flat function
that turns an HTTP error response into the right class, whatever shape its body has."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

from devic_tui.errors import DevicTuiError
from devic_tui.redact import redact

_BODY_SNIPPET = 200


class ProviderError(DevicTuiError):
    """Base of every error a provider raises; `str()` is the message for a person."""

    #: Whether the draft/answer may be retried as is by the user.
    retryable = False

    def __init__(self, message: str, *, server: str = "", status: int | None = None) -> None:
        self.server = server
        self.status = status
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class AuthError(ProviderError):
    """401: the token is missing, wrong or expired."""


class ForbiddenError(ProviderError):
    """403: the token is fine but may not do this."""


class NotFoundError(ProviderError):
    """404: the assistant, chat or path does not exist."""


class BadRequestError(ProviderError):
    """400/409/422: the server refused what was sent."""


class PayloadTooLargeError(ProviderError):
    """413: the upload or message is larger than the server takes."""


class RateLimitedError(ProviderError):
    """429: too many requests, or a usage limit reached; `retry_after` says how long the server
    asked to wait, `resets_at` when the limit starts again (UTC; None when the server did not say)."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        resets_at: datetime | None = None,
        **kw: Any,
    ) -> None:
        self.retry_after = retry_after
        self.resets_at = resets_at
        super().__init__(message, **kw)


class ServerError(ProviderError):
    """5xx: the server failed."""

    retryable = True


class ConnectionFailedError(ProviderError):
    """The server could not be reached."""

    retryable = True


class CertificateError(ConnectionFailedError):
    """The server's TLS certificate was refused (not trusted, expired, or for another name)."""

    retryable = False


class NetworkSetupError(ProviderError):
    """A server's proxy or TLS settings cannot be used: a proxy scheme httpx does not speak, SOCKS
    without its package, a ca_bundle or client certificate that does not load."""


class ProviderTimeoutError(ProviderError):
    """The server stayed silent longer than the configured timeout."""

    retryable = True


class MalformedResponseError(ProviderError):
    """The server answered 2xx with a body that is not what the API promises."""


class StreamInterruptedError(ProviderError):
    """A streamed answer ended before it was complete."""

    retryable = True


class AnswerTooLongError(ProviderError):
    """The answer passed the configured size cap and was cut off."""


class InsecureURLError(ProviderError):
    """A plain http:// URL to another machine, which would send the token unencrypted."""


class RedirectRefusedError(ProviderError):
    """The server redirected to another host; following would hand the token to it."""


class MissingTokenError(ProviderError):
    """No token could be resolved for a server that needs one."""


class FileRejectedError(ProviderError):
    """A file cannot be attached (too large, unreadable, a directory, empty, binary)."""


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _message_from_body(body: Any) -> str | None:
    """The server's own words from any of the error shapes the contract lists."""
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        error = body.get("error")
        if isinstance(error, dict):
            nested = error.get("message")
            if isinstance(nested, str) and nested:
                return nested
        if isinstance(error, str) and error:
            return error
        detail = body.get("detail")
        if isinstance(detail, str) and detail:
            return detail
    return None


def describe_body(text: str) -> str | None:
    """The server's message from an error body, or a note that the body was not JSON."""
    stripped = text.strip()
    if not stripped:
        return None
    found = _message_from_body(_json_or_none(stripped))
    if found:
        return found
    snippet = " ".join(stripped[:_BODY_SNIPPET].split())
    if stripped.startswith("<"):
        return f"the server answered with HTML, not JSON: {snippet!r}"
    return f"the server answered: {snippet!r}"


def error_from_status(
    server: str,
    status: int,
    body_text: str,
    *,
    reason: str = "",
    token_hint: str = "",
    retry_after: float | None = None,
    resets_at: datetime | None = None,
    limit_reached: bool = False,
) -> ProviderError:
    """Map an error status and its body to one ProviderError with a message that says what to do.
    For a 429, `resets_at` is when the limit starts again as the body or the limit headers say
    (`limit_reached`: a usage limit, not a request rate); without it, `retry_after` (Retry-After)."""
    said = describe_body(body_text) or reason or f"HTTP {status}"
    where = f"server '{server}'"
    if status == 401:
        hint = f": {token_hint}" if token_hint else ""
        return AuthError(f"{where} refused the token (401){hint} ({said})", server=server, status=status)
    if status == 403:
        return ForbiddenError(f"{where} does not allow this (403): {said}", server=server, status=status)
    if status == 404:
        return NotFoundError(f"{where} has no such thing (404): {said}", server=server, status=status)
    if status == 413:
        return PayloadTooLargeError(
            f"{where} says it is too large (413): {said}", server=server, status=status
        )
    if status == 429:
        return _rate_limited(server, said, retry_after, resets_at, limit_reached)
    if status >= 500:
        return ServerError(f"{where} failed ({status}): {said}", server=server, status=status)
    return BadRequestError(f"{where} refused the request ({status}): {said}", server=server, status=status)


def _rate_limited(
    server: str, said: str, retry_after: float | None, resets_at: datetime | None, limit_reached: bool
) -> RateLimitedError:
    """The 429 error, saying when to try again: when the limit resets, else after Retry-After."""
    from devic_tui.providers.remote_limits import describe_wait

    where = f"server '{server}'"
    if resets_at is not None:
        seconds = (resets_at - datetime.now(UTC)).total_seconds()
        when = f"resets in {describe_wait(seconds)}" if seconds > 0 else "resets now"
        if limit_reached:
            text = f"{where} says a usage limit is reached (429); it {when}: {said}"
        else:
            text = f"{where} is rate limiting requests (429); the limit {when}: {said}"
    else:
        wait = f"; try again in {retry_after:.0f} s" if retry_after else "; wait and try again"
        text = f"{where} is rate limiting requests (429){wait}: {said}"
        if retry_after is not None:
            resets_at = datetime.now(UTC) + timedelta(seconds=retry_after)
    return RateLimitedError(text, retry_after=retry_after, resets_at=resets_at, server=server, status=429)


def error_from_response(
    server: str, response: httpx.Response, body_text: str, *, token_hint: str = ""
) -> ProviderError:
    from devic_tui.providers.remote_limits import SOURCE_RETRY_AFTER, SOURCE_TENANT_REFUSAL, refusal_reset
    from devic_tui.providers.retry import parse_retry_after

    retry_after = parse_retry_after(response.headers.get("retry-after"))
    resets_at: datetime | None = None
    source: str | None = None
    if response.status_code == 429:
        now = datetime.now(UTC)
        resets_at, source = refusal_reset(server, response.headers, body_text, now)
        if source == SOURCE_RETRY_AFTER:
            resets_at = None  # Retry-After alone: say it as before (error_from_status fills resets_at)
        elif resets_at is not None:
            # Waiting less than the limit says is pointless; a wait past the retry cap fails at once.
            retry_after = max(retry_after or 0.0, (resets_at - now).total_seconds())
    return error_from_status(
        server,
        response.status_code,
        body_text,
        reason=response.reason_phrase,
        token_hint=token_hint,
        retry_after=retry_after,
        resets_at=resets_at,
        limit_reached=source == SOURCE_TENANT_REFUSAL,
    )
