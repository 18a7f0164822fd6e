"""The chaos run's books, read straight from the four databases and judged by
:mod:`checkout.books`."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select

from checkout.books import (
    Books,
    Ledger,
    judge,
    read_inventory,
    read_orders,
    read_payments,
    read_shipments,
)
from sagakit.database import open_database
from sagakit.store import sagas


async def pending_sagas(orders_url: str) -> int:
    engine = open_database(orders_url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).where(sagas.c.status.in_(("running", "compensating")))
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def read_ledger(urls: Mapping[str, str]) -> Ledger:
    """The books as the four databases (``urls`` by service) hold them now."""
    engines = {name: open_database(url) for name, url in urls.items()}
    try:
        async with (
            engines["orders"].connect() as orders,
            engines["payment"].connect() as payment,
            engines["inventory"].connect() as inventory,
            engines["shipping"].connect() as shipping,
        ):
            return Ledger(
                orders=await orders.run_sync(read_orders),
                payment=await payment.run_sync(read_payments),
                inventory=await inventory.run_sync(read_inventory),
                shipping=await shipping.run_sync(read_shipments),
            )
    finally:
        for engine in engines.values():
            await engine.dispose()


async def check_books(
    urls: Mapping[str, str], *, stock_received: Mapping[str, int], order_ids: set[str]
) -> Books:
    ledger = await read_ledger(urls)
    return judge(ledger, stock_received=stock_received, accepted=order_ids)
