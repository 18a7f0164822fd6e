"""Placing and reading orders: the order service's use cases, free of HTTP.

An order and its saga are written in one transaction, then the saga is driven at
once in this process. If the process dies before the saga ends, the durable row is
enough for any orders or worker process to finish it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from checkout.common.database import Database
from checkout.observability.tracing import TRACEPARENT, current_traceparent
from checkout.orders import repository
from checkout.orders.repository import Order, OrderItem
from checkout.orders.saga import CONFIRMATION_EVENT
from checkout.orders.schemas import (
    HOLDER_CONFIRMS,
    ListFilters,
    OrderList,
    OrderOut,
    OrderRequest,
)
from checkout.orders.views import order_view, pruned_order_view, waits_for_holder
from sagakit import (
    Alongside,
    Saga,
    SagaEngine,
    SagaHandle,
    SagaNotFound,
    SagaState,
    SqlSagaStore,
)

ASKING_POLL_SECONDS = 0.05
"""How often a held request for an order whose card may ask its holder looks whether
the order now waits for them; the engine tells of an end, not of a wait."""


class OrderNotFound(Exception):
    pass


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before for a different request body."""


class OrderInProgress(Exception):
    """Another request with the same Idempotency-Key is still being stored."""


@dataclass(frozen=True)
class Placed:
    order: OrderOut
    replayed: bool


class OrderService:
    def __init__(
        self,
        *,
        database: Database,
        store: SqlSagaStore,
        engine: SagaEngine[Alongside],
        saga: Saga,
        clock: Callable[[], datetime],
    ) -> None:
        self._database, self._store, self._engine = database, store, engine
        self._saga, self._clock = saga, clock

    @property
    def database(self) -> Database:
        return self._database

    async def place(
        self, request: OrderRequest, *, idempotency_key: str | None, wait_seconds: float = 0
    ) -> Placed:
        """Store the order and its saga atomically, start the saga, answer the order.

        A repeat of an earlier request (same key, same body) returns the earlier order
        and starts nothing.
        """
        fingerprint = _fingerprint(request)
        if idempotency_key is not None:
            earlier = await self._earlier(idempotency_key, fingerprint)
            if earlier is not None:
                return Placed(await self.get(earlier.id, wait_seconds=wait_seconds), True)
        order = self._new_order(request, idempotency_key, fingerprint)
        try:
            saga = await self._engine.start(
                self._saga,
                input=_saga_input(order),
                saga_id=order.id,
                alongside=repository.order_rows(order),
            )
        except IntegrityError:
            if idempotency_key is None:
                raise
            earlier = await self._earlier(idempotency_key, fingerprint)
            if earlier is None:
                raise OrderInProgress from None
            return Placed(await self.get(earlier.id, wait_seconds=wait_seconds), True)
        if wait_seconds > 0 and order.payment_method in HOLDER_CONFIRMS:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_seconds):
                    await self._until_settled_or_asking(saga)
        elif wait_seconds > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_seconds):
                    # The saga runs here: its end and its history come back without a read.
                    state = await saga.result()
                view = order_view(order, self._saga, state, await saga.history())
                return Placed(view, False)
        return Placed(await self.get(order.id), False)

    async def get(
        self, order_id: str, *, wait_seconds: float = 0, customer_id: str | None = None
    ) -> OrderOut:
        """The order with its saga's history; with ``wait_seconds``, once it settles.

        With ``customer_id``, another customer's order is :class:`OrderNotFound`, as an
        unknown one is: the answer must not confirm that it exists. So ownership is
        checked before waiting, or the wait would tell the two apart. An order that waits
        for its card holder's answer is answered at once: only the answer moves it.
        """
        order = await self.owned(order_id, customer_id=customer_id)
        if wait_seconds > 0:
            # The order row never changes; its status is its saga's, which _view reads.
            saga = self._engine.handle(order_id)
            with contextlib.suppress(SagaNotFound, TimeoutError):  # _view reports the rest
                async with asyncio.timeout(wait_seconds):
                    if order.payment_method in HOLDER_CONFIRMS:
                        await self._until_settled_or_asking(saga)
                    else:
                        await saga.result()
        return await self._view(order)

    async def owned(self, order_id: str, *, customer_id: str | None = None) -> Order:
        """The order, if there is one and it is ``customer_id``'s (any, without one)."""
        async with self._database.reading() as connection:
            order = await repository.get_order(connection, order_id)
        if order is None or customer_id not in (None, order.customer_id):
            raise OrderNotFound(order_id)
        return order

    async def list(self, filters: ListFilters) -> OrderList:
        async with self._database.reading() as connection:
            page, total = await repository.list_orders(
                connection,
                customer_id=filters.customer_id,
                status=filters.status,
                limit=filters.limit,
                offset=filters.offset,
            )
        return OrderList(items=[await self._view(order) for order in page], total=total)

    async def _view(self, order: Order) -> OrderOut:
        if order.outcome is not None:
            return pruned_order_view(order)
        state = await self._store.load(order.id)
        if state is None:  # pruned since the order was read: its outcome is kept now
            return pruned_order_view(await self.owned(order.id))
        history = await self._store.attempts(order.id)
        answered = waits_for_holder(state) and await self._wait_decided(state)
        return order_view(order, self._engine.definition(state), state, history, answered=answered)

    async def _wait_decided(self, state: SagaState) -> bool:
        """Whether the holder's answer (or the wait's timeout) is recorded: the saga
        waits no more, and is about to go on with it."""
        return await self._store.signal(state.id, CONFIRMATION_EVENT) is not None

    async def _until_settled_or_asking(self, saga: SagaHandle) -> None:
        """Until the order's saga ends or waits for the card holder: no wait of ours
        would end that one, and the customer needs the answer to give theirs."""
        ended = asyncio.ensure_future(saga.result())
        try:
            while not ended.done():
                state = await saga.status()
                if waits_for_holder(state) and not await self._wait_decided(state):
                    return
                await asyncio.wait({ended}, timeout=ASKING_POLL_SECONDS)
            await ended  # its error, if any, is the caller's
        finally:
            ended.cancel()  # giving up the wait never stops the saga

    async def _earlier(self, idempotency_key: str, fingerprint: str) -> Order | None:
        async with self._database.reading() as connection:
            earlier = await repository.get_order_by_key(connection, idempotency_key)
        if earlier is not None and earlier.request_fingerprint != fingerprint:
            raise IdempotencyConflict(idempotency_key)
        return earlier

    def _new_order(self, request: OrderRequest, key: str | None, fingerprint: str) -> Order:
        return Order(
            id=str(uuid.uuid4()),
            customer_id=request.customer_id,
            total=request.total(),
            payment_method=request.payment_method,
            shipping_address=request.shipping_address.model_dump(),
            items=tuple(
                OrderItem(product_id=i.product_id, name=i.name, price=i.price, quantity=i.quantity)
                for i in request.items
            ),
            created_at=self._clock(),
            idempotency_key=key,
            request_fingerprint=fingerprint,
        )


def _fingerprint(request: OrderRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _saga_input(order: Order) -> dict[str, object]:
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "total": f"{order.total:.2f}",
        "payment_method": order.payment_method,
        "lines": [{"product_id": i.product_id, "quantity": i.quantity} for i in order.items],
        "address": order.shipping_address,
        TRACEPARENT: current_traceparent.get(),
    }
