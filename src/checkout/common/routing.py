"""Route classes that check the bearer token before FastAPI reads the body.

A dependency would run only after the body was parsed and validated, so an anonymous
caller could learn about validation by sending invalid JSON. Wrapping the route
handler puts the check first. The orchestrator's POSTs also pass through the fault
injector, when one is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from checkout.common.auth import TokenKind, is_authorized, unauthorized
from checkout.common.faults import FaultInjector, injected_failure
from checkout.common.settings import ServiceSettings

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _guarded(handler: Handler, kind: TokenKind, *, faults: bool) -> Handler:
    async def guarded(request: Request) -> Response:
        settings: ServiceSettings = request.app.state.settings
        if not is_authorized(request, settings, kind):
            return unauthorized(kind)
        injector: FaultInjector | None = request.app.state.faults if faults else None
        if injector is not None and await injector.before_action():
            return injected_failure("error")
        response = await handler(request)
        if injector is not None and injector.after_action():
            return injected_failure("fail_after_commit")
        return response

    return guarded


class ServiceRoute(APIRoute):
    """Needs the service token."""

    def get_route_handler(self) -> Handler:
        return _guarded(super().get_route_handler(), "service", faults=False)


class OrchestratorRoute(APIRoute):
    """Needs the service token; subject to injected faults (the orchestrator's POSTs)."""

    def get_route_handler(self) -> Handler:
        return _guarded(super().get_route_handler(), "service", faults=True)


class AdminRoute(APIRoute):
    """Needs the admin token."""

    def get_route_handler(self) -> Handler:
        return _guarded(super().get_route_handler(), "admin", faults=False)
