"""``GET /admin/sagas?id_prefix=``: sagas named by the first characters of their id."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.checkout.admin.conftest import Orders
from tests.integration.checkout.conftest import ADMIN


async def ids(orders: Orders, prefix: str) -> tuple[list[str], int]:
    response = await orders.client.get("/admin/sagas", params={"id_prefix": prefix}, headers=ADMIN)
    assert response.status_code == 200, response.text
    page = response.json()
    return [item["id"] for item in page["items"]], page["total"]


def ids_starting_with(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """Every UUID made from now on starts with ``prefix``, and is still unique."""
    real = uuid.uuid4
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(prefix + real().hex[len(prefix) :]))


async def test_a_prefix_of_one_id_finds_that_saga_alone(orders: Orders) -> None:
    first = await orders.place()
    second = await orders.place()

    assert await ids(orders, first[:8]) == ([first], 1)
    assert await ids(orders, second[:13]) == ([second], 1)
    assert await ids(orders, first) == ([first], 1)


async def test_a_shared_prefix_finds_every_saga_it_starts(
    orders: Orders, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = await orders.place()
    shared = "abcd" if not other.startswith("abcd") else "dcba"
    ids_starting_with(monkeypatch, shared)
    older = await orders.place()
    newer = await orders.place()

    found, total = await ids(orders, shared)
    assert sorted(found) == sorted([older, newer])
    assert total == 2


async def test_the_prefix_is_matched_whatever_its_case(orders: Orders) -> None:
    placed = await orders.place()

    assert await ids(orders, placed[:8].upper()) == ([placed], 1)


async def test_a_prefix_no_id_starts_with_finds_nothing(orders: Orders) -> None:
    placed = await orders.place()
    absent = "0000" if not placed.startswith("0000") else "1111"

    assert await ids(orders, absent) == ([], 0)


@pytest.mark.parametrize("prefix", ["abc", "zzzz", "ab%d", "ab_d", "a" * 37])
async def test_a_prefix_too_short_too_long_or_not_hexadecimal_is_refused(
    orders: Orders, prefix: str
) -> None:
    response = await orders.client.get("/admin/sagas", params={"id_prefix": prefix}, headers=ADMIN)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "id_prefix"]]
