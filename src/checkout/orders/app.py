"""The order service's app factory: ``uvicorn --factory checkout.orders.app:create_app``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from checkout.common.database import Database
from checkout.common.errors import install_error_handlers
from checkout.common.limits import BodySizeLimitMiddleware
from checkout.common.outages import (
    READY_TIMEOUT_SECONDS,
    Dependency,
    install_outage_handlers,
    readiness_router,
)
from checkout.observability import SagaMetrics, install_observability
from checkout.observability.metrics import StatementsSent
from checkout.orders import confirmation_routes, routes
from checkout.orders.access import Gate
from checkout.orders.confirmations import Confirmations
from checkout.orders.customer_tokens import customer_tokens
from checkout.orders.operators import install_operators, order_admin
from checkout.orders.participants import ParticipantClients, Participants
from checkout.orders.repository import keep_outcomes
from checkout.orders.saga import CHECKOUT
from checkout.orders.service import OrderService
from checkout.orders.settings import OrdersSettings
from sagakit import (
    Alongside,
    AttemptLimit,
    Pruned,
    Pruner,
    SagaEngine,
    SagaObserver,
    SqlSagaStore,
)
from sagakit.http import ParticipantCaller
from sagakit.http.aiohttp_client import AiohttpParticipantClient
from sagakit.http.transport_client import TransportParticipantClient
from sagakit.store import StoreCounters, StoreInstrumentation


def create_app(
    settings: OrdersSettings | None = None,
    *,
    participant_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The order service; settings come from the environment unless given. With a
    ``participant_transport`` every participant call goes through it (tests use one)."""
    settings = settings if settings is not None else OrdersSettings()
    registry = CollectorRegistry()
    saga_metrics = SagaMetrics(registry)
    store_counters = StoreCounters()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_orders(
            settings,
            observer=saga_metrics,
            instrumentation=store_counters,
            participant_transport=participant_transport,
            pruned=saga_metrics.history_pruned,
        ) as running:
            engine = running.engine
            app.state.orders = running.service
            app.state.confirmations = running.confirmations
            app.state.engine = engine
            app.state.database = running.service.database
            store = engine.store
            assert isinstance(store, SqlSagaStore), "running_orders builds a SQL store"
            app.state.store = store
            app.state.saga_admin = order_admin(
                store,
                engine,
                on_action=lambda action: saga_metrics.admin_actions.labels(action).inc(),
            )
            yield

    StatementsSent(registry, lambda: store_counters.statements)

    async def refresh_status_counts() -> None:
        counts = await app.state.saga_admin.counts()
        saga_metrics.refresh_statuses(counts.counts, counts.waiting)
        saga_metrics.refresh_oldest_finished(await app.state.store.oldest_finished())

    app = FastAPI(title="Order service", lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    app.state.gate = Gate(admin_token=settings.admin_token, customers=customer_tokens(settings))
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    install_outage_handlers(app)
    install_observability(
        app, service="orders", registry=registry, before_scrape=refresh_status_counts
    )

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        """Liveness: the process serves requests (readiness is ``/ready``)."""
        return {"status": "ok"}

    async def database_answers() -> None:
        await app.state.database.ping()

    participants = {
        "payment": settings.payment_url,
        "inventory": settings.inventory_url,
        "shipping": settings.shipping_url,
    }
    app.include_router(
        readiness_router(
            [
                Dependency("database", database_answers),
                *(
                    Dependency(name, _healthy(url, participant_transport))
                    for name, url in participants.items()
                ),
            ]
        )
    )

    app.include_router(routes.router)
    app.include_router(confirmation_routes.router)
    install_operators(app)
    return app


def _healthy(
    base_url: str, transport: httpx.AsyncBaseTransport | None
) -> Callable[[], Awaitable[None]]:
    """A check that the participant at ``base_url`` answers its ``/health``."""

    async def check() -> None:
        # The probe's own bound (READY_TIMEOUT_SECONDS) ends a wait first; this one only
        # makes sure no connection outlives it.
        timeout = READY_TIMEOUT_SECONDS + 1
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
            (await client.get(f"{base_url.rstrip('/')}/health")).raise_for_status()

    return check


@dataclass(frozen=True)
class RunningOrders:
    service: OrderService
    confirmations: Confirmations
    engine: SagaEngine[Alongside]


@asynccontextmanager
async def running_orders(
    settings: OrdersSettings,
    *,
    observer: SagaObserver | None = None,
    instrumentation: StoreInstrumentation | None = None,
    participant_transport: httpx.AsyncBaseTransport | None = None,
    pruned: Callable[[Pruned], None] = lambda _pruned: None,
) -> AsyncIterator[RunningOrders]:
    """The order service's moving parts, a recovery loop that finishes any saga whose
    process died or whose retry fell due, and a pruner that deletes finished sagas'
    history under the retention settings (``pruned`` hears each pass); all stopped
    cleanly on exit."""
    database = Database(settings.database_url, **settings.database_options())

    def pooled(url: str) -> ParticipantCaller:
        if participant_transport is not None:
            return TransportParticipantClient(
                url,
                transport=participant_transport,
                timeout_seconds=settings.call_timeout_seconds,
            )
        return AiohttpParticipantClient(
            url,
            timeout_seconds=settings.call_timeout_seconds,
            max_connections=settings.connections_per_participant,
        )

    clients = ParticipantClients(
        payment=pooled(settings.payment_url),
        inventory=pooled(settings.inventory_url),
        shipping=pooled(settings.shipping_url),
    )
    participants = Participants(
        clients=clients,
        token=settings.service_token.get_secret_value(),
        confirmation_timeout=timedelta(seconds=settings.confirmation_timeout_seconds),
        order_deadline=timedelta(seconds=settings.deadline_seconds),
    )
    store = SqlSagaStore(
        database.engine,
        lease_duration=timedelta(seconds=settings.lease_seconds),
        instrumentation=instrumentation,
    )
    engine = SagaEngine(
        store=store,
        sagas=[CHECKOUT],
        deps=participants,
        attempt_limit=AttemptLimit(
            forward=settings.forward_max_attempts,
            compensation=settings.compensation_max_attempts,
        ),
        owner=settings.owner,
        max_concurrency=settings.max_concurrent_sagas,
        observer=observer,
    )
    service = OrderService(
        database=database,
        store=store,
        engine=engine,
        saga=CHECKOUT,
        clock=lambda: datetime.now(UTC),
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(
        engine.run_worker(poll_interval=settings.recovery_poll_seconds, stop=stop)
    )
    pruner = Pruner(store, settings.retention, on_prune=keep_outcomes, reported=pruned)
    pruning = asyncio.create_task(pruner.run(interval=settings.prune_interval_seconds, stop=stop))
    confirmations = Confirmations(orders=service, engine=engine, store=store, payment=participants)
    try:
        yield RunningOrders(service, confirmations, engine)
    finally:
        stop.set()
        await worker
        await pruning
        await engine.close()
        await clients.aclose()
        store.close()
        await database.dispose()
