"""Hostile input against the order service: refused before anything is stored (a JSON
4xx naming the field), or stored and echoed literally, never executed."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from checkout.orders.schemas import MAX_ITEMS
from tests.integration.checkout.conftest import ADMIN, SERVICE, Service
from tests.integration.checkout.hostile.conftest import (
    EFFECT_TABLES,
    RAW,
    assert_nothing_stored,
    assert_refused,
    raw_json,
    row_count,
)

TABLES = EFFECT_TABLES["orders"]


def order(**changes: Any) -> dict[str, Any]:
    body = {
        "customer_id": "cust123",
        "items": [{"product_id": "product1", "name": "Product 1", "price": 10.0, "quantity": 2}],
        "shipping_address": {
            "street": "123 Main St",
            "city": "Cityville",
            "state": "State",
            "postal_code": "12345",
            "country": "Country",
        },
        "payment_method": "credit_card",
    }
    return {**body, **changes}


def with_raw(path: tuple[str | int, ...], value: str | bytes) -> bytes:
    body = copy.deepcopy(order())
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = RAW
    return raw_json(body, value)


async def place(client: httpx.AsyncClient, content: bytes, **headers: str) -> httpx.Response:
    return await client.post(
        "/orders", content=content, headers={"Content-Type": "application/json", **headers}
    )


NUMBERS = ["-1", "0", "-0", "1e30", "1e309", "-1e309", "NaN", "Infinity", "-Infinity"]
NUMBERS += ["true", "null", "[]", "{}", '"ten"']
TEXT = ['""', "null", "1", '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"x\\udc00"', '"\\u0007"']
TEXT += [f'"{"x" * 10_000}"', '"   "']

FIELD_CASES: list[tuple[tuple[str | int, ...], list[str]]] = [
    (("items", 0, "quantity"), [*NUMBERS, '"2"', "1.5", "10001", "9" * 30]),
    (("items", 0, "price"), [*NUMBERS, "10.001", "1000000.01"]),
    (("items", 0, "product_id"), TEXT),
    (("items", 0, "name"), TEXT),
    (("items",), ["[]", "null", "{}", '"product1"']),
    (("customer_id",), [*TEXT, '"\\u202eevil"', '"zero\\u200bwidth"']),
    (("payment_method",), [*TEXT, '"cash"']),
    (("shipping_address",), ["null", '""', "[]"]),
    (("shipping_address", "street"), TEXT),
    (("shipping_address", "postal_code"), [*TEXT, f'"{"9" * 21}"']),
    (("shipping_address", "country"), [*TEXT, '"X"']),
]


def _cases() -> list[Any]:
    return [
        pytest.param(path, value, id=f"{'.'.join(map(str, path))}={value[:20]}")
        for path, values in FIELD_CASES
        for value in values
    ]


def _field(path: tuple[str | int, ...]) -> str:
    return next(str(step) for step in reversed(path) if isinstance(step, str))


@pytest.mark.parametrize(("path", "value"), _cases())
async def test_hostile_field_value_is_refused_with_422_naming_it(
    orders: Service, path: tuple[str | int, ...], value: str
) -> None:
    response = await place(orders.client, with_raw(path, value))
    assert_refused(response, _field(path))
    await assert_nothing_stored(orders.database, TABLES)


@pytest.mark.parametrize(
    "case",
    [
        *("missing", "extra", "extra_item_field", "invalid_json", "text_plain", "form"),
        *("empty", "array", "bad_utf8", "ten_thousand_items", "too_many_items"),
        "total_too_large",
    ],
)
async def test_malformed_order_is_refused(orders: Service, case: str) -> None:
    body = order()
    field: str | None = "body"
    content_type = "application/json"
    if case == "missing":
        del body["shipping_address"]
        content, field = raw_json(body), "shipping_address"
    elif case == "extra":
        content, field = raw_json({**body, "status": "completed"}), "status"
    elif case == "extra_item_field":
        body["items"][0]["discount"] = "100%"
        content, field = raw_json(body), "discount"
    elif case == "invalid_json":
        content = raw_json(body)[:-2]
    elif case == "text_plain":
        content, content_type = raw_json(body), "text/plain"
    elif case == "form":
        content, content_type = b"customer_id=x&items=1", "application/x-www-form-urlencoded"
    elif case == "empty":
        content = b""
    elif case == "array":
        content = b"[" + raw_json(body) + b"]"
    elif case == "bad_utf8":
        content, field = with_raw(("customer_id",), b'"\xc3\x28"'), None
    elif case in ("ten_thousand_items", "too_many_items"):
        count = 10_000 if case == "ten_thousand_items" else MAX_ITEMS + 1
        content, field = raw_json(order(items=body["items"] * count)), "items"
    else:
        item = {**body["items"][0], "price": "1000000.00", "quantity": 10_000}
        content = raw_json(order(items=[item] * 2))
    response = await place(orders.client, content, **{"Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert_refused(response, field, status=response.status_code)
    await assert_nothing_stored(orders.database, TABLES)


async def test_ten_megabyte_order_is_refused_with_413(orders: Service) -> None:
    body = order(padding="x" * 10_000_000)
    response = await place(orders.client, raw_json(body))
    assert_refused(response, None, status=413)
    await assert_nothing_stored(orders.database, TABLES)


@pytest.mark.parametrize(
    "headers",
    [{"Idempotency-Key": ""}, {"Idempotency-Key": "k" * 201}, {"Prefer": "wait=" + "9" * 300}],
)
async def test_hostile_headers_are_refused(orders: Service, headers: dict[str, str]) -> None:
    response = await place(orders.client, raw_json(order()), **headers)
    assert_refused(response, next(iter(headers)))
    await assert_nothing_stored(orders.database, TABLES)


SQL = "x'); DROP TABLE orders;--"


async def test_sql_looking_text_is_stored_and_echoed_literally(orders: Service) -> None:
    body = order(customer_id=SQL)
    body["items"][0]["name"] = "Robert'); DROP TABLE order_items;--"
    body["items"][0]["product_id"] = "' OR '1'='1"
    body["shipping_address"]["street"] = '"; DELETE FROM sagas WHERE 1=1; --'
    placed = await place(orders.client, raw_json(body))
    assert placed.status_code == 201, placed.text
    echoed = placed.json()
    assert echoed["customer_id"] == SQL
    assert echoed["items"][0]["name"] == body["items"][0]["name"]
    assert echoed["items"][0]["product_id"] == "' OR '1'='1"
    assert echoed["shipping_address"]["street"] == body["shipping_address"]["street"]

    listed = await orders.client.get("/orders", params={"customer_id": SQL}, headers=ADMIN)
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["items"]] == [echoed["id"]]
    fetched = await orders.client.get(f"/orders/{echoed['id']}")
    assert fetched.json()["customer_id"] == SQL
    # The tables are all still there and still work.
    other = await place(orders.client, raw_json(order()))
    assert other.status_code == 201
    assert {table: await row_count(orders.database, table) for table in TABLES} == {
        "orders": 2,
        "order_items": 2,
        "sagakit_sagas": 2,
    }


@pytest.mark.parametrize(
    "text", ["Right\u202eto-left", "zero\u200bwidth", "Ünïcødé 🙂", "名前" * 100]
)
async def test_odd_but_valid_names_are_echoed_literally(orders: Service, text: str) -> None:
    body = order()
    body["items"][0]["name"] = text
    placed = await place(orders.client, raw_json(body))
    assert placed.status_code == 201, placed.text
    assert placed.json()["items"][0]["name"] == text


async def test_duplicate_product_lines_are_kept_as_sent(orders: Service) -> None:
    line = order()["items"][0]
    placed = await place(orders.client, raw_json(order(items=[line, line])))
    assert placed.status_code == 201
    answer = placed.json()
    assert [item["product_id"] for item in answer["items"]] == ["product1", "product1"]
    assert answer["total"] == "40.00"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/orders/../../etc/passwd", 404),
        ("/orders/%2e%2e%2f", 404),
        ("/orders/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 404),
        ("/orders/not-a-uuid", 422),
        ("/orders/%00", 422),
        ("/orders/%ed%a0%80", 422),
        ("/orders/' OR '1'='1", 422),
        ("/orders/" + "a" * 10_000, 422),
        ("/orders/00000000-0000-0000-0000-000000000000", 404),
    ],
)
async def test_odd_order_paths_are_a_json_4xx(orders: Service, path: str, status: int) -> None:
    response = await orders.client.get(path)
    assert_refused(response, "order_id", status=status)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"customer_id": "\x00"}, "customer_id"),
        ({"customer_id": "x" * 201}, "customer_id"),
        ({"customer_id": "c", "status": "shipped"}, "status"),
        ({"customer_id": "c", "limit": "-1"}, "limit"),
        ({"customer_id": "c", "limit": "1e309"}, "limit"),
        ({"customer_id": "c", "offset": "NaN"}, "offset"),
        ({"customer_id": "c", "offset": "9" * 30}, "offset"),
        ({"customer_id": "c", "sort": "id; DROP TABLE orders"}, "sort"),
    ],
)
async def test_hostile_list_filters_are_refused(
    orders: Service, params: dict[str, str], field: str
) -> None:
    response = await orders.client.get("/orders", params=params, headers=ADMIN)
    assert_refused(response, field)


@pytest.mark.parametrize(
    "headers",
    [{}, SERVICE, {"Authorization": "Bearer "}, {"Authorization": f"Basic {ADMIN}"}],
    ids=["none", "service-token", "empty-bearer", "basic"],
)
async def test_listing_everyones_orders_needs_the_admin_token(
    orders: Service, headers: dict[str, str]
) -> None:
    response = await orders.client.get("/orders", headers=headers)
    assert_refused(response, None, status=401)
    assert (await orders.client.get("/orders", headers=ADMIN)).status_code == 200
