"""A soak customer against a mocked order service: it sends the same order again when
told to come back, waits for it to be final, and says what it should not have seen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx

from checkout.bench.soak.customers import Outcome, Tally, place_until_final

URL = "http://orders.test"


class Clock:
    """Time that passes only when the customer sleeps: no test waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def order(status: str) -> dict[str, str]:
    return {"id": "o-1", "status": status}


def service(
    answers: Iterator[httpx.Response], seen: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    return answer


async def place(
    *answers: httpx.Response, patience: float = 60.0
) -> tuple[Outcome, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    clock = Clock()
    transport = httpx.MockTransport(service(iter(answers), seen))
    async with httpx.AsyncClient(transport=transport) as client:
        outcome = await place_until_final(
            client, URL, 7, patience=patience, clock=clock, sleep=clock.sleep
        )
    return outcome, seen


async def test_a_busy_service_is_sent_the_same_order_again() -> None:
    outcome, seen = await place(httpx.Response(503), httpx.Response(201, json=order("completed")))

    assert outcome == Outcome(order_id="o-1", status="completed", retried=1)
    assert [r.headers["Idempotency-Key"] for r in seen] == ["soak-7", "soak-7"]
    assert json.loads(seen[0].content) == json.loads(seen[1].content)


async def test_an_order_still_pending_is_waited_for_until_final() -> None:
    outcome, seen = await place(
        httpx.Response(201, json=order("pending")),
        httpx.Response(200, json=order("cancelled")),
    )

    assert outcome.status == "cancelled"
    assert (seen[1].method, seen[1].url.path) == ("GET", "/orders/o-1")
    assert seen[1].headers["Prefer"] == "wait=30"


async def test_a_server_error_is_retried_and_reported() -> None:
    outcome, _ = await place(httpx.Response(500), httpx.Response(201, json=order("completed")))

    assert outcome.status == "completed"
    assert outcome.unexpected == ("500: ",)


async def test_a_refused_order_is_reported_and_not_sent_again() -> None:
    outcome, seen = await place(httpx.Response(422, json={"detail": "no"}))

    assert (outcome.order_id, outcome.status, len(seen)) == (None, "unanswered", 1)
    assert outcome.unexpected[0].startswith("order 7: 422")


async def test_an_order_never_final_is_given_up_when_patience_runs_out() -> None:
    busy = (httpx.Response(503) for _ in range(1000))

    outcome, _ = await place(httpx.Response(201, json=order("pending")), *busy, patience=10)

    assert (outcome.order_id, outcome.status) == ("o-1", "pending")
    assert outcome.unexpected == ("order 7: not final after 10s",)


def test_a_row_takes_the_latencies_since_the_last_while_the_books_keep_every_order() -> None:
    tally = Tally()
    tally.record(0, Outcome(order_id="a", status="completed", retried=2), 0.1)
    first = tally.take()
    tally.record(1, Outcome(order_id="b", status="cancelled"), 0.2)

    assert first == ((0.1,), 2)
    assert tally.take() == ((0.2,), 0)
    assert tally.finished == 2
    assert tally.statuses == {"a": "completed", "b": "cancelled"}
    assert tally.indexes == {"a": 0, "b": 1}
