"""The two ways a card holder's answer reaches an order (see ``confirmations``): the
customer's ``POST /orders/{id}/confirmation`` and the payment service's webhook."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from checkout.common.outages import PARTICIPANT_UNAVAILABLE, UNAVAILABLE, unavailable
from checkout.common.refusals import BusinessError
from checkout.common.responses import BODY, UNAUTHORIZED, refusals
from checkout.common.routing import ServiceRoute
from checkout.orders.access import Customer
from checkout.orders.confirmations import ConfirmationRefused, Confirmations, PaymentUnavailable
from checkout.orders.routes import PreferHeader, wait_seconds
from checkout.orders.routing import CallerDep, ConfirmPaymentRoute
from checkout.orders.schemas import ConfirmationRequest, OrderOut, PaymentEvent, PaymentEventOut
from checkout.orders.service import OrderNotFound

confirming = APIRouter(prefix="/orders", tags=["orders"], route_class=ConfirmPaymentRoute)
notified = APIRouter(tags=["payment events"], route_class=ServiceRoute)


async def get_confirmations(request: Request) -> Confirmations:
    confirmations: Confirmations = request.app.state.confirmations
    return confirmations


ConfirmationsDep = Annotated[Confirmations, Depends(get_confirmations)]


@confirming.post(
    "/{order_id}/confirmation",
    status_code=202,
    response_model=OrderOut,
    responses={**BODY, **refusals(401, 404, 409), **UNAVAILABLE},
)
async def confirm_payment(
    order_id: uuid.UUID,
    body: ConfirmationRequest,
    request: Request,
    confirmations: ConfirmationsDep,
    caller: CallerDep,
    prefer: PreferHeader = None,
) -> OrderOut | JSONResponse:
    """The customer's answer to the payment's challenge (the order's ``next_action``).

    The first answer is final; the same one again is answered again. Answered ``202``
    with the order, which goes on in the background (``Prefer: wait=N`` holds the
    answer until it settles); ``409`` once the order no longer waits for an answer.
    """
    try:
        return await confirmations.confirm(
            str(order_id),
            body,
            customer_id=caller.id if isinstance(caller, Customer) else None,
            wait_seconds=wait_seconds(request, prefer),
        )
    except OrderNotFound:
        raise BusinessError(404, "order_not_found", f"No order has id {order_id}.") from None
    except ConfirmationRefused as refused:
        raise BusinessError(409, refused.code, refused.message) from None
    except PaymentUnavailable:
        return unavailable(
            PARTICIPANT_UNAVAILABLE,
            "The payment service did not answer; send the same answer again in a moment.",
        )


@notified.post(
    "/payment-events",
    response_model=PaymentEventOut,
    responses={**UNAUTHORIZED, **BODY, **refusals(404, 409), **UNAVAILABLE},
)
async def payment_event(body: PaymentEvent, confirmations: ConfirmationsDep) -> PaymentEventOut:
    """The payment service's webhook: a card holder answered a challenge (service token).

    A notice sent twice is taken once (``recorded`` false the second time); ``409`` when
    the order no longer waits for an answer (it timed out, say): final, send it no more.
    """
    try:
        delivered = await confirmations.notified(body)
    except OrderNotFound:
        raise BusinessError(404, "order_not_found", f"No order has id {body.order_id}.") from None
    except ConfirmationRefused as refused:
        raise BusinessError(409, refused.code, refused.message) from None
    return PaymentEventOut(order_id=delivered.order_id, recorded=delivered.recorded)


router = APIRouter()
for door in (confirming, notified):
    router.include_router(door)
