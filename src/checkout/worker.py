"""A worker process: no HTTP, it only finishes sagas (crashed owners, due retries).

Run any number of them beside the order services on one PostgreSQL: leases with
fencing tokens make sure each saga is driven by one process at a time.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from checkout.orders.app import running_orders
from checkout.orders.settings import OrdersSettings

log = logging.getLogger("checkout.worker")


async def run_worker(settings: OrdersSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_orders(settings) as running:
        log.warning("worker %s is recovering sagas; Ctrl-C stops it", running.engine.owner)
        await stop.wait()
    log.warning("worker %s stopped", running.engine.owner)
