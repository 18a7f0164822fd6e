"""Fixtures shared by every suite.

One environment variable picks the database every store and service test runs on:
``TEST_DATABASE=sqlite`` (the default, a file per test) or ``TEST_DATABASE=postgresql``
(a fresh database per test on ``TEST_POSTGRES_URL``). When PostgreSQL is asked for and
cannot be reached, the tests fail: a suite that silently skips its PostgreSQL half
would report a success it never earned.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from sagakit.database import open_database

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def pytest_configure(config: pytest.Config) -> None:
    """Forget any customer identity the shell exports (the README has developers export
    ``CUSTOMER_JWT_*`` to try it): each suite, and each service it starts, chooses its own."""
    for name in [name for name in os.environ if name.upper().startswith("CUSTOMER_JWT_")]:
        del os.environ[name]


def test_database_backend() -> str:
    backend = os.environ.get("TEST_DATABASE", "sqlite")
    if backend not in {"sqlite", "postgresql"}:
        raise pytest.UsageError(f"TEST_DATABASE must be sqlite or postgresql, not {backend!r}")
    return backend


test_database_backend.__test__ = False  # type: ignore[attr-defined]


async def _create_postgres_database(name: str) -> str:
    admin = open_database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop_postgres_database(name: str) -> None:
    admin = open_database(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


DatabaseFactory = Callable[[str], Awaitable[str]]


@pytest.fixture
async def make_database_url(tmp_path: Path) -> AsyncIterator[DatabaseFactory]:
    """A factory of empty databases: ``url = await make_database_url("orders")``."""
    created: list[str] = []

    async def make(label: str) -> str:
        if test_database_backend() == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / label}.db"
        name = f"t_{label}_{uuid.uuid4().hex[:12]}"
        created.append(name)
        return await _create_postgres_database(name)

    yield make
    for name in created:
        await _drop_postgres_database(name)


@pytest.fixture
async def database_url(make_database_url: DatabaseFactory) -> str:
    """One empty database on the backend chosen by ``TEST_DATABASE``."""
    return await make_database_url("db")
