"""``checkout sagas``: the admin API's answers rendered, its refusals reported."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from checkout.cli import app

URL = "http://orders.test"
SAGA = {
    "id": "s-1",
    "name": "checkout",
    "version": 1,
    "status": "failed",
    "customer_id": "cust-1",
    "step": "payment",
    "attempt": 2,
    "failure": {"step": "shipping", "direction": "forward", "code": "undeliverable", "error": "no"},
    "compensation_failure": {
        "step": "payment",
        "direction": "compensate",
        "code": "failed",
        "error": "TransientError: 500",
    },
    "created_at": "2025-01-01T00:00:00Z",
    "updated_at": "2025-01-01T00:00:01Z",
}


@pytest.fixture(autouse=True)
def no_token_in_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("CHECKOUT_DATA_DIR", str(tmp_path))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["sagas", *args, "--url", URL], terminal_width=200)
    return result.exit_code, result.output


@respx.mock
def test_list_sends_the_filters_and_the_token_from_tokens_env(tmp_path: Path) -> None:
    (tmp_path / "tokens.env").write_text("SERVICE_TOKEN=s\nADMIN_TOKEN=from-file\n")
    route = respx.get(f"{URL}/admin/sagas").mock(
        return_value=httpx.Response(200, json={"items": [SAGA], "total": 1})
    )

    code, output = run("list", "--status", "failed", "--customer", "cust-1")

    assert code == 0, output
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer from-file"
    assert request.url.params["status"] == "failed"
    assert request.url.params["customer_id"] == "cust-1"
    assert "s-1" in output and "payment: failed" in output


@respx.mock
def test_a_refused_retry_exits_1_with_the_reason() -> None:
    respx.post(f"{URL}/admin/sagas/s-1/retry").mock(
        return_value=httpx.Response(
            409, json={"detail": {"code": "invalid_transition", "message": "saga s-1 is running"}}
        )
    )

    code, output = run("retry", "s-1", "--token", "t")

    assert code == 1
    assert "409: saga s-1 is running" in output


@respx.mock
def test_abort_sends_the_reason() -> None:
    route = respx.post(f"{URL}/admin/sagas/s-1/abort").mock(
        return_value=httpx.Response(200, json={**SAGA, "status": "compensating"})
    )

    code, output = run("abort", "s-1", "--reason", "customer called", "--token", "t")

    assert code == 0, output
    assert route.calls.last.request.read() == b'{"reason":"customer called"}'
    assert "compensating" in output


def test_without_any_token_it_says_where_to_put_one() -> None:
    code, output = run("show", "s-1")

    assert code == 2
    assert "ADMIN_TOKEN" in output
