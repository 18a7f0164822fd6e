"""Fault injection for the participants, so chaos tests can exercise every failure mode.

Enabled only when ``FAULTS_ENABLED=1``; otherwise the admin routes do not exist and no
request is touched. Faults apply to the POSTs the orchestrator calls, checked in this
order on every such request:

* ``latency_ms``: sleep that long first (every request).
* ``error_rate``: answer 500 without acting.
* ``timeout_rate``: sleep ``hang_seconds`` (past the caller's timeout), *then* act, so
  the effect lands after the caller gave up: the case idempotency keys exist for.
* ``fail_after_commit_rate``: act and commit, then replace the answer with a 500, so
  the caller retries something that already happened.

The random source and the sleep are injected, so tests are deterministic and never wait.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

FAULT_KINDS = ("latency", "error", "timeout", "fail_after_commit")


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    fail_after_commit_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    hang_seconds: float = Field(default=30.0, ge=0.0, le=3_600.0)


class FaultInjector:
    """Decides, request by request, which fault to inject, and counts what it injected."""

    def __init__(
        self,
        *,
        random_source: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = FaultSettings()
        self.injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self._random = random_source
        self._sleep = sleep

    def configure(self, settings: FaultSettings) -> None:
        self.settings = settings

    async def before_action(self) -> bool:
        """Delay as configured; True when the request must fail without acting."""
        if self.settings.latency_ms > 0:
            self.injected["latency"] += 1
            await self._sleep(self.settings.latency_ms / 1000)
        if self._draw(self.settings.error_rate):
            self.injected["error"] += 1
            return True
        if self._draw(self.settings.timeout_rate):
            self.injected["timeout"] += 1
            await self._sleep(self.settings.hang_seconds)
        return False

    def after_action(self) -> bool:
        """True when the (committed) answer must be replaced by a 500."""
        if self._draw(self.settings.fail_after_commit_rate):
            self.injected["fail_after_commit"] += 1
            return True
        return False

    def report(self) -> dict[str, Any]:
        return {**self.settings.model_dump(), "injected": dict(self.injected)}

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._random() < rate


def injected_failure(kind: str) -> JSONResponse:
    return JSONResponse({"detail": f"Injected fault: {kind}."}, status_code=500)


def faults_router(route_class: type[Any]) -> APIRouter:
    """``GET``/``PUT /admin/faults``; the caller passes the admin-token route class."""
    router = APIRouter(prefix="/admin/faults", tags=["admin"], route_class=route_class)

    def injector(request: Request) -> FaultInjector:
        faults: FaultInjector = request.app.state.faults
        return faults

    @router.get("")
    async def read_faults(request: Request) -> dict[str, Any]:
        return injector(request).report()

    @router.put("")
    async def configure_faults(request: Request, settings: FaultSettings) -> dict[str, Any]:
        faults = injector(request)
        faults.configure(settings)
        return faults.report()

    return router
