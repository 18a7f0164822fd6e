"""The four services as real uvicorn processes on free ports, once per session.

Each session gets four empty databases on the backend ``TEST_DATABASE`` picks (SQLite
files in a temporary directory, or fresh PostgreSQL databases that are dropped at the
end), migrated with :func:`checkout.migrations.upgrade_all` exactly as a deployment
would be. PostgreSQL that cannot be reached fails the session: it is never skipped.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from checkout.migrations import DATABASES, upgrade_all
from checkout.processes import SERVICES, System, free_port
from tests.conftest import (
    _create_postgres_database,
    _drop_postgres_database,
    test_database_backend,
)
from tests.e2e.api import CheckoutApi, Running

LOG_DIRS = pytest.StashKey[list[Path]]()
"""The log folders of the systems started so far; a failed test shows their tails."""
LOG_TAIL_BYTES = 4_000


@contextmanager
def fresh_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Four empty databases, one per service, on the chosen backend; dropped after."""
    if test_database_backend() == "sqlite":
        directory = tmp_path_factory.mktemp("databases")
        yield {name: f"sqlite+aiosqlite:///{directory / name}.db" for name in DATABASES}
        return
    names = {name: f"e2e_{name}_{uuid.uuid4().hex[:12]}" for name in DATABASES}

    async def create() -> dict[str, str]:
        return {db: await _create_postgres_database(name) for db, name in names.items()}

    async def drop() -> None:
        for name in names.values():
            await _drop_postgres_database(name)

    try:
        yield asyncio.run(create())
    finally:
        asyncio.run(drop())


@contextmanager
def running_system(
    urls: dict[str, str], data_dir: Path, **settings: str
) -> Iterator[tuple[Running, System]]:
    """The system migrated onto ``urls``, started on free ports and healthy; stopped
    after. ``settings`` are extra environment variables for every service."""
    upgrade_all(urls)
    tokens = {"SERVICE_TOKEN": secrets.token_urlsafe(24), "ADMIN_TOKEN": secrets.token_urlsafe(24)}
    env = {
        **tokens,
        **{f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
        "CHECKOUT_DATA_DIR": str(data_dir),
        **settings,
    }
    system = System(
        env=env,
        ports={service.name: free_port() for service in SERVICES},
        log_dir=data_dir / "logs",
    )
    system.check_ports()
    system.start()
    try:
        system.wait_healthy(timeout=30)
        running = Running(
            urls={service.name: system.url(service.name) for service in SERVICES},
            service_token=tokens["SERVICE_TOKEN"],
            admin_token=tokens["ADMIN_TOKEN"],
            exited=system.exited,
        )
        yield running, system
    finally:
        system.stop()


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with fresh_databases(tmp_path_factory) as urls:
        yield urls


@pytest.fixture(scope="session")
def running(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    database_urls: dict[str, str],
) -> Iterator[Running]:
    """The migrated system, started on free ports and healthy; stopped at the end."""
    data_dir = tmp_path_factory.mktemp("checkout")
    remember_logs(request, data_dir / "logs")
    with running_system(database_urls, data_dir) as (system, _):
        yield system


def remember_logs(request: pytest.FixtureRequest, log_dir: Path) -> None:
    request.config.stash.setdefault(LOG_DIRS, []).append(log_dir)


@pytest.fixture
async def api(running: Running) -> AsyncIterator[CheckoutApi]:
    """A client of the running system; checks afterwards that no service died."""
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        yield CheckoutApi(client=client, running=running)
    assert running.exited() == {}, f"a service exited during the test: {running.exited()}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the tail of every service's log to a failed e2e test's report."""
    report = yield
    if report.failed:
        for log_dir in item.config.stash.get(LOG_DIRS, []):
            for log in sorted(log_dir.glob("*.log")):
                tail = log.read_bytes()[-LOG_TAIL_BYTES:].decode(errors="replace")
                if tail.strip():
                    report.sections.append((f"service log {log_dir.parent.name}/{log.name}", tail))
    return report
