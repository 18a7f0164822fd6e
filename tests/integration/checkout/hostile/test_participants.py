"""Hostile input against payment, inventory and shipping: every refusal is a JSON 4xx
naming the field, nothing is stored, and the token is checked before anything else."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.integration.checkout.conftest import ADMIN, SERVICE, Service
from tests.integration.checkout.hostile.conftest import (
    EFFECT_TABLES,
    RAW,
    assert_nothing_stored,
    assert_refused,
    raw_json,
)
from tests.support.keys import keyed

ADDRESS = {
    "street": "1 Main St",
    "city": "Cityville",
    "state": "State",
    "postal_code": "12345",
    "country": "Country",
}


def valid_body(service: str) -> dict[str, Any]:
    order_id = str(uuid.uuid4())
    if service == "payment":
        return {
            "order_id": order_id,
            "customer_id": "c1",
            "amount": "10.00",
            "payment_method": "paypal",
        }
    if service == "inventory":
        return {"order_id": order_id, "lines": [{"product_id": "product1", "quantity": 1}]}
    return {"order_id": order_id, "address": dict(ADDRESS)}


FORWARD = {"payment": "/payments", "inventory": "/reservations", "shipping": "/shipments"}
COMPENSATE = {
    "payment": "/payments/refunds",
    "inventory": "/reservations/release",
    "shipping": "/shipments/cancel",
}
LIST = {"payment": "/payments", "inventory": "/reservations", "shipping": "/shipments"}

NUMBERS = ["-1", "0", "-0.01", "1e30", "1e309", "-1e309", "NaN", "Infinity", "-Infinity"]
NUMBERS += ["1.001", "true", "null", "[]", "{}", "1" + "0" * 4000]
STRINGS = ['""', '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udfff x"', f'"{"x" * 10_000}"']
STRINGS += ["1", "null", "[]", '{"$ne": 1}']
ORDER_IDS = ['"not-a-uuid"', '"../../etc/passwd"', '"x\'); DROP TABLE payments;--"', "1"]
ORDER_IDS += ['"\\u0000"', '"\\ud800"']

# (service, path to the field in the body, raw JSON values for it)
FIELD_CASES: list[tuple[str, tuple[str | int, ...], list[str]]] = [
    ("payment", ("amount",), NUMBERS),
    ("payment", ("customer_id",), STRINGS),
    ("payment", ("payment_method",), [*STRINGS, '"cash"', '"PAYPAL"']),
    ("payment", ("order_id",), ORDER_IDS),
    ("inventory", ("lines", 0, "quantity"), [*NUMBERS, '"1"', "1.5", "10001", "9" * 20]),
    ("inventory", ("lines", 0, "product_id"), STRINGS),
    ("inventory", ("lines",), ["[]", "null", '"product1"', "{}"]),
    ("inventory", ("order_id",), ORDER_IDS),
    ("shipping", ("address", "street"), STRINGS),
    ("shipping", ("address", "country"), STRINGS),
    ("shipping", ("address",), ['""', "null", "[]"]),
    ("shipping", ("order_id",), ORDER_IDS),
]


def _set(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def _cases() -> list[Any]:
    cases = []
    for service, path, values in FIELD_CASES:
        for value in values:
            label = f"{service}-{'.'.join(map(str, path))}={value[:20]}"
            cases.append(pytest.param(service, path, value, id=label))
    return cases


async def post(
    client: httpx.AsyncClient, path: str, content: bytes, **headers: str
) -> httpx.Response:
    return await client.post(
        path,
        content=content,
        headers={**SERVICE, **keyed("k-1"), "Content-Type": "application/json"} | headers,
    )


@pytest.mark.parametrize(("service", "path", "value"), _cases())
async def test_hostile_field_value_is_refused_with_422_naming_it(
    running: Service, service: str, path: tuple[str | int, ...], value: str
) -> None:
    body = raw_json(_set(valid_body(service), path, RAW), value)
    response = await post(running.client, FORWARD[service], body)
    assert_refused(response, str(path[-1]) if isinstance(path[-1], str) else str(path[-2]))
    await assert_nothing_stored(running.database, EFFECT_TABLES[service])


@pytest.mark.parametrize("service", list(FORWARD))
@pytest.mark.parametrize(
    "case",
    ["missing", "extra", "invalid_json", "text_plain", "form", "empty", "array", "bad_utf8"],
)
async def test_malformed_body_is_refused(running: Service, service: str, case: str) -> None:
    body = valid_body(service)
    field: str | None = "body"
    content_type = "application/json"
    if case == "missing":
        field = next(iter(body))
        content = raw_json({k: v for k, v in body.items() if k != field})
    elif case == "extra":
        content, field = raw_json({**body, "admin": True}), "admin"
    elif case == "invalid_json":
        content = raw_json(body)[:-3]
    elif case == "text_plain":
        content, content_type = raw_json(body), "text/plain"
    elif case == "form":
        content, content_type = b"order_id=x&amount=1", "application/x-www-form-urlencoded"
    elif case == "empty":
        content = b""
    elif case == "array":
        content = b"[]"
    else:
        content = raw_json(_set(body, ("order_id",), RAW), b'"\xff\xfe"')
        field = None
    response = await post(
        running.client, FORWARD[service], content, **{"Content-Type": content_type}
    )
    assert 400 <= response.status_code < 500, response.text
    assert_refused(response, field, status=response.status_code)
    await assert_nothing_stored(running.database, EFFECT_TABLES[service])


@pytest.mark.parametrize("service", list(FORWARD))
async def test_a_number_too_long_to_parse_is_a_400(running: Service, service: str) -> None:
    # Python's JSON parser refuses integers over 4300 digits before validation runs,
    # so the refusal is FastAPI's 400 "error parsing the body", without a field.
    path = ("amount",) if service == "payment" else ("order_id",)
    body = raw_json(_set(valid_body(service), path, RAW), "1" + "0" * 5000)
    response = await post(running.client, FORWARD[service], body)
    assert_refused(response, None, status=400)
    await assert_nothing_stored(running.database, EFFECT_TABLES[service])


@pytest.mark.parametrize("service", list(FORWARD))
async def test_ten_megabyte_body_is_refused_with_413(running: Service, service: str) -> None:
    body = valid_body(service) | {"padding": "x" * 10_000_000}
    response = await post(running.client, FORWARD[service], raw_json(body))
    assert_refused(response, None, status=413)
    await assert_nothing_stored(running.database, EFFECT_TABLES[service])


async def test_ten_thousand_reservation_lines_are_refused(inventory: Service) -> None:
    lines = [{"product_id": "product1", "quantity": 1}] * 10_000
    body = {"order_id": str(uuid.uuid4()), "lines": lines}
    response = await post(inventory.client, "/reservations", raw_json(body))
    assert_refused(response, "lines")
    await assert_nothing_stored(inventory.database, EFFECT_TABLES["inventory"])


async def test_duplicate_reservation_lines_take_their_sum_once(inventory: Service) -> None:
    lines = [{"product_id": "product7", "quantity": 2}, {"product_id": "product7", "quantity": 3}]
    body = {"order_id": str(uuid.uuid4()), "lines": lines}
    response = await post(inventory.client, "/reservations", raw_json(body))
    assert response.status_code == 201
    assert response.json()["lines"] == [{"product_id": "product7", "quantity": 5}]
    assert (await inventory.client.get("/products/product7")).json()["available"] == 995


@pytest.mark.parametrize(
    "text",
    ["\u202eevil", "zero\u200bwidth", "x'); DROP TABLE shipments;--", "ü" * 200, "🙂" * 50],
)
async def test_odd_but_valid_text_is_stored_literally(shipping: Service, text: str) -> None:
    body = valid_body("shipping")
    body["address"]["street"] = text
    response = await post(shipping.client, "/shipments", raw_json(body))
    assert response.status_code == 201, response.text
    async with shipping.database.reading() as connection:
        stored = await connection.scalar(
            sa.text("SELECT street FROM shipments WHERE order_id = :order_id"),
            {"order_id": body["order_id"]},
        )
    assert stored == text


@pytest.mark.parametrize("service", list(FORWARD))
@pytest.mark.parametrize("kind", ["forward", "compensate", "list"])
@pytest.mark.parametrize(
    "headers",
    [{}, ADMIN, {"Authorization": "Bearer "}, {"Authorization": "Basic x"}],
    ids=["none", "admin-token", "empty-bearer", "basic"],
)
async def test_token_is_checked_before_the_request_is_validated(
    running: Service, service: str, kind: str, headers: dict[str, str]
) -> None:
    hostile = {"Idempotency-Key": "", "Content-Type": "text/plain", **headers}
    if kind == "list":
        response = await running.client.get(
            LIST[service], params={"order_id": "../x"}, headers=headers
        )
    else:
        path = FORWARD[service] if kind == "forward" else COMPENSATE[service]
        response = await running.client.post(path, content=b"{\x00", headers=hostile)
    assert_refused(response, None, status=401)
    assert response.headers["www-authenticate"] == "Bearer"
    await assert_nothing_stored(running.database, EFFECT_TABLES[service])


@pytest.mark.parametrize("headers", [{}, SERVICE], ids=["none", "service-token"])
async def test_admin_endpoints_refuse_the_service_token(
    inventory: Service, headers: dict[str, str]
) -> None:
    response = await inventory.client.put(
        "/products/product1", json={"available": 0}, headers=headers
    )
    assert_refused(response, None, status=401)
    assert (await inventory.client.get("/products/product1")).json()["available"] == 1000


@pytest.mark.parametrize("service", list(FORWARD))
@pytest.mark.parametrize(
    "body",
    [
        {"order_id": "nope"},
        {"order_id": str(uuid.uuid4()), "amount": "1.00", "lines": [], "extra": 1},
        {},
    ],
)
async def test_compensation_with_a_hostile_body_is_refused(
    running: Service, service: str, body: dict[str, Any]
) -> None:
    response = await post(running.client, COMPENSATE[service], raw_json(body))
    assert_refused(response, None)
    await assert_nothing_stored(running.database, EFFECT_TABLES[service])


@pytest.mark.parametrize("amount", ["NaN", "1e309", "-5", "0", "10.001", "1e30"])
async def test_refund_with_a_hostile_amount_is_refused(payment: Service, amount: str) -> None:
    body = {"order_id": str(uuid.uuid4()), "amount": RAW}
    response = await post(payment.client, "/payments/refunds", raw_json(body, amount))
    assert_refused(response, "amount")
    await assert_nothing_stored(payment.database, EFFECT_TABLES["payment"])


@pytest.mark.parametrize(
    "path",
    [
        "/products/..%2f..%2fetc%2fpasswd",
        "/products/%00",
        "/products/x%00y",
        "/products/%ed%a0%80",
        "/products/" + "p" * 201,
        "/products/' OR '1'='1",
    ],
)
async def test_odd_product_paths_are_a_json_4xx(inventory: Service, path: str) -> None:
    response = await inventory.client.get(path)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("service", list(LIST))
@pytest.mark.parametrize("order_id", ["not-a-uuid", "../../etc/passwd", "\x00", "' OR 1=1 --"])
async def test_list_with_a_hostile_order_id_is_refused(
    running: Service, service: str, order_id: str
) -> None:
    response = await running.client.get(
        LIST[service], params={"order_id": order_id}, headers=SERVICE
    )
    assert_refused(response, "order_id")
