"""The payment service's app factory: ``uvicorn --factory checkout.payment.app:create_app``."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
from fastapi import FastAPI

from checkout.common.app import build_app
from checkout.common.database import Database
from checkout.common.faults import FaultInjector
from checkout.payment import routes, tables
from checkout.payment.settings import PaymentSettings
from checkout.payment.webhooks import WebhookSender


def create_app(
    settings: PaymentSettings | None = None,
    *,
    database: Database | None = None,
    faults: FaultInjector | None = None,
    clock: Callable[[], float] = time.time,
    orders_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The payment app; settings come from the environment unless given. With an
    ``orders_transport`` the notices to the order service go through it (tests)."""
    settings = settings if settings is not None else PaymentSettings()
    app = build_app(
        title="Payment service",
        settings=settings,
        database_url=settings.database_url,
        routers=[routes.orchestrated, routes.queries],
        database=database,
        faults=faults,
        expiring=[tables.answers, tables.compensated_orders],
        clock=clock,
        background=_delivering_notices,
    )
    app.state.webhooks = WebhookSender(
        database=app.state.database,
        orders_url=settings.orders_url,
        token=settings.service_token.get_secret_value(),
        timeout_seconds=settings.webhook_timeout_seconds,
        transport=orders_transport,
    )
    return app


def _delivering_notices(app: FastAPI) -> AbstractAsyncContextManager[None]:
    sender: WebhookSender = app.state.webhooks
    return sender.running()
