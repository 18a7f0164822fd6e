"""The order API's route classes: each checks its door before FastAPI reads the body.

As in :mod:`checkout.common.routing`, a dependency would run only after the body was
parsed, so a caller with an expired or forged token would first learn what the body
lacks. :data:`CallerDep` then hands the admitted caller to the route.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import JSONResponse, Response

from checkout.common.errors import error_response
from checkout.orders.access import INVALID_TOKEN, Caller, Door, Gate, NotAdmitted

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

BEARER = HTTPBearer(
    auto_error=False,
    description="The customer's JWT from the identity provider, or the admin token.",
)
REALM = "orders"
RETRY_AFTER_SECONDS = 5


def _admitting(handler: Handler, door: Door) -> Handler:
    async def admitting(request: Request) -> Response:
        gate: Gate = request.app.state.gate
        credentials = await BEARER(request)
        token = credentials.credentials.strip() if credentials is not None else None
        try:
            request.state.caller = await gate.admit(token or None, door)
        except NotAdmitted as refused:
            return refusal(refused)
        return await handler(request)

    return admitting


class PlaceOrderRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return _admitting(super().get_route_handler(), Door.PLACE)


class ReadOrderRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return _admitting(super().get_route_handler(), Door.READ)


class ConfirmPaymentRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return _admitting(super().get_route_handler(), Door.CONFIRM)


class ListOrdersRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return _admitting(super().get_route_handler(), Door.LIST)


def refusal(refused: NotAdmitted) -> JSONResponse:
    """The project's error body, with the challenge RFC 6750 §3 asks of a 401."""
    response = error_response(refused.status_code, refused.code, refused.message)
    if refused.status_code == 401:
        response.headers["WWW-Authenticate"] = challenge(refused)
    if refused.status_code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def challenge(refused: NotAdmitted) -> str:
    # A caller who sent no usable token gets no error code (RFC 6750 §3.1); the reasons
    # are our own fixed sentences, free of the quotes and backslashes the syntax forbids.
    if refused.code != INVALID_TOKEN:
        return f'Bearer realm="{REALM}"'
    return f'Bearer realm="{REALM}", error="invalid_token", error_description="{refused.message}"'


async def admitted_caller(
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> Caller:
    """The caller the route class admitted. ``_scheme`` only declares the bearer scheme in
    the OpenAPI document: the token was checked before the body was read."""
    caller: Caller = request.state.caller
    return caller


CallerDep = Annotated[Caller, Depends(admitted_caller)]
