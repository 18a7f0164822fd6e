"""Each service served by uvicorn on a thread of the test process, on a migrated database.

A real server (rather than schemathesis's ASGI client) runs the app's lifespan exactly
once per test and stops it cleanly, so the order service's saga worker ends, and its
database connections stay on the one event loop they were opened on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pytest
import uvicorn
from fastapi import FastAPI

from checkout.inventory.app import create_app as create_inventory
from checkout.inventory.settings import InventorySettings
from checkout.migrations import upgrade_all
from checkout.orders.app import create_app as create_orders
from checkout.orders.settings import OrdersSettings
from checkout.payment.app import create_app as create_payment
from checkout.payment.settings import PaymentSettings
from checkout.processes import free_port
from checkout.shipping.app import create_app as create_shipping
from checkout.shipping.settings import ShippingSettings
from tests.support.identity import IDENTITY

SERVICE_TOKEN = "fuzz-service-token"
ADMIN_TOKEN = "fuzz-admin-token"
TOKENS = {"service_token": SERVICE_TOKEN, "admin_token": ADMIN_TOKEN}


def build_app(name: str, database_url: str, *, identity: bool = False) -> FastAPI:
    """The named service's app; the order service's participants are unreachable, and
    with ``identity`` it trusts the tests' development identity."""
    if name == "payment":
        return create_payment(PaymentSettings(**TOKENS, database_url=database_url))
    if name == "inventory":
        return create_inventory(InventorySettings(**TOKENS, database_url=database_url))
    if name == "shipping":
        return create_shipping(ShippingSettings(**TOKENS, database_url=database_url))
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = OrdersSettings(
        **TOKENS,
        database_url=database_url,
        payment_url=nowhere,
        inventory_url=nowhere,
        shipping_url=nowhere,
        call_timeout_seconds=1,
        **(IDENTITY if identity else {}),
    )
    return create_orders(settings)


@dataclass(frozen=True)
class Served:
    base_url: str


class Serve(Protocol):
    def __call__(self, name: str, *, identity: bool = False) -> Served: ...


@pytest.fixture
def serve(database_url: str) -> Iterator[Serve]:
    """``serve(name)``: migrate this test's database for ``name`` and serve the app."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(name: str, *, identity: bool = False) -> Served:
        upgrade_all({name: database_url})
        port = free_port()
        config = uvicorn.Config(
            build_app(name, database_url, identity=identity),
            host="127.0.0.1",
            port=port,
            lifespan="on",
            log_level="warning",
            access_log=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"fuzz-{name}", daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.01)
        return Served(f"http://127.0.0.1:{port}")

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=60)
        assert not thread.is_alive(), "a served app did not shut down"
