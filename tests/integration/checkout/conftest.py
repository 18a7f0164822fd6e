"""Participant apps on a migrated real database, reached through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest
from fastapi import FastAPI

from checkout.common.database import Database
from checkout.common.faults import FaultInjector
from checkout.migrations import upgrade_all
from tests.conftest import DatabaseFactory

SERVICE_TOKEN = "service-token-for-tests"
ADMIN_TOKEN = "admin-token-for-tests"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass(frozen=True)
class Service:
    client: httpx.AsyncClient
    database: Database
    app: FastAPI


class Serve(Protocol):
    async def __call__(
        self,
        name: str,
        create_app: Callable[..., FastAPI],
        settings_class: Callable[..., Any],
        *,
        faults: FaultInjector | None = None,
        clock: Callable[[], float] | None = None,
        **settings: Any,
    ) -> Service: ...


@pytest.fixture
async def serve(make_database_url: DatabaseFactory) -> AsyncIterator[Serve]:
    """Start a participant app on a freshly migrated database of its own (on ``clock``
    when given: Unix seconds, as the participant reads them)."""
    stack = AsyncExitStack()

    async def start(
        name: str,
        create_app: Callable[..., FastAPI],
        settings_class: Callable[..., Any],
        *,
        faults: FaultInjector | None = None,
        clock: Callable[[], float] | None = None,
        **settings: Any,
    ) -> Service:
        url = await make_database_url(name)
        await asyncio.to_thread(upgrade_all, {name: url})
        database = Database(url)
        stack.push_async_callback(database.dispose)
        app = create_app(
            settings_class(
                service_token=SERVICE_TOKEN, admin_token=ADMIN_TOKEN, database_url=url, **settings
            ),
            database=database,
            faults=faults,
            **({} if clock is None else {"clock": clock}),
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{name}"
        )
        return Service(await stack.enter_async_context(client), database, app)

    yield start
    await stack.aclose()
