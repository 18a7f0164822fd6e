"""The payment service's app factory: ``uvicorn --factory checkout.payment.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from checkout.common.app import build_app
from checkout.common.database import Database
from checkout.common.faults import FaultInjector
from checkout.payment import routes
from checkout.payment.settings import PaymentSettings


def create_app(
    settings: PaymentSettings | None = None,
    *,
    database: Database | None = None,
    faults: FaultInjector | None = None,
) -> FastAPI:
    """The payment app; settings come from the environment unless given."""
    settings = settings if settings is not None else PaymentSettings()
    return build_app(
        title="Payment service",
        settings=settings,
        database_url=settings.database_url,
        routers=[routes.orchestrated, routes.queries],
        database=database,
        faults=faults,
    )
