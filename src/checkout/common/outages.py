"""A dependency that is down answers 503, logs one line, and shows in readiness.

When the database cannot serve (:func:`sagakit.unavailable.is_unavailable`), a request
gets ``503 Service Unavailable`` with ``Retry-After`` and the usual JSON error body,
never a 500 and a traceback: nothing is wrong with the request, and a retry (with the
same ``Idempotency-Key`` where it has one) finds what was done, or does it.

During an outage every request fails the same way, so the log says so once per kind of
failure and interval, with how many more it answered since, instead of a traceback per
request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checkout.common.responses import BusinessRefusal, Responses
from sagakit.unavailable import OutageLog, is_unavailable

log = logging.getLogger("checkout.outages")

RETRY_AFTER_SECONDS = 2
READY_TIMEOUT_SECONDS = 2.0
"""A readiness probe answers within this, whatever its dependencies do."""

DATABASE_UNAVAILABLE = "database_unavailable"
PARTICIPANT_UNAVAILABLE = "participant_unavailable"


UNAVAILABLE: Responses = {
    503: {
        "model": BusinessRefusal,
        "description": "A dependency is down (detail.code names it, e.g. "
        f"`{DATABASE_UNAVAILABLE}`): retry after Retry-After seconds, with the same "
        "Idempotency-Key where the request has one",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying",
                "schema": {"type": "integer"},
            }
        },
    }
}
"""The 503 every route that reads a database can answer (see the middleware below)."""


def unavailable(code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": {"code": code, "message": message}},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_outage_handlers(app: FastAPI) -> None:
    """Answer 503 for an unavailable database; any other error stays a 500.

    A middleware rather than exception handlers: drivers raise an outage as many
    unrelated classes (asyncpg's, SQLAlchemy's adapters', the socket's), and a handler
    for ``Exception`` would answer and then re-raise, logging the traceback anyway. Add
    it before the observability middleware, so that the metrics count the 503.
    """
    app.add_middleware(_OutageMiddleware, outages=OutageLog(log))


class _OutageMiddleware:
    def __init__(self, app: ASGIApp, *, outages: OutageLog) -> None:
        self.app, self.outages = app, outages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            if started or not is_unavailable(error):
                raise
            self.outages.failed("database unavailable, answering 503", error)
            response = unavailable(
                DATABASE_UNAVAILABLE,
                "The service's database cannot be reached right now. Try again in "
                f"{RETRY_AFTER_SECONDS} seconds: a retry with the same Idempotency-Key "
                "finds what this request did, if it did anything.",
            )
            await response(scope, receive, send)


Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Dependency:
    """Something a service needs to serve: ``check`` raises when it cannot be used."""

    name: str
    check: Check


def readiness_router(dependencies: Sequence[Dependency]) -> APIRouter:
    """``GET /ready``: 200 when every dependency answers within the bound, else 503
    naming those that did not. ``/health`` stays the process's liveness alone."""
    router = APIRouter(tags=["health"])

    @router.get("/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        results = await asyncio.gather(*(_probe(dependency) for dependency in dependencies))
        names = [dependency.name for dependency in dependencies]
        checks = dict(zip(names, results, strict=True))
        ok = all(result == "ok" for result in checks.values())
        body: dict[str, Any] = {"status": "ready" if ok else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    return router


async def _probe(dependency: Dependency) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await dependency.check()
    except TimeoutError:
        return f"no answer within {READY_TIMEOUT_SECONDS:g}s"
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:300]
    return "ok"
