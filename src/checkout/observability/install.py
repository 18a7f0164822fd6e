"""One call per app factory: logs configured, request middleware, and ``/metrics``.

``/metrics`` is public: it holds counts and timings only, never ids, tokens or
customer data. Keep it off the public internet all the same (bind it behind the
load balancer, or let Prometheus scrape on the private network).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.responses import Response

from checkout.observability.http import HttpMetrics, ObservabilityMiddleware
from checkout.observability.logs import LoggingSettings, configure_logging

BeforeScrape = Callable[[], Awaitable[None]]


def install_observability(
    app: FastAPI,
    *,
    service: str,
    registry: CollectorRegistry | None = None,
    before_scrape: BeforeScrape | None = None,
) -> CollectorRegistry:
    """Instrument ``app``; returns its registry (for the order service's saga metrics).

    ``before_scrape`` runs on each ``GET /metrics`` before the text is written: the
    order service refreshes its counts by status there.
    """
    configure_logging(LoggingSettings())
    registry = registry if registry is not None else CollectorRegistry()
    app.add_middleware(ObservabilityMiddleware, metrics=HttpMetrics(registry), service=service)

    @app.get("/metrics", tags=["observability"], include_in_schema=False)
    async def metrics() -> Response:
        if before_scrape is not None:
            await before_scrape()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics_registry = registry
    return registry
