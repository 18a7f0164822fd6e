"""Assemble a participant's FastAPI app from its routers: the parts all of them share."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import replace
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Request

from checkout.common.answers import KeyRules
from checkout.common.database import Database
from checkout.common.errors import install_error_handlers
from checkout.common.faults import FaultInjector, faults_router
from checkout.common.limits import BodySizeLimitMiddleware
from checkout.common.outages import Dependency, install_outage_handlers, readiness_router
from checkout.common.pruning import KeyPruner, forgotten_counter
from checkout.common.routing import AdminRoute
from checkout.common.settings import ServiceSettings
from checkout.observability import install_observability


def build_app(
    *,
    title: str,
    settings: ServiceSettings,
    database_url: str,
    routers: Sequence[APIRouter],
    database: Database | None = None,
    faults: FaultInjector | None = None,
    background: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    expiring: Sequence[sa.Table] = (),
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """A participant app. A ``database`` passed in stays the caller's to dispose.

    Faults are installed only when ``settings.faults_enabled``; ``faults`` lets tests
    pass an injector with a deterministic random source. ``background`` is work the
    service does while it runs (given the app, entered once it has started). The
    expired rows of the ``expiring`` tables (answers, tombstones) are deleted every
    ``KEY_PRUNE_INTERVAL_SECONDS`` while it runs (``app.state.key_pruner``). ``clock``
    (Unix seconds) says when keys are too old and records expired; tests move it.
    """
    owned = database is None
    db = (
        database
        if database is not None
        else Database(database_url, **settings.pool_options(database_url))
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with AsyncExitStack() as running:
                if expiring:
                    pruner: KeyPruner = app.state.key_pruner
                    interval = settings.key_prune_interval_seconds
                    await running.enter_async_context(pruner.running(interval=interval))
                if background is not None:
                    await running.enter_async_context(background(app))
                yield
        finally:
            if owned:
                await db.dispose()

    app = FastAPI(title=title, lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    app.state.key_rules = replace(settings.key_rules, now=clock)
    app.state.database = db
    app.state.faults = (faults or FaultInjector()) if settings.faults_enabled else None
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    install_outage_handlers(app)
    registry = install_observability(app, service=title.split()[0].lower())
    if expiring:
        forgotten = forgotten_counter(registry)
        app.state.key_pruner = KeyPruner(
            database=db,
            tables=expiring,
            clock=clock,
            forgotten=lambda table, rows: forgotten.labels(table).inc(rows),
        )

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: the process serves requests (readiness is ``/ready``)."""
        return {"status": "ok"}

    app.include_router(readiness_router([Dependency("database", db.ping)]))

    for router in routers:
        app.include_router(router)
    if settings.faults_enabled:
        app.include_router(faults_router(AdminRoute))
    return app


# Dependencies are ``async def`` because FastAPI runs a plain ``def`` one on a worker
# thread, a hop per request for reading an attribute.
async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def get_key_rules(request: Request) -> KeyRules:
    rules: KeyRules = request.app.state.key_rules
    return rules


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
KeyRulesDep = Annotated[KeyRules, Depends(get_key_rules)]
"""How this participant treats idempotency keys: the settings' rules, on its clock."""
