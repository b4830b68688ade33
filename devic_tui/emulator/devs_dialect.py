"""What both modules of the emulated Devs API share (contract §4): its timestamps, where the April 2024
server's dialect is served, whether a request is served in it, how each dialect reads the token, and
the error body both render."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from devic_tui.emulator.common import ApiError, bearer_token, state_of

LEGACY_ROOT = "/devs-2024"
"""Where the 2024 dialect is always served (`{base}/devs-2024/api/v1/…`), whatever `devs_dialect` says."""


def iso_now() -> str:
    """Now as the platform writes its timestamps: `2025-01-01T00:00:00.000Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def token_of(request: Request) -> str:
    """The token, from whichever header the request carries it in (for checks past authentication)."""
    for header in ("authorization", "x-authorization"):
        scheme, _, token = request.headers.get(header, "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return ""


def render_error(error: ApiError) -> Response:
    if error.plain:
        return PlainTextResponse(error.message, status_code=error.status)
    return JSONResponse({"message": error.message, "error": error.code}, status_code=error.status)


def is_2024(request: Request) -> bool:
    """Whether this request is served in the April 2024 server's dialect."""
    return request.url.path.startswith(LEGACY_ROOT) or state_of(request).options.devs_dialect == "2024"


def authenticate(request: Request) -> str:
    """The seed's dialect takes `Authorization` or the legacy `X-Authorization`; the 2024 server
    reads only `X-Authorization` and refuses a request that carries `Authorization` at all."""
    if not is_2024(request):
        if "authorization" in request.headers or "x-authorization" not in request.headers:
            return bearer_token(request)
    elif "authorization" in request.headers:
        raise ApiError(401, "Unauthorized", plain=True)
    scheme, _, token = request.headers.get("x-authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Unauthorized", plain=True)
    return token.strip()
