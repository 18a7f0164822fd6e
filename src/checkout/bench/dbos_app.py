"""The same checkout saga as a DBOS workflow, behind the same ``POST /orders``.

Each participant call is a ``@DBOS.step`` (retried like ours: transient errors only);
a refusal compensates the completed steps in reverse order. The participants see the
same requests and idempotency keys as from our engine. Used only by the benchmark:

    DBOS_SYSTEM_DATABASE_URL=sqlite:///bench.db uvicorn --factory \\
        checkout.bench.dbos_app:create_app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from dbos import DBOS, SetWorkflowID
from fastapi import FastAPI, Response

from checkout.bench.load import (
    direct_context,
    participant_clients,
    participant_clients_from_environment,
)
from checkout.orders.schemas import OrderRequest
from sagakit import Direction, StepRejected
from sagakit.http import ParticipantCaller, post_step

StepFunction = TypeVar("StepFunction", bound=Callable[..., Any])

_clients: dict[str, ParticipantCaller] = {}
_headers: dict[str, str] = {}


def _should_retry(error: BaseException) -> bool:
    return not isinstance(error, StepRejected)


async def _call(
    service: str, path: str, order_id: str, step: str, direction: Direction, body: dict[str, Any]
) -> Any:
    context = direct_context(order_id, step, direction, saga_name="checkout")
    return await post_step(_clients[service], path, context=context, json=body, headers=_headers)


def _step(name: str) -> Callable[[StepFunction], StepFunction]:
    return cast(
        Callable[[StepFunction], StepFunction],
        DBOS.step(
            name=name,
            retries_allowed=True,
            max_attempts=6,
            interval_seconds=0.1,
            backoff_rate=2.0,
            should_retry=_should_retry,
            timeout_seconds=5.0,
        ),
    )


@_step("charge")
async def charge(order: dict[str, Any]) -> Any:
    return await _call(
        "payment",
        "/payments",
        order["order_id"],
        "payment",
        Direction.FORWARD,
        {k: order[k] for k in ("order_id", "customer_id", "payment_method")}
        | {"amount": order["total"]},
    )


@_step("refund")
async def refund(order: dict[str, Any]) -> Any:
    return await _call(
        "payment",
        "/payments/refunds",
        order["order_id"],
        "payment",
        Direction.COMPENSATE,
        {"order_id": order["order_id"], "amount": order["total"]},
    )


@_step("reserve")
async def reserve(order: dict[str, Any]) -> Any:
    return await _call(
        "inventory",
        "/reservations",
        order["order_id"],
        "inventory",
        Direction.FORWARD,
        {"order_id": order["order_id"], "lines": order["lines"]},
    )


@_step("release")
async def release(order: dict[str, Any]) -> Any:
    return await _call(
        "inventory",
        "/reservations/release",
        order["order_id"],
        "inventory",
        Direction.COMPENSATE,
        {"order_id": order["order_id"]},
    )


@_step("ship")
async def ship(order: dict[str, Any]) -> Any:
    return await _call(
        "shipping",
        "/shipments",
        order["order_id"],
        "shipping",
        Direction.FORWARD,
        {"order_id": order["order_id"], "address": order["address"]},
    )


@_step("cancel_shipment")
async def cancel_shipment(order: dict[str, Any]) -> Any:
    return await _call(
        "shipping",
        "/shipments/cancel",
        order["order_id"],
        "shipping",
        Direction.COMPENSATE,
        {"order_id": order["order_id"]},
    )


STEPS = ((charge, refund), (reserve, release), (ship, cancel_shipment))


_workflow = cast(Callable[[StepFunction], StepFunction], DBOS.workflow(name="checkout"))


@_workflow
async def checkout(order: dict[str, Any]) -> str:
    done: list[Any] = []
    for action, compensation in STEPS:
        try:
            await action(order)
        except StepRejected:
            break
        except Exception:
            done.append(compensation)  # outcome unknown: compensate it too
            break
        done.append(compensation)
    else:
        return "completed"
    for compensation in reversed(done):
        await compensation(order)
    return "cancelled"


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _clients.update(participant_clients_from_environment(participant_clients))
        _headers["Authorization"] = f"Bearer {os.environ['SERVICE_TOKEN']}"
        DBOS(
            config={
                "name": "checkout-bench",
                "system_database_url": os.environ["DBOS_SYSTEM_DATABASE_URL"],
                "log_level": "WARNING",
            }
        )
        DBOS.launch()
        yield
        DBOS.destroy()
        for client in _clients.values():
            await client.aclose()

    app = FastAPI(title="Checkout on DBOS (benchmark)", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/orders", status_code=201)
    async def place_order(body: OrderRequest, response: Response) -> dict[str, str]:
        order_id = str(uuid.uuid4())
        order = {
            "order_id": order_id,
            "customer_id": body.customer_id,
            "payment_method": body.payment_method,
            "total": f"{body.total():.2f}",
            "lines": [{"product_id": i.product_id, "quantity": i.quantity} for i in body.items],
            "address": body.shipping_address.model_dump(),
        }
        with SetWorkflowID(order_id):
            handle = await DBOS.start_workflow_async(checkout, order)
        outcome = await handle.get_result()
        return {"id": order_id, "status": outcome}

    return app
