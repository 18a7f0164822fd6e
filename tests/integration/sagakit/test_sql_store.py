"""The SQL store on the database chosen by TEST_DATABASE (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from sagakit import (
    AttemptStatus,
    Direction,
    LeaseLost,
    Saga,
    SagaEngine,
    SagaState,
    SagaStatus,
    SqlSagaStore,
    open_database,
)
from sagakit.migrate import SCRIPTS, upgrade
from sagakit.state import AttemptEnd, AttemptStart
from sagakit.store import StoreCounters
from tests.support.app_tables import app_lines, app_metadata, app_orders, order_rows
from tests.support.participants import Behaviour, FakeParticipant, saga_over

F = Direction.FORWARD


def attempt(saga_id: str, step: str = "payment", number: int = 1) -> AttemptStart:
    return AttemptStart(
        saga_id=saga_id,
        step=step,
        direction=F,
        attempt=number,
        idempotency_key=f"{saga_id}:{step}:forward",
        started_at=1.0,
    )


async def test_a_saga_round_trips_through_the_store(sql_store: SqlSagaStore):
    participant = FakeParticipant()
    saga = saga_over(participant)
    engine = SagaEngine(store=sql_store, sagas=[saga])

    new = engine.new_state(saga, input={"total": "25.00", "items": [1, 2]})
    stored = await sql_store.create(new, owner=engine.owner)
    loaded = await sql_store.load(stored.id)

    assert loaded == stored


async def test_a_saga_and_its_history_are_recorded_on_the_database(sql_store: SqlSagaStore):
    participant = FakeParticipant().on("inventory", F, Behaviour.FAIL, Behaviour.REJECT)
    saga = saga_over(participant)
    state = await SagaEngine(store=sql_store, sagas=[saga]).run(saga, input={})

    loaded = await sql_store.load(state.id)
    history = await sql_store.attempts(state.id)

    assert loaded is not None and loaded.status is SagaStatus.COMPENSATED
    assert loaded.failure is not None and loaded.failure.step == "inventory"
    assert [(a.step, a.direction.value, a.attempt, a.status) for a in history] == [
        ("payment", "forward", 1, AttemptStatus.SUCCEEDED),
        ("inventory", "forward", 1, AttemptStatus.FAILED),
        ("inventory", "forward", 2, AttemptStatus.REJECTED),
        # the failed first attempt may have acted: the refused step is undone too
        ("inventory", "compensate", 1, AttemptStatus.SUCCEEDED),
        ("payment", "compensate", 1, AttemptStatus.SUCCEEDED),
    ]
    assert all(a.finished_at is not None and a.finished_at >= a.started_at for a in history)


async def stored(store: SqlSagaStore, saga: Saga) -> SagaState:
    """A saga stored with no attempt begun yet (``SagaEngine.start`` begins the first)."""
    engine = SagaEngine(store=store, sagas=[saga])
    return await store.create(engine.new_state(saga, input={}), owner=engine.owner)


async def test_a_write_with_a_stale_fencing_token_changes_nothing(sql_store: SqlSagaStore):
    saga = saga_over(FakeParticipant())
    mine = await stored(sql_store, saga)
    theirs = await sql_store.claim(mine.id, owner="other", force=True)

    assert theirs is not None and theirs.fencing_token == mine.fencing_token + 1
    with pytest.raises(LeaseLost):
        await sql_store.begin_attempt(mine, attempt(mine.id))
    assert await sql_store.attempts(mine.id) == []


async def test_finishing_an_attempt_with_a_stale_token_records_nothing(sql_store: SqlSagaStore):
    saga = saga_over(FakeParticipant())
    mine = await stored(sql_store, saga)
    await sql_store.begin_attempt(mine, attempt(mine.id))
    await sql_store.claim(mine.id, owner="other", force=True)

    done = mine.evolve(cursor=1, results={"payment": {"ok": True}})
    with pytest.raises(LeaseLost):
        await sql_store.finish_attempt(
            mine,
            attempt(mine.id),
            AttemptEnd(status=AttemptStatus.SUCCEEDED, finished_at=2.0),
            done,
        )

    loaded = await sql_store.load(mine.id)
    assert loaded is not None and loaded.cursor == 0
    assert [a.status for a in await sql_store.attempts(mine.id)] == [AttemptStatus.STARTED]


async def test_claims_skip_sagas_whose_lease_is_live(sql_store: SqlSagaStore):
    saga = saga_over(FakeParticipant())
    await stored(sql_store, saga)

    assert await sql_store.claim_due(owner="other", limit=10) == []


async def test_claims_take_sagas_whose_lease_expired(database_url: str):
    engine = open_database(database_url)
    await upgrade(engine)
    store = SqlSagaStore(engine, lease_duration=timedelta(milliseconds=100))
    saga = saga_over(FakeParticipant())
    started = await stored(store, saga)

    await asyncio.sleep(0.15)
    claimed = await store.claim_due(owner="rescuer", limit=10)

    assert [s.id for s in claimed] == [started.id]
    assert claimed[0].fencing_token == started.fencing_token + 1
    await engine.dispose()


async def test_concurrent_claimers_never_take_the_same_saga(database_url: str):
    engine = open_database(database_url)
    await upgrade(engine)
    short_lease = SqlSagaStore(engine, lease_duration=timedelta(milliseconds=60))
    saga = saga_over(FakeParticipant(), timeout=timedelta(milliseconds=20))
    for _ in range(40):
        await stored(short_lease, saga)
    await asyncio.sleep(0.1)
    workers = SqlSagaStore(engine, lease_duration=timedelta(minutes=1))

    batches = await asyncio.gather(
        *(workers.claim_due(owner=f"worker-{i}", limit=7) for i in range(8))
    )

    claimed = [state.id for batch in batches for state in batch]
    assert len(claimed) == len(set(claimed)) == 40
    await engine.dispose()


async def test_a_retry_scheduled_later_is_not_due_yet(sql_store: SqlSagaStore):
    saga = saga_over(FakeParticipant())
    mine = await stored(sql_store, saga)
    await sql_store.begin_attempt(mine, attempt(mine.id))
    await sql_store.finish_attempt(
        mine,
        attempt(mine.id),
        AttemptEnd(status=AttemptStatus.FAILED, finished_at=2.0),
        mine.evolve(attempt=1),
        retry_after=timedelta(hours=1),
        release=True,
    )

    assert await sql_store.claim_due(owner="other", limit=10) == []


async def due_time(store: SqlSagaStore, saga_id: str) -> float:
    async with store.engine.connect() as conn:
        query = text("SELECT next_attempt_at FROM sagakit_sagas WHERE id = :id")
        return float((await conn.execute(query, {"id": saga_id})).scalar_one())


async def test_an_ordinary_step_leaves_the_due_time_and_a_retry_moves_it(
    sql_store: SqlSagaStore,
):
    """An ordinary step rewrites no index entry of the saga (its due time and status
    stay); a retry schedules it later."""
    saga = saga_over(FakeParticipant())
    mine = await stored(sql_store, saga)
    created_due = await due_time(sql_store, mine.id)
    await sql_store.begin_attempt(mine, attempt(mine.id))

    await sql_store.finish_attempt(
        mine,
        attempt(mine.id),
        AttemptEnd(status=AttemptStatus.SUCCEEDED, finished_at=2.0),
        mine.evolve(attempt=1, cursor=1, results={"payment": {"ok": True}}),
        next_start=attempt(mine.id, "inventory", 2),
    )
    assert await due_time(sql_store, mine.id) == created_due

    moved = await sql_store.load(mine.id)
    assert moved is not None and moved.cursor == 1
    await sql_store.finish_attempt(
        moved,
        attempt(mine.id, "inventory", 2),
        AttemptEnd(status=AttemptStatus.FAILED, finished_at=3.0),
        moved,
        retry_after=timedelta(hours=1),
    )
    assert await due_time(sql_store, mine.id) > created_due + 3000


async def test_migrations_apply_once_and_can_run_again(database_url: str):
    engine = open_database(database_url)
    await upgrade(engine)
    await upgrade(engine)
    async with engine.connect() as conn:
        version = (
            await conn.execute(text("SELECT version_num FROM sagakit_alembic_version"))
        ).all()
    head = ScriptDirectory(str(SCRIPTS)).get_current_head()
    assert version == [(head,)]
    await engine.dispose()


async def test_an_operator_action_is_stored_with_who_and_when(sql_store: SqlSagaStore):
    participant = FakeParticipant()
    saga = saga_over(participant)
    engine = SagaEngine(store=sql_store, sagas=[saga])
    started = await stored(sql_store, saga)

    await (await engine.abort(started.id, actor="alice", reason="customer called")).result()

    [event] = await sql_store.events(started.id)
    assert (event.kind, event.actor, event.detail) == ("abort", "alice", "customer called")
    assert event.at > 0


async def test_sagas_are_listed_newest_first_with_filters(sql_store: SqlSagaStore):
    participant = FakeParticipant().on("payment", F, Behaviour.REJECT)
    saga = saga_over(participant)
    engine = SagaEngine(store=sql_store, sagas=[saga])
    first = await engine.run(saga, input={})
    second = await stored(sql_store, saga)  # running, its first attempt not begun

    everything, total = await sql_store.list_sagas()
    compensated, count = await sql_store.list_sagas(statuses=["compensated"])

    assert [s.id for s in everything] == [second.id, first.id] and total == 2
    assert [s.id for s in compensated] == [first.id] and count == 1
    assert await sql_store.count_by_status() == {"compensated": 1, "running": 1}


async def test_an_operator_retry_numbers_its_attempts_after_the_failed_ones(
    sql_store: SqlSagaStore,
):
    participant = FakeParticipant()
    participant.on("shipping", F, Behaviour.REJECT)
    participant.on("inventory", Direction.COMPENSATE, *[Behaviour.FAIL] * 3)
    saga = saga_over(participant)
    engine = SagaEngine(store=sql_store, sagas=[saga])
    failed = await engine.run(saga, input={})
    assert failed.status is SagaStatus.FAILED

    retried = await (await engine.retry(failed.id, actor="carol")).result()

    assert retried.status is SagaStatus.COMPENSATED
    undo = [
        a.attempt
        for a in await sql_store.attempts(failed.id)
        if (a.step, a.direction) == ("inventory", Direction.COMPENSATE)
    ]
    assert undo == [1, 2, 3, 4]


async def test_writes_alongside_a_saga_are_stored_with_it_or_not_at_all(sql_store: SqlSagaStore):
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=sql_store, sagas=[saga])
    async with sql_store.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE app_records (id VARCHAR(64) PRIMARY KEY)"))

    def record(connection: Connection, *, record_id: str) -> None:
        connection.execute(text("INSERT INTO app_records (id) VALUES (:id)"), {"id": record_id})

    stored = await engine.start(
        saga, input={}, saga_id="with-record", alongside=partial(record, record_id="r1")
    )
    # The saga's id is taken: its insert fails, and the record written first goes too.
    with pytest.raises(IntegrityError):
        await engine.start(
            saga, input={}, saga_id="with-record", alongside=partial(record, record_id="r2")
        )

    def refuse(_connection: Connection) -> None:
        raise RuntimeError("the application changed its mind")

    with pytest.raises(RuntimeError):
        await engine.start(saga, input={}, saga_id="refused", alongside=refuse)

    async with sql_store.engine.connect() as connection:
        records = (await connection.execute(text("SELECT id FROM app_records"))).scalars().all()
    assert records == ["r1"]
    assert (await stored.result()).status is SagaStatus.COMPLETED
    assert await sql_store.load("refused") is None


async def test_rows_alongside_a_saga_are_stored_with_it_or_not_at_all(sql_store: SqlSagaStore):
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=sql_store, sagas=[saga])
    async with sql_store.engine.begin() as connection:
        await connection.run_sync(app_metadata.create_all)

    stored = await engine.start(
        saga, input={}, saga_id="o-1", alongside=order_rows("o-1", key="k1", prices=["9.90"])
    )
    three_lines = order_rows("o-2", key="k2", prices=["1.10", "2.20", "3.30"])
    await engine.start(saga, input={}, saga_id="o-2", alongside=three_lines)
    # The application's unique key refuses the order: the saga is not stored either.
    with pytest.raises(IntegrityError):
        await engine.start(
            saga, input={}, saga_id="o-3", alongside=order_rows("o-3", key="k1", prices=["5"])
        )
    # The saga's id is taken: the order's rows go too.
    with pytest.raises(IntegrityError):
        await engine.start(
            saga, input={}, saga_id="o-1", alongside=order_rows("o-4", key="k4", prices=["5"])
        )

    async with sql_store.engine.connect() as connection:
        found = (await connection.execute(select(app_orders).order_by("id"))).all()
        lines = (await connection.execute(select(app_lines).order_by("order_id", "line"))).all()
    assert [(o.id, o.total, o.address["city"], o.placed_at.day) for o in found] == [
        ("o-1", Decimal("9.90"), "Zürich", 27),
        ("o-2", Decimal("6.60"), "Zürich", 27),
    ]
    assert [(line.order_id, line.line, line.price) for line in lines] == [
        ("o-1", 1, Decimal("9.90")),
        ("o-2", 1, Decimal("1.10")),
        ("o-2", 2, Decimal("2.20")),
        ("o-2", 3, Decimal("3.30")),
    ]
    assert (await stored.result()).status is SagaStatus.COMPLETED
    assert (await engine.handle("o-2").result()).status is SagaStatus.COMPLETED
    assert await sql_store.load("o-3") is None


async def test_rows_alongside_go_in_the_sagas_statement_on_postgresql(
    sql_store: SqlSagaStore, store_counters: StoreCounters
):
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=sql_store, sagas=[saga])
    async with sql_store.engine.begin() as connection:
        await connection.run_sync(app_metadata.create_all)
    await engine.recover()  # the engine reads the store's clock first (once a minute)
    before = store_counters.statements

    started = await engine.start(
        saga, input={}, alongside=order_rows("o-1", key="k", prices=["1", "2"])
    )

    # SQLite counts BEGIN, the order, each line, the saga, its first attempt and COMMIT.
    backend = sql_store.engine.dialect.name
    assert store_counters.statements - before == {"sqlite": 7, "postgresql": 1}[backend]
    await started.result()


async def test_the_store_reports_every_statement_it_sends(
    sql_store: SqlSagaStore, store_counters: StoreCounters
):
    saga = saga_over(FakeParticipant())
    engine = SagaEngine(store=sql_store, sagas=[saga])
    await engine.recover()  # the engine reads the store's clock first (once a minute)
    before = store_counters.statements

    state = await engine.run(saga, input={})
    written = store_counters.statements - before
    await sql_store.load(state.id)

    # Four writes: the create (with the first attempt) and one per step. On SQLite the
    # driver's count has each write's BEGIN and COMMIT; on PostgreSQL each is one statement.
    backend = sql_store.engine.dialect.name
    assert written == {"sqlite": 18, "postgresql": 4}[backend]
    read = {"sqlite": 2, "postgresql": 1}[backend]  # the load's SELECT (SQLite: and BEGIN)
    assert store_counters.statements == before + written + read


async def test_a_closed_store_reports_no_more_statements(database_url: str):
    engine = open_database(database_url)
    await upgrade(engine)
    counters = StoreCounters()
    store = SqlSagaStore(engine, instrumentation=counters)
    saga = saga_over(FakeParticipant())
    await SagaEngine(store=store, sagas=[saga]).run(saga, input={})
    counted = counters.statements

    store.close()
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await engine.dispose()

    assert counted > 0
    assert counters.statements == counted
