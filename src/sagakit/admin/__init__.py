"""An operator's view of the sagas: the admin API and the dashboard, on FastAPI.

``install_admin(app, route_class=bearer_token(TOKEN))`` adds ``/admin`` (list, count,
show, timeline, retry, abort) and the ``/dashboard`` pages to an application; once its
saga store is open, the application sets ``app.state.saga_admin = SagaAdmin(...)``.
Reading the history needs a SQL store (``SqlSagaStore``).
"""

from __future__ import annotations

import hmac

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from sagakit.admin.dashboard import STATIC, DashboardLook, dashboard_router
from sagakit.admin.routes import Handler, Responses, admin_router
from sagakit.admin.schemas import SagaDetail, SagaFilters, SagaPage, SagaSummary, StatusCounts
from sagakit.admin.service import SagaAdmin, SagaHistory, SagaSteering, Subject


def install_admin(
    app: FastAPI,
    *,
    route_class: type[APIRoute],
    responses: Responses | None = None,
    body_responses: Responses | None = None,
    look: DashboardLook | None = None,
) -> None:
    """Add the admin API (guarded by ``route_class``) and the dashboard to ``app``."""
    app.include_router(
        admin_router(route_class=route_class, responses=responses, body_responses=body_responses)
    )
    app.include_router(dashboard_router(look or DashboardLook()))
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")


def bearer_token(token: str) -> type[APIRoute]:
    """A route class that answers 401 unless the request carries ``Bearer <token>``.

    It checks before the route reads its body or query: a dependency would run only
    after they were parsed, telling an anonymous caller which parameters are valid.
    """
    if not token:
        raise ValueError("the admin token must not be empty: the admin API never runs open")
    expected = f"Bearer {token}".encode()

    class BearerTokenRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                given = request.headers.get("authorization", "").encode()
                if not hmac.compare_digest(given, expected):
                    return JSONResponse(
                        {"detail": "Missing or invalid bearer token"},
                        status_code=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                return await handler(request)

            return guarded

    return BearerTokenRoute


__all__ = [
    "DashboardLook",
    "SagaAdmin",
    "SagaDetail",
    "SagaFilters",
    "SagaHistory",
    "SagaPage",
    "SagaSteering",
    "SagaSummary",
    "StatusCounts",
    "Subject",
    "bearer_token",
    "install_admin",
]
