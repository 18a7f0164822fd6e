"""The inventory service's app factory: ``uvicorn --factory checkout.inventory.app:create_app``."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI

from checkout.common.app import build_app
from checkout.common.database import Database
from checkout.common.faults import FaultInjector
from checkout.inventory import routes, tables
from checkout.inventory.settings import InventorySettings


def create_app(
    settings: InventorySettings | None = None,
    *,
    database: Database | None = None,
    faults: FaultInjector | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The inventory app; settings come from the environment unless given."""
    settings = settings if settings is not None else InventorySettings()
    return build_app(
        title="Inventory service",
        settings=settings,
        database_url=settings.database_url,
        routers=[routes.orchestrated, routes.queries, routes.public, routes.admin],
        database=database,
        faults=faults,
        expiring=[tables.answers, tables.compensated_orders],
        clock=clock,
    )
