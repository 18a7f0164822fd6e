"""The chaos run counts what its customers were answered, and fails on a 5xx that is
not a 503: an outage must be said as "unavailable, come back", never as a crash."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx

from checkout.books import Books
from checkout.chaos.clients import ClientCounts
from checkout.chaos.config import ChaosResult
from checkout.chaos.load import PlannedOrder, place
from checkout.chaos.report import report_lines

ORDER = PlannedOrder("ok", {"items": []}, "key-1")


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


class Outage:
    """An order service that goes through an outage: refused, 503, 500, then serves."""

    def __init__(self) -> None:
        self.answers: Iterator[httpx.Response | None] = iter(
            [
                None,  # the connection is refused
                httpx.Response(503, headers={"Retry-After": "2"}, json={"detail": "down"}),
                httpx.Response(500, text="Internal Server Error"),
                httpx.Response(201, json={"id": "order-1"}),
            ]
        )
        self.keys: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers["Idempotency-Key"])
        answer = next(self.answers)
        if answer is None:
            raise httpx.ConnectError("refused", request=request)
        return answer


async def test_an_order_is_sent_again_through_an_outage_and_every_answer_counted() -> None:
    service, waits = Outage(), Waits()
    counts = ClientCounts(names={"http://orders": "orders"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(service)) as client:
        placed = await place(
            client,
            ORDER,
            lambda: ["http://orders"],
            rng=random.Random(1),
            counts=counts,
            sleep=waits,
        )

    assert placed["id"] == "order-1"
    assert service.keys == ["key-1"] * 4
    assert waits.seconds == [0.2, 2.0, 0.2]  # the 503's Retry-After is honoured
    assert (counts.connection_errors, counts.unavailable, counts.other_server_errors) == (1, 1, 1)
    assert counts.of_class(2) == 1
    assert counts.failures == {"ConnectError": 1}
    assert list(counts.server_errors) == ["orders answered 500: Internal Server Error"]


def result_with(counts: ClientCounts) -> ChaosResult:
    return ChaosResult(
        sagas=1,
        kills=0,
        pauses=0,
        faults=0,
        late_deliveries=0,
        restocks=0,
        books=Books(),
        clients=counts,
    )


def test_a_run_whose_clients_saw_only_503s_and_refusals_passes() -> None:
    counts = ClientCounts(connection_errors=12, timeouts=1)
    counts.statuses.update({201: 10, 503: 40, 409: 2})

    result = result_with(counts)

    assert not result.failed
    assert result.summary().endswith("0 violations, 0 server errors (5xx other than 503)")
    assert result.clients.summary() == (
        "clients: 10 × 2xx, 2 × 4xx, 40 × 503, 0 × other 5xx (0 × 500), "
        "12 connection errors, 1 timeouts"
    )


def test_a_single_500_fails_a_run_whose_books_are_straight() -> None:
    counts = ClientCounts(names={"http://o": "orders-2"})
    counts.answered("http://o", httpx.Response(500, text="Internal Server Error"))

    result = result_with(counts)

    assert result.violations == []
    assert result.failed
    assert any(
        line.startswith("  server error: orders-2 answered 500: Internal Server Error (×1")
        for line in report_lines(result)
    )
    assert result.summary().endswith("1 server errors (5xx other than 503)")


def test_a_502_fails_the_run_too() -> None:
    counts = ClientCounts()
    counts.answered("http://o", httpx.Response(502, text="Bad Gateway"))

    assert result_with(counts).failed
