from __future__ import annotations

from sqlalchemy.pool import QueuePool

from sagakit import open_database


def _pool(url: str, **options: int) -> QueuePool:
    pool = open_database(url, **options).pool
    assert isinstance(pool, QueuePool)
    return pool


def test_on_postgresql_the_pool_is_fixed_five_connections_kept_and_none_added() -> None:
    pool = _pool("postgresql+asyncpg://db/sagas")

    assert pool.size() == 5
    assert pool._max_overflow == 0


def test_the_caller_sizes_the_pool_and_may_allow_overflow() -> None:
    assert _pool("postgresql+asyncpg://db/sagas", pool_size=12).size() == 12
    assert _pool("postgresql+asyncpg://db/sagas", max_overflow=3)._max_overflow == 3
