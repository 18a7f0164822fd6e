"""The README's "List orders", on the real system: the services started with the development
identity, a token minted by ``checkout customer-token``, and the customer's own orders."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.e2e.api import CheckoutApi, Running, order_body, unique
from tests.e2e.conftest import fresh_databases, remember_logs, running_system
from tests.support.identity import AUDIENCE, ISSUER, SECRET

pytestmark = pytest.mark.e2e

DEVELOPMENT_IDENTITY = {
    "CUSTOMER_JWT_ISSUER": ISSUER,
    "CUSTOMER_JWT_AUDIENCE": AUDIENCE,
    "CUSTOMER_JWT_SECRET": SECRET,
}


@pytest.fixture(scope="module")
def with_identity(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A system of its own whose order service trusts the development identity."""
    data_dir = tmp_path_factory.mktemp("identity")
    remember_logs(request, data_dir / "logs")
    with (
        fresh_databases(tmp_path_factory) as urls,
        running_system(urls, data_dir, **DEVELOPMENT_IDENTITY) as (running, _),
    ):
        yield running


@pytest.fixture
async def api(with_identity: Running) -> AsyncIterator[CheckoutApi]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
        yield CheckoutApi(client=client, running=with_identity)
    assert with_identity.exited() == {}, f"a service exited: {with_identity.exited()}"


def minted(customer_id: str) -> dict[str, str]:
    """``checkout customer-token CUSTOMER`` run as the README shows, as a bearer header."""
    command = [sys.executable, "-m", "checkout.cli", "customer-token", customer_id]
    environment = {**os.environ, **DEVELOPMENT_IDENTITY}
    done = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=60, check=True
    )
    return {"Authorization": f"Bearer {done.stdout.strip()}"}


async def test_a_customer_places_and_lists_their_own_orders_with_a_minted_token(
    api: CheckoutApi,
) -> None:
    customer, other = unique("cust"), unique("cust")
    orders_url = api.url("orders", "/orders")
    own, others = minted(customer), minted(other)
    await api.client.post(orders_url, json=order_body(customer_id=other), headers=others)

    placed = await api.client.post(
        orders_url, json=order_body(customer_id=customer), headers={**own, "Prefer": "wait=30"}
    )
    listed = await api.client.get(orders_url, headers=own)

    assert placed.status_code == 201, placed.text
    assert placed.json()["status"] == "completed"
    assert listed.status_code == 200, listed.text
    assert [o["id"] for o in listed.json()["items"]] == [placed.json()["id"]]
    read_by_other = await api.client.get(f"{orders_url}/{placed.json()['id']}", headers=others)
    assert read_by_other.status_code == 404


async def test_with_identity_an_order_needs_its_customers_token(api: CheckoutApi) -> None:
    customer = unique("cust")
    orders_url = api.url("orders", "/orders")

    anonymous = await api.client.post(orders_url, json=order_body(customer_id=customer))
    in_another_name = await api.client.post(
        orders_url, json=order_body(customer_id=customer), headers=minted(unique("cust"))
    )

    assert anonymous.status_code == 401, anonymous.text
    assert in_another_name.status_code == 403, in_another_name.text
    assert (await api.list_orders(customer_id=customer))["total"] == 0
