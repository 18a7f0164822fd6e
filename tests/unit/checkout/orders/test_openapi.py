"""The order service's OpenAPI document lists what each operation can really answer.

The statuses come from the app, not from a list kept beside it: every documented
operation is called with a wrong token, and one that refuses it must document 401; a
path naming a resource answers 404 when there is none; a body can be too large (413) or
invalid (422); and the outage middleware answers 503 on every route that reads the
database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from checkout.orders.app import create_app
from checkout.orders.settings import OrdersSettings

NO_DATABASE = {("GET", "/health")}
"""Answered by the process alone: no database outage can reach them."""
ERROR_MODELS = {
    "#/components/schemas/Message",
    "#/components/schemas/BusinessRefusal",
    "#/components/schemas/Unprocessable",
    # The admin routes are sagakit's: its refusals have the same shape under their own name.
    "#/components/schemas/Refusal",
}
SVG_ROUTE = ("GET", "/admin/sagas/{saga_id}/timeline.svg")
SOME_ID = "3f2a9c1e-7b4d-4e2a-9c1e-7b4d4e2a9c1e"

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # Nothing connects to the database until the app starts, and it is never started:
    # the document needs none, and a token is checked before any route reads one.
    settings = OrdersSettings(
        service_token="service", admin_token="admin", database_url="sqlite+aiosqlite:///unused"
    )
    return create_app(settings)


def operations(app: FastAPI) -> Iterator[Operation]:
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


async def refuses_a_wrong_token(app: FastAPI, method: str, path: str) -> bool:
    url = path.replace("{order_id}", SOME_ID).replace("{saga_id}", SOME_ID)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://orders") as client:
        response = await client.request(
            method, url, headers={"Authorization": "Bearer wrong-token"}, json={}
        )
    return response.status_code == 401


def error_model(operation: dict[str, Any], status: str) -> str:
    reference: str = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return reference


def test_the_walk_covers_the_order_admin_and_dashboard_routes(app: FastAPI) -> None:
    walked = {(method, path) for method, path, _ in operations(app)}

    assert {
        ("POST", "/orders"),
        ("GET", "/orders/{order_id}"),
        ("GET", "/admin/sagas"),
        ("POST", "/admin/sagas/{saga_id}/abort"),
        SVG_ROUTE,
    } <= walked


async def test_every_operation_that_refuses_a_wrong_token_documents_401(app: FastAPI) -> None:
    guarded = [op for op in operations(app) if await refuses_a_wrong_token(app, op[0], op[1])]

    assert {(method, path) for method, path, _ in guarded} >= {
        ("POST", "/orders"),
        ("GET", "/admin/counts"),
        SVG_ROUTE,
    }
    for method, path, operation in guarded:
        assert "401" in operation["responses"], (method, path)
        assert error_model(operation, "401") in ERROR_MODELS, (method, path)


def test_every_route_naming_a_resource_in_its_path_documents_404(app: FastAPI) -> None:
    named = [op for op in operations(app) if "{" in op[1]]

    assert named
    for method, path, operation in named:
        assert "404" in operation["responses"], (method, path)
        assert error_model(operation, "404") in ERROR_MODELS, (method, path)


def test_every_route_that_reads_the_database_documents_503_with_retry_after(
    app: FastAPI,
) -> None:
    for method, path, operation in operations(app):
        if (method, path) in NO_DATABASE:
            continue
        assert "503" in operation["responses"], (method, path)
        unavailable = operation["responses"]["503"]
        assert error_model(operation, "503") == "#/components/schemas/BusinessRefusal"
        assert "Retry-After" in unavailable["headers"], (method, path)


def test_every_route_with_a_body_documents_413_and_422(app: FastAPI) -> None:
    with_body = [op for op in operations(app) if "requestBody" in op[2]]

    assert with_body
    for method, path, operation in with_body:
        assert {"413", "422"} <= set(operation["responses"]), (method, path)
        assert error_model(operation, "422") in ERROR_MODELS, (method, path)


def test_the_timeline_picture_is_documented_as_svg(app: FastAPI) -> None:
    operation = next(op for method, path, op in operations(app) if (method, path) == SVG_ROUTE)

    assert list(operation["responses"]["200"]["content"]) == ["image/svg+xml"]
    assert error_model(operation, "404") == "#/components/schemas/Refusal"
