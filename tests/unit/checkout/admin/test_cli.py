"""``checkout sagas``: the admin API's answers rendered, its refusals reported."""

from __future__ import annotations

import json
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
    "subject": "cust-1",
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
DETAIL: dict[str, object] = {
    "steps": [],
    "input": {},
    "results": {},
    "deadline_at": None,
    "attempts": [],
    "events": [],
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
    assert request.url.params["subject"] == "cust-1"
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


def test_without_any_token_it_says_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    code, output = run("show", "s-1")

    assert code == 2
    assert f"{(tmp_path / 'tokens.env').resolve()} (no such file)" in output
    assert "ADMIN_TOKEN" in output and "python run_services.py" in output


@respx.mock
def test_a_refused_token_from_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "tokens.env").write_text("ADMIN_TOKEN=stale\n")
    respx.get(f"{URL}/admin/sagas/s-1").mock(
        return_value=httpx.Response(401, json={"detail": "Missing or invalid bearer token."})
    )

    code, output = run("show", "s-1")

    assert code == 1
    assert f"read from {(tmp_path / 'tokens.env').resolve()}" in output


@respx.mock
def test_show_finds_the_one_saga_a_prefix_names() -> None:
    whole = "3f2a9c1e-0000-4000-8000-000000000001"
    lookup = respx.get(f"{URL}/admin/sagas", params={"id_prefix": "3f2a"}).mock(
        return_value=httpx.Response(200, json={"items": [{**SAGA, "id": whole}], "total": 1})
    )
    detail = respx.get(f"{URL}/admin/sagas/{whole}").mock(
        return_value=httpx.Response(200, json={**SAGA, **DETAIL, "id": whole})
    )

    code, output = run("show", "3f2a", "--token", "t")

    assert code == 0, output
    assert lookup.called and detail.called
    assert whole in output


@respx.mock
def test_show_lists_the_sagas_a_shared_prefix_names() -> None:
    ids = ["3f2a9c1e-0000-4000-8000-000000000001", "3f2a0b7d-0000-4000-8000-000000000002"]
    respx.get(f"{URL}/admin/sagas").mock(
        return_value=httpx.Response(
            200, json={"items": [{**SAGA, "id": saga_id} for saga_id in ids], "total": 2}
        )
    )

    code, output = run("show", "3f2a", "--token", "t")

    assert code == 1
    assert "3f2a starts 2 sagas' ids" in output
    assert all(saga_id in output for saga_id in ids)


@respx.mock
def test_show_says_when_no_saga_id_starts_with_the_prefix() -> None:
    respx.get(f"{URL}/admin/sagas").mock(
        return_value=httpx.Response(200, json={"items": [], "total": 0})
    )

    code, output = run("show", "3f2a", "--token", "t")

    assert code == 1
    assert "No saga's id starts with 3f2a." in output


@respx.mock
def test_a_refused_prefix_names_the_field() -> None:
    respx.get(f"{URL}/admin/sagas").mock(
        return_value=httpx.Response(
            422,
            json={
                "detail": [
                    {
                        "type": "string_too_short",
                        "loc": ["query", "id_prefix"],
                        "msg": "String should have at least 4 characters",
                    }
                ]
            },
        )
    )

    code, output = run("show", "3f", "--token", "t")

    assert code == 1
    assert "422: id_prefix: String should have at least 4 characters" in output


@respx.mock
def test_the_list_shows_every_id_whole_in_a_narrow_terminal() -> None:
    whole = "3f2a9c1e-7b4d-4e2a-9c1e-7b4d4e2a9c1e"
    respx.get(f"{URL}/admin/sagas").mock(
        return_value=httpx.Response(200, json={"items": [{**SAGA, "id": whole}], "total": 1})
    )

    result = CliRunner().invoke(
        app, ["sagas", "list", "--url", URL, "--token", "t"], terminal_width=80
    )

    assert result.exit_code == 0, result.output
    assert whole in result.output


@respx.mock
def test_prune_sends_the_duration_in_seconds_and_prunes_batch_after_batch() -> None:
    route = respx.post(f"{URL}/admin/sagas/prune").mock(
        side_effect=[
            httpx.Response(200, json={"dry_run": False, "sagas": 3, "rows": 12, "more": True}),
            httpx.Response(200, json={"dry_run": False, "sagas": 1, "rows": 4, "more": False}),
        ]
    )

    code, output = run("prune", "--older-than", "30d", "--token", "t")

    assert code == 0, output
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"older_than_seconds": 30 * 86_400.0, "keep_last": None, "dry_run": False}
    assert route.call_count == 2
    assert "Pruned 4 finished sagas (16 rows)" in output


@respx.mock
def test_a_dry_run_prune_says_how_many_would_go() -> None:
    route = respx.post(f"{URL}/admin/sagas/prune").mock(
        return_value=httpx.Response(
            200, json={"dry_run": True, "sagas": 7, "rows": 0, "more": False}
        )
    )

    code, output = run("prune", "--keep-last", "100", "--dry-run", "--token", "t")

    assert code == 0, output
    assert json.loads(route.calls.last.request.content)["dry_run"] is True
    assert "7 finished sagas would be pruned (dry run)" in output


def test_prune_refuses_a_duration_it_cannot_read_and_a_call_without_bounds() -> None:
    code, output = run("prune", "--older-than", "a month", "--token", "t")
    assert code == 2 and "--older-than" in output and "30d" in output

    code, output = run("prune", "--token", "t")
    assert code == 2 and "--older-than 30d" in output
