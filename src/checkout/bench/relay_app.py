"""The checkout's calls behind ``POST /orders`` with nothing recorded: the relay.

It is what any orchestrator with an HTTP API costs before durability: one more HTTP
exchange (the client's) and a service to answer it, then the same participant calls as
``raw``, made through the client our order service uses. The benchmark
runs it so the cost of the saga log can be told apart from the cost of the extra hop.
Used only by the benchmark:

    uvicorn --factory checkout.bench.relay_app:create_app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from checkout.bench.load import (
    checkout_calls,
    participant_clients,
    participant_clients_from_environment,
)
from checkout.orders.schemas import OrderRequest


def create_app() -> FastAPI:
    clients = participant_clients_from_environment(participant_clients)
    checkout = checkout_calls(clients, os.environ["SERVICE_TOKEN"])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for client in clients.values():
            await client.aclose()

    app = FastAPI(title="Checkout relay, nothing recorded (benchmark)", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/orders", status_code=201)
    async def place_order(body: OrderRequest) -> dict[str, str]:
        order_id = str(uuid.uuid4())
        status = await checkout(body.model_dump(mode="json"), order_id)
        return {"id": order_id, "status": status}

    return app
