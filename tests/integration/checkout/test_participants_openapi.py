"""Each participant's OpenAPI document lists the errors its operations can answer.

Which operations need a token is found by asking the app: every documented operation
is sent without a token and with a wrong one, on a database that cannot be opened, so
nothing past the token check can succeed. The 401s it answers must be the 401s it
documents, both ways.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from checkout.inventory.app import create_app as inventory_app
from checkout.inventory.settings import InventorySettings
from checkout.payment.app import create_app as payment_app
from checkout.payment.settings import PaymentSettings
from checkout.shipping.app import create_app as shipping_app
from checkout.shipping.settings import ShippingSettings
from sagakit.http import DEADLINE_HEADER, IDEMPOTENCY_HEADER, KEY_ISSUED_HEADER
from tests.integration.checkout.conftest import ADMIN_TOKEN, SERVICE_TOKEN

PARTICIPANTS: dict[str, tuple[Callable[..., FastAPI], Callable[..., Any]]] = {
    "payment": (payment_app, PaymentSettings),
    "inventory": (inventory_app, InventorySettings),
    "shipping": (shipping_app, ShippingSettings),
}
LIVENESS = "/health"
"""Answers from the process alone, never from the database: it cannot answer 503."""
NO_TOKENS: list[dict[str, str]] = [{}, {"Authorization": "Bearer not-a-token"}]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    document: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def documents(self, status: int) -> bool:
        return str(status) in self.document["responses"]

    def takes_a_path_id(self) -> bool:
        return any(p["in"] == "path" for p in self.document.get("parameters", []))

    def body_model(self, status: int) -> str | None:
        """The name of the JSON body model documented for ``status``, if any."""
        content = self.document["responses"][str(status)].get("content", {})
        ref: str | None = content.get("application/json", {}).get("schema", {}).get("$ref")
        return None if ref is None else ref.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Participant:
    client: httpx.AsyncClient
    operations: list[Operation]


@pytest.fixture(params=list(PARTICIPANTS))
async def participant(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Participant]:
    """The participant's app on a database that cannot be opened: its folder is a file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    create_app, settings = PARTICIPANTS[request.param]
    app = create_app(
        settings(
            service_token=SERVICE_TOKEN,
            admin_token=ADMIN_TOKEN,
            database_url=f"sqlite+aiosqlite:///{blocker}/{request.param}.db",
        )
    )
    operations = [
        Operation(method.upper(), path, document)
        for path, methods in app.openapi()["paths"].items()
        for method, document in methods.items()
    ]
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://participant") as client,
    ):
        yield Participant(client, operations)


async def answers_401(
    client: httpx.AsyncClient, operation: Operation, auth: dict[str, str]
) -> bool:
    path = operation.path.replace("{product_id}", "product1")
    response = await client.request(operation.method, path, headers=auth)
    return response.status_code == 401


@pytest.mark.parametrize("auth", NO_TOKENS, ids=["no token", "wrong token"])
async def test_the_operations_that_refuse_a_caller_without_the_token_are_those_documenting_401(
    participant: Participant, auth: dict[str, str]
) -> None:
    refused = {
        str(op) for op in participant.operations if await answers_401(participant.client, op, auth)
    }

    documented = {str(op) for op in participant.operations if op.documents(401)}

    assert refused
    assert refused == documented


async def test_every_401_has_the_message_body(participant: Participant) -> None:
    guarded = [op for op in participant.operations if op.documents(401)]

    assert {op.body_model(401) for op in guarded} == {"Message"}


async def test_every_operation_that_looks_up_its_path_id_documents_404(
    participant: Participant,
) -> None:
    # A PUT creates what its path names: only the other methods can find it unknown.
    by_id = [op for op in participant.operations if op.takes_a_path_id() and op.method != "PUT"]

    assert [str(op) for op in by_id if not op.documents(404)] == []


async def test_every_operation_that_uses_the_database_documents_503_with_retry_after(
    participant: Participant,
) -> None:
    served = [op for op in participant.operations if op.path != LIVENESS]

    assert [str(op) for op in served if not op.documents(503)] == []
    assert {op.body_model(503) for op in served} == {"BusinessRefusal"}
    assert all("Retry-After" in op.document["responses"]["503"]["headers"] for op in served)


async def test_every_error_an_operation_documents_has_a_json_body_model(
    participant: Participant,
) -> None:
    errors = [
        f"{op} {status}"
        for op in participant.operations
        for status in op.document["responses"]
        if int(status) >= 400 and op.body_model(int(status)) is None
    ]

    assert errors == []


def header_parameters(operation: Operation) -> dict[str, bool]:
    """The operation's header parameters, and whether each is required."""
    return {
        parameter["name"]: parameter.get("required", False)
        for parameter in operation.document.get("parameters", [])
        if parameter["in"] == "header"
    }


ORCHESTRATED = {
    "POST /payments",
    "POST /payments/refunds",
    "POST /reservations",
    "POST /reservations/release",
    "POST /shipments",
    "POST /shipments/cancel",
}


async def test_every_operation_under_an_idempotency_key_documents_410_and_the_keys_times(
    participant: Participant,
) -> None:
    keyed = [op for op in participant.operations if IDEMPOTENCY_HEADER in header_parameters(op)]

    assert keyed
    assert [str(op) for op in keyed if not op.documents(410)] == []
    assert {op.body_model(410) for op in keyed} == {"BusinessRefusal"}
    for op in keyed:
        times = {KEY_ISSUED_HEADER, DEADLINE_HEADER}
        required = {name for name, needed in header_parameters(op).items() if needed}
        assert times <= set(header_parameters(op)), str(op)
        assert (times <= required) == (str(op) in ORCHESTRATED), str(op)
