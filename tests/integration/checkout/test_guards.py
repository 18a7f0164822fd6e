"""Auth, body limits and fault injection, exercised through the payment app."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from checkout.common.faults import FaultInjector
from checkout.payment.app import create_app
from checkout.payment.settings import PaymentSettings
from tests.integration.checkout.conftest import ADMIN, SERVICE, SERVICE_TOKEN, Serve, Service
from tests.support.keys import keyed

FAULTS = {"error_rate": 0, "timeout_rate": 0, "fail_after_commit_rate": 0, "latency_ms": 0}


def charge(order_id: str) -> dict[str, str]:
    return {
        "order_id": order_id,
        "customer_id": "c",
        "amount": "5.00",
        "payment_method": "paypal",
    }


class Draws:
    """A random source that returns the given draws in order."""

    def __init__(self, *draws: float) -> None:
        self.draws: Iterator[float] = iter(draws)

    def __call__(self) -> float:
        return next(self.draws)


@pytest.fixture
async def payment(serve: Serve) -> Service:
    return await serve("payment", create_app, PaymentSettings, max_body_bytes=1000)


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def service(serve: Serve, sleeps: Sleeps) -> Service:
    # three requests: (no error, timeout, kept), (error), (no error, no timeout, lost)
    draws = Draws(0.9, 0.1, 0.9, 0.1, 0.9, 0.9, 0.1)
    injector = FaultInjector(random_source=draws, sleep=sleeps)
    return await serve("payment", create_app, PaymentSettings, faults_enabled=True, faults=injector)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, ADMIN, {"Authorization": SERVICE_TOKEN}],
)
async def test_missing_or_wrong_token_answers_401_before_the_body_is_read(
    payment: Service, headers: dict[str, str]
) -> None:
    response = await payment.client.post(
        "/payments",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "wrong" not in response.text and SERVICE_TOKEN not in response.text


async def test_listing_needs_the_service_token(payment: Service) -> None:
    params = {"order_id": str(uuid.uuid4())}
    assert (await payment.client.get("/payments", params=params)).status_code == 401
    assert (await payment.client.get("/payments", params=params, headers=ADMIN)).status_code == 401


async def test_declared_body_over_the_limit_answers_413(payment: Service) -> None:
    response = await payment.client.post("/payments", content=b"x" * 1001, headers=SERVICE)
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]


async def test_streamed_body_over_the_limit_answers_413(payment: Service) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b"x" * 100

    response = await payment.client.post("/payments", content=chunks(), headers=SERVICE)
    assert response.status_code == 413


async def test_fault_routes_do_not_exist_unless_enabled(payment: Service) -> None:
    assert (await payment.client.get("/admin/faults", headers=ADMIN)).status_code == 404


async def test_fault_settings_need_the_admin_token(
    service: Service,
) -> None:
    assert (await service.client.get("/admin/faults", headers=SERVICE)).status_code == 401
    response = await service.client.put("/admin/faults", json=FAULTS, headers=SERVICE)
    assert response.status_code == 401


async def test_faults_inject_errors_timeouts_and_failures_after_commit(
    service: Service, sleeps: Sleeps
) -> None:
    settings = {**FAULTS, "error_rate": 0.5, "timeout_rate": 0.5, "fail_after_commit_rate": 0.5}
    configured = await service.client.put("/admin/faults", json=settings, headers=ADMIN)
    assert configured.status_code == 200
    headers = {**SERVICE, **keyed("k")}
    order_id = str(uuid.uuid4())

    # draws 0.9 (no error), 0.1 (timeout: hang, then act), 0.9 (no failure after commit)
    hung = await service.client.post("/payments", json=charge(order_id), headers=headers)
    assert hung.status_code == 201 and sleeps.seconds == [30.0]
    # draws 0.1: error before acting
    errored = await service.client.post(
        "/payments", json=charge(str(uuid.uuid4())), headers=SERVICE | keyed("e")
    )
    assert errored.status_code == 500
    # draws 0.9, 0.9, 0.1: acts, then the answer is lost
    lost_id = str(uuid.uuid4())
    lost = await service.client.post(
        "/payments", json=charge(lost_id), headers=SERVICE | keyed("l")
    )
    assert lost.status_code == 500
    listed = await service.client.get("/payments", params={"order_id": lost_id}, headers=SERVICE)
    assert len(listed.json()["items"]) == 1

    report = (await service.client.get("/admin/faults", headers=ADMIN)).json()
    assert report["injected"] == {
        "latency": 0,
        "error": 1,
        "timeout": 1,
        "fail_after_commit": 1,
    }
    assert report["error_rate"] == 0.5


async def test_fault_settings_are_validated(service: Service) -> None:
    for bad in ({**FAULTS, "error_rate": 1.5}, {**FAULTS, "latency_ms": 60_001}, {"x": 1}):
        response = await service.client.put("/admin/faults", json=bad, headers=ADMIN)
        assert response.status_code == 422
