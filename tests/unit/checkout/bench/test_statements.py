"""Statements per order: read from the order service's ``/metrics``, ours only."""

from __future__ import annotations

import httpx
import pytest
import respx

from checkout.bench.load import Measurement, statements_sent
from checkout.bench.results import BenchConfig, BenchResult

METRICS = """# HELP checkout_store_statements_total SQL statements sent.
# TYPE checkout_store_statements_total counter
checkout_store_statements_total 1234.0
"""


@respx.mock
async def test_the_count_is_read_from_the_order_services_metrics() -> None:
    respx.get("http://orders.test/metrics").respond(200, text=METRICS)

    async with httpx.AsyncClient() as client:
        assert await statements_sent(client, "http://orders.test") == 1234.0


@respx.mock
async def test_a_service_without_the_count_is_an_error_not_zero() -> None:
    respx.get("http://orders.test/metrics").respond(200, text="")

    async with httpx.AsyncClient() as client:
        with pytest.raises(RuntimeError, match="checkout_store_statements_total"):
            await statements_sent(client, "http://orders.test")


def _run(statements: float | None) -> Measurement:
    return Measurement(
        orders=10, concurrency=1, seconds=1.0, latencies=(0.1,), statements_per_order=statements
    )


def test_the_table_gives_the_median_per_order_for_our_configurations_only() -> None:
    result = BenchResult(BenchConfig(), environment={"cores": 2})
    result.measurements[("ours-sqlite", 1)] = [_run(20.0), _run(23.0), _run(22.0)]
    result.measurements[("raw", 1)] = [_run(None)]

    assert result.statements_markdown().splitlines()[2:] == ["| ours-sqlite | 1 | 22.0 |"]
    per_order = {r["configuration"]: r.get("statements_per_order") for r in result.table()}
    assert per_order == {"ours-sqlite": 22.0, "raw": None}
