"""Bearer-token checks for the service token and the admin token.

Tokens are compared with :func:`hmac.compare_digest` so the time a comparison takes
says nothing about how much of a guess was right. A refusal never repeats the token.
"""

from __future__ import annotations

import hmac
from typing import Literal

from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout.common.settings import ServiceSettings

TokenKind = Literal["service", "admin"]


def presented_token(request: Request) -> str | None:
    """The token after ``Bearer `` in the Authorization header, if there is one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(presented: str | None, expected: SecretStr) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.get_secret_value().encode())


def is_authorized(request: Request, settings: ServiceSettings, kind: TokenKind) -> bool:
    expected = settings.service_token if kind == "service" else settings.admin_token
    return token_matches(presented_token(request), expected)


def unauthorized(kind: TokenKind) -> JSONResponse:
    return JSONResponse(
        {"detail": f"Missing or invalid bearer token: this endpoint needs the {kind} token."},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )
