"""Three credentials, and none opens another's door: the service token (participants),
the admin token (admin API, dashboard, stock, listing anyone's orders) and a customer's
JWT (that customer's own orders). Every door is tried with every credential."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.checkout.conftest import ADMIN, SERVICE, Service
from tests.integration.checkout.hostile.test_orders import order
from tests.support.identity import bearer, customer_token
from tests.support.keys import keyed

CREDENTIALS = {"admin": ADMIN, "service": SERVICE, "customer": bearer(customer_token("alice"))}
ORDER_ID = str(uuid.uuid4())


@dataclass(frozen=True)
class Door:
    service: str
    method: str
    path: str
    opens_for: frozenset[str]
    body: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.service}:{self.method} {self.path.split('?')[0]}"


def door(service: str, method: str, path: str, *opens_for: str, body: Any = None) -> Door:
    return Door(service, method, path, frozenset(opens_for), body)


CHARGE = {
    "order_id": ORDER_ID,
    "customer_id": "alice",
    "amount": "5.00",
    "payment_method": "paypal",
}
DOORS = [
    door("orders", "POST", "/orders", "customer", body=order(customer_id="alice")),
    door("orders", "GET", "/orders", "customer", "admin"),
    door("orders", "GET", f"/orders/{ORDER_ID}", "customer", "admin"),
    door("orders", "GET", "/admin/sagas", "admin"),
    door("orders", "GET", "/admin/counts", "admin"),
    door("orders", "GET", f"/admin/sagas/{ORDER_ID}/timeline.svg", "admin"),
    door("orders", "POST", f"/admin/sagas/{ORDER_ID}/retry", "admin"),
    door("payment", "POST", "/payments", "service", body=CHARGE),
    door("payment", "GET", f"/payments?order_id={ORDER_ID}", "service"),
    door("inventory", "PUT", "/products/product1", "admin", body={"available": 5}),
    door("inventory", "GET", f"/reservations?order_id={ORDER_ID}", "service"),
    door("shipping", "GET", f"/shipments?order_id={ORDER_ID}", "service"),
]
PAIRS = [
    pytest.param(d, credential, id=f"{d}-{credential}") for d in DOORS for credential in CREDENTIALS
]


@pytest.fixture
def services(
    orders_with_identity: Service, payment: Service, inventory: Service, shipping: Service
) -> dict[str, Service]:
    return {
        "orders": orders_with_identity,
        "payment": payment,
        "inventory": inventory,
        "shipping": shipping,
    }


@pytest.mark.parametrize(("door", "credential"), PAIRS)
async def test_a_credential_opens_its_own_doors_only(
    services: dict[str, Service], door: Door, credential: str
) -> None:
    client = services[door.service].client
    headers = {**CREDENTIALS[credential], **keyed(str(uuid.uuid4()))}

    response = await client.request(door.method, door.path, json=door.body, headers=headers)

    if credential in door.opens_for:
        assert response.status_code in {200, 201, 202, 404}, (response.status_code, response.text)
    else:
        assert response.status_code == 401, (response.status_code, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
