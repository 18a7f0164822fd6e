"""The inventory API on a real database: reservations, releases, stock, idempotency."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from checkout.inventory.app import create_app
from checkout.inventory.settings import InventorySettings
from tests.integration.checkout.conftest import ADMIN, SERVICE, Serve, Service
from tests.support.keys import keyed


def reservation(*lines: tuple[str, int], order_id: str | None = None) -> dict[str, Any]:
    return {
        "order_id": order_id or str(uuid.uuid4()),
        "lines": [{"product_id": product, "quantity": quantity} for product, quantity in lines],
    }


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str = "k-1"
) -> httpx.Response:
    return await client.post(path, json=body, headers={**SERVICE, **keyed(key)})


async def stock(client: httpx.AsyncClient, product_id: str) -> int:
    response = await client.get(f"/products/{product_id}")
    assert response.status_code == 200
    available: int = response.json()["available"]
    return available


async def set_stock(client: httpx.AsyncClient, product_id: str, available: int) -> None:
    response = await client.put(
        f"/products/{product_id}", json={"available": available}, headers=ADMIN
    )
    assert response.status_code == 200


async def test_catalogue_starts_with_ten_products_of_1000_units(inventory: Service) -> None:
    for n in range(1, 11):
        assert await stock(inventory.client, f"product{n}") == 1000


async def test_unknown_product_answers_404(inventory: Service) -> None:
    assert (await inventory.client.get("/products/nope")).status_code == 404


async def test_reserve_takes_stock_and_merges_duplicate_lines(inventory: Service) -> None:
    body = reservation(("product1", 2), ("product2", 1), ("product1", 3))
    response = await post(inventory.client, "/reservations", body)
    assert response.status_code == 201
    answer = response.json()
    assert answer["status"] == "reserved" and answer["order_id"] == body["order_id"]
    assert answer["lines"] == [
        {"product_id": "product1", "quantity": 5},
        {"product_id": "product2", "quantity": 1},
    ]
    assert await stock(inventory.client, "product1") == 995
    assert await stock(inventory.client, "product2") == 999
    listed = await inventory.client.get(
        "/reservations", params={"order_id": body["order_id"]}, headers=SERVICE
    )
    assert listed.json() == {"items": [answer]}


@pytest.mark.parametrize(
    ("lines", "code", "product_id"),
    [
        ((("product1", 1), ("product2", 1001)), "insufficient_stock", "product2"),
        ((("product1", 1), ("ghost", 1)), "unknown_product", "ghost"),
    ],
)
async def test_refused_reservation_takes_nothing(
    inventory: Service, lines: tuple[tuple[str, int], ...], code: str, product_id: str
) -> None:
    body = reservation(*lines)
    response = await post(inventory.client, "/reservations", body)
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert (detail["code"], detail["product_id"]) == (code, product_id)
    assert await stock(inventory.client, "product1") == 1000
    listed = await inventory.client.get(
        "/reservations", params={"order_id": body["order_id"]}, headers=SERVICE
    )
    assert listed.json() == {"items": []}


async def test_replayed_reservation_returns_first_answer_and_takes_once(
    inventory: Service,
) -> None:
    body = reservation(("product1", 4))
    first = await post(inventory.client, "/reservations", body)
    again = await post(inventory.client, "/reservations", body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await stock(inventory.client, "product1") == 996


async def test_key_reused_with_other_lines_is_refused(inventory: Service) -> None:
    body = reservation(("product1", 4))
    await post(inventory.client, "/reservations", body)
    other = {**body, "lines": [{"product_id": "product1", "quantity": 5}]}
    response = await post(inventory.client, "/reservations", other)
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "idempotency_key_reused"


async def test_second_reservation_for_an_order_is_refused(inventory: Service) -> None:
    body = reservation(("product1", 1))
    await post(inventory.client, "/reservations", body, key="a")
    response = await post(inventory.client, "/reservations", body, key="b")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "already_reserved"


async def test_concurrent_reservations_never_oversell(inventory: Service) -> None:
    await set_stock(inventory.client, "scarce", 50)
    answers = await asyncio.gather(
        *(
            post(inventory.client, "/reservations", reservation(("scarce", 1)), key=f"k-{n}")
            for n in range(60)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] * 50 + [409] * 10
    assert await stock(inventory.client, "scarce") == 0


async def test_release_puts_stock_back_once(inventory: Service) -> None:
    body = reservation(("product3", 7))
    await post(inventory.client, "/reservations", body)
    release = {"order_id": body["order_id"]}
    expected = {"order_id": body["order_id"], "status": "released"}
    for key in ("r-1", "r-1", "r-2"):
        response = await post(inventory.client, "/reservations/release", release, key=key)
        assert (response.status_code, response.json()) == (200, expected)
    assert await stock(inventory.client, "product3") == 1000


async def test_release_without_a_reservation_is_a_no_op(inventory: Service) -> None:
    release = {"order_id": str(uuid.uuid4())}
    for _ in range(2):
        response = await post(inventory.client, "/reservations/release", release, key="r-1")
        assert response.json() == {**release, "status": "nothing_to_release"}


async def test_reservation_arriving_after_its_release_is_refused(inventory: Service) -> None:
    body = reservation(("product1", 1))
    await post(inventory.client, "/reservations/release", {"order_id": body["order_id"]})
    response = await post(inventory.client, "/reservations", body, key="late")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "order_compensated"
    assert await stock(inventory.client, "product1") == 1000


async def test_release_key_reused_for_another_order_is_refused(inventory: Service) -> None:
    await post(inventory.client, "/reservations/release", {"order_id": str(uuid.uuid4())})
    other = {"order_id": str(uuid.uuid4())}
    response = await post(inventory.client, "/reservations/release", other)
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "idempotency_key_reused"


async def test_stock_can_be_set_only_with_the_admin_token(inventory: Service) -> None:
    path = "/products/new-thing"
    for headers in ({}, SERVICE):
        response = await inventory.client.put(path, json={"available": 5}, headers=headers)
        assert response.status_code == 401
    await set_stock(inventory.client, "new-thing", 5)
    await set_stock(inventory.client, "new-thing", 0)
    assert await stock(inventory.client, "new-thing") == 0


@pytest.mark.parametrize("available", [-1, 1_000_000_001, "5", 1.5])
async def test_invalid_stock_level_is_refused(inventory: Service, available: object) -> None:
    response = await inventory.client.put(
        "/products/product1", json={"available": available}, headers=ADMIN
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [{"product_id": "product1", "quantity": 0}],
        [{"product_id": "product1", "quantity": 10_001}],
        [{"product_id": "product1", "quantity": "1"}],
        [{"product_id": "product1", "quantity": 1}] * 101,
    ],
)
async def test_invalid_reservation_is_refused(inventory: Service, lines: list[Any]) -> None:
    body = {"order_id": str(uuid.uuid4()), "lines": lines}
    assert (await post(inventory.client, "/reservations", body)).status_code == 422


async def reservations_of(client: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    response = await client.get("/reservations", params={"order_id": order_id}, headers=SERVICE)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.parametrize("disabled", [False, True])
async def test_idempotency_disabled_switch_makes_a_replay_reserve_again(
    serve: Serve, disabled: bool
) -> None:
    inventory = await serve(
        "inventory", create_app, InventorySettings, idempotency_disabled=disabled
    )
    body = reservation(("product1", 4))
    first = await post(inventory.client, "/reservations", body)
    replay = await post(inventory.client, "/reservations", body)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert len(await reservations_of(inventory.client, body["order_id"])) == (2 if disabled else 1)
    assert await stock(inventory.client, "product1") == (992 if disabled else 996)

    # One compensation puts back one reservation's stock: the double effect remains.
    release = {"order_id": body["order_id"]}
    for _ in range(2):
        response = await post(inventory.client, "/reservations/release", release, key="r-1")
        assert response.json()["status"] == "released"
    assert await stock(inventory.client, "product1") == (996 if disabled else 1000)


async def test_each_release_key_puts_back_one_reservation_never_more(serve: Serve) -> None:
    inventory = await serve("inventory", create_app, InventorySettings, idempotency_disabled=True)
    body = reservation(("product2", 3))
    for _ in range(2):
        await post(inventory.client, "/reservations", body)
    release = {"order_id": body["order_id"]}
    for key in ("r-1", "r-2", "r-3", "r-4"):
        response = await post(inventory.client, "/reservations/release", release, key=key)
        assert response.json()["status"] == "released"
    assert await stock(inventory.client, "product2") == 1000
    statuses = {r["status"] for r in await reservations_of(inventory.client, body["order_id"])}
    assert statuses == {"released"}


async def test_release_puts_back_only_the_named_orders_stock(inventory: Service) -> None:
    kept, released = reservation(("product5", 10)), reservation(("product5", 20))
    await post(inventory.client, "/reservations", kept, key="a")
    await post(inventory.client, "/reservations", released, key="b")
    for key in ("r-1", "r-2"):
        release = {"order_id": released["order_id"]}
        await post(inventory.client, "/reservations/release", release, key=key)
    # Reusing a release key for the other order is refused, not applied to it.
    response = await post(
        inventory.client, "/reservations/release", {"order_id": kept["order_id"]}, key="r-1"
    )
    assert response.json()["detail"]["code"] == "idempotency_key_reused"
    assert await stock(inventory.client, "product5") == 990
    [still] = await reservations_of(inventory.client, kept["order_id"])
    assert still["status"] == "reserved"
