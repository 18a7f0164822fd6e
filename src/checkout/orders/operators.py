"""The order service's operators: the sagakit admin API and dashboard, over orders.

Every saga here is an order's, under the order's id; the orders table names the
customer, so operators see and filter sagas by customer without the engine knowing
what a customer is.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import Select, select

from checkout.common.outages import UNAVAILABLE
from checkout.common.responses import BODY, UNAUTHORIZED
from checkout.common.routing import AdminRoute
from checkout.orders.repository import keep_outcomes
from checkout.orders.tables import orders
from sagakit import SagaEngine, SagaState, SqlSagaStore
from sagakit.admin import DashboardLook, SagaAdmin, Subject, install_admin


def _customer_of(state: SagaState) -> str | None:
    customer = state.input.get("customer_id")
    return customer if isinstance(customer, str) else None


def _orders_of(customer_id: str) -> Select[tuple[str]]:
    return select(orders.c.id).where(orders.c.customer_id == customer_id)


CUSTOMER = Subject(label="Customer", of=_customer_of, sagas_of=_orders_of)


def order_admin(
    store: SqlSagaStore, engine: SagaEngine, *, on_action: Callable[[str], None]
) -> SagaAdmin:
    return SagaAdmin(
        history=store,
        engine=engine,
        subject=CUSTOMER,
        on_action=on_action,
        on_prune=keep_outcomes,
    )


def install_operators(app: FastAPI) -> None:
    """``/admin`` behind the admin token, and ``/dashboard``."""
    install_admin(
        app,
        route_class=AdminRoute,
        responses={**UNAUTHORIZED, **UNAVAILABLE},
        body_responses=BODY,
        look=DashboardLook(title="checkout", subject_label=CUSTOMER.label),
    )
