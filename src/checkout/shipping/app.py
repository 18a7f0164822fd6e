"""The shipping service's app factory: ``uvicorn --factory checkout.shipping.app:create_app``."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI

from checkout.common.app import build_app
from checkout.common.database import Database
from checkout.common.faults import FaultInjector
from checkout.shipping import routes, tables
from checkout.shipping.settings import ShippingSettings


def create_app(
    settings: ShippingSettings | None = None,
    *,
    database: Database | None = None,
    faults: FaultInjector | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The shipping app; settings come from the environment unless given."""
    settings = settings if settings is not None else ShippingSettings()
    return build_app(
        title="Shipping service",
        settings=settings,
        database_url=settings.database_url,
        routers=[routes.orchestrated, routes.queries],
        database=database,
        faults=faults,
        expiring=[tables.answers, tables.compensated_orders],
        clock=clock,
    )
